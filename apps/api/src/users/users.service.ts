import type { CacheNamespace } from '@chat/cache';
import { PerformanceIntegrationService } from '@chat/integration';
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
  /** Key hash → user: authentication runs on every request and must not cost a query each time. */
  private readonly byKeyHash: CacheNamespace;

  constructor(
    @InjectRepository(UserEntity) private readonly users: Repository<UserEntity>,
    performance: PerformanceIntegrationService,
  ) {
    this.byKeyHash = performance.cacheNamespace('api-key', { ttlMs: 60_000 });
  }

  async create(name: string): Promise<CreatedUser> {
    const apiKey = generateApiKey();
    const user = this.users.create({ id: randomUUID(), name, apiKeyHash: hashApiKey(apiKey), createdAt: new Date() });
    await this.users.insert(user);
    return { id: user.id, name: user.name, apiKey, createdAt: user.createdAt };
  }

  /** By the SHA-256 (hex) of the key, which is all the database knows of it. */
  async findByKeyHash(hash: string): Promise<AuthenticatedUser | null> {
    const { value } = await this.byKeyHash.getOrLoad(
      hash,
      async () => {
        const user = await this.users.findOne({ where: { apiKeyHash: hash }, select: { id: true, name: true } });
        return user === null ? null : { id: user.id, name: user.name };
      },
      // Unknown keys are not remembered: guessing must not fill the cache.
      { shouldCache: (user) => user !== null },
    );
    return value === null ? null : { id: ownerIdOf(value.id), name: value.name };
  }
}
