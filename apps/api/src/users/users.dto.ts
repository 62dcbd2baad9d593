import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';

export class CreateUserDto {
  @ApiProperty({ minLength: 1, maxLength: 100, example: 'alice' })
  @IsString()
  @Length(1, 100)
  name!: string;
}

export class CreatedUserView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'Shown once; only a hash is stored.' }) apiKey!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}
