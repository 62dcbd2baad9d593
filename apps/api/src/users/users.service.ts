import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type { Repository } from 'typeorm';
import { generateApiKey, hashApiKey } from '../auth/api-key.js';
import { ownerIdOf, type AuthenticatedUser } from '../auth/owner.js';
import { UserEntity } from '../database/entities/user.entity.js';

export interface CreatedUser {
  id: string;
  name: string;
  /** Shown once: only its hash is stored. */
  apiKey: string;
  createdAt: Date;
}

@Injectable()
export class UsersService {
  constructor(@InjectRepository(UserEntity) private readonly users: Repository<UserEntity>) {}

  async create(name: string): Promise<CreatedUser> {
    const apiKey = generateApiKey();
    const user = this.users.create({ id: randomUUID(), name, apiKeyHash: hashApiKey(apiKey), createdAt: new Date() });
    await this.users.insert(user);
    return { id: user.id, name: user.name, apiKey, createdAt: user.createdAt };
  }

  async findByApiKey(apiKey: string): Promise<AuthenticatedUser | null> {
    const user = await this.users.findOne({ where: { apiKeyHash: hashApiKey(apiKey) }, select: { id: true, name: true } });
    return user === null ? null : { id: ownerIdOf(user.id), name: user.name };
  }
}
