import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AppError } from '../common/app-error.js';
import { UsersService } from '../users/users.service.js';
import { bearerToken, digestsEqual, tokenDigest } from './api-key.js';
import { ACCESS_KEY, type Access, type AuthenticatedRequest } from './auth.decorators.js';
import { RUNTIME_SECRETS, type RuntimeSecrets } from './runtime-secrets.js';

/** `?token=` of an `@AdminPage()` route: one non-empty value, else none (a repeated parameter is refused). */
function queryToken(query: unknown): string | null {
  const value = (query as Record<string, unknown> | null | undefined)?.['token'];
  return typeof value === 'string' && value.length > 0 ? value : null;
}

/** Global guard: every route needs a user key unless marked `@Public()`, `@AdminOnly()` or `@AdminPage()`. */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly adminDigest: Buffer;

  constructor(
    private readonly reflector: Reflector,
    private readonly users: UsersService,
    @Inject(RUNTIME_SECRETS) secrets: RuntimeSecrets,
  ) {
    this.adminDigest = tokenDigest(secrets.adminToken);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const access =
      this.reflector.getAllAndOverride<Access | undefined>(ACCESS_KEY, [context.getHandler(), context.getClass()]) ??
      'user';
    if (access === 'public') return true;

    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const token = bearerToken(request.headers.authorization) ?? (access === 'admin-page' ? queryToken(request.query) : null);
    if (token === null) {
      throw new AppError(
        'unauthenticated',
        access === 'admin-page' ? 'Missing admin token ("Authorization: Bearer <token>" header or ?token=)' : 'Missing "Authorization: Bearer <key>" header',
      );
    }

    // One hash per request: compared (in constant time) with the admin token's, and used as the key's lookup hash.
    const digest = tokenDigest(token);
    const isAdmin = digestsEqual(digest, this.adminDigest);
    if (access === 'admin' || access === 'admin-page') {
      if (isAdmin) {
        request.principal = { kind: 'admin' };
        return true;
      }
      const user = await this.users.findByKeyHash(digest.toString('hex'));
      if (user !== null) throw new AppError('forbidden', 'This route needs the admin token');
      throw new AppError('unauthenticated', 'Invalid admin token');
    }

    const user = isAdmin ? null : await this.users.findByKeyHash(digest.toString('hex'));
    if (user === null) throw new AppError('unauthenticated', 'Invalid API key');
    request.principal = { kind: 'user', user };
    return true;
  }
}
