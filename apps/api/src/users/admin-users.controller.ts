import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../auth/auth.decorators.js';
import { CreatedUserView, CreateUserDto } from './users.dto.js';
import { UsersService, type CreatedUser } from './users.service.js';

@ApiTags('admin')
@ApiBearerAuth()
@AdminOnly()
@Controller('v1/admin/users')
export class AdminUsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @HttpCode(201)
  @ApiCreatedResponse({ type: CreatedUserView })
  create(@Body() body: CreateUserDto): Promise<CreatedUser> {
    return this.users.create(body.name);
  }
}
