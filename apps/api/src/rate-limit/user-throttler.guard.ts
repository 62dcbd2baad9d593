import { Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { AuthenticatedRequest } from '../auth/auth.decorators.js';

/** Counts per user key once the auth guard has identified the caller; per IP before that. */
@Injectable()
export class UserThrottlerGuard extends ThrottlerGuard {
  protected override getTracker(req: Record<string, unknown>): Promise<string> {
    const principal = (req as unknown as AuthenticatedRequest).principal;
    if (principal?.kind === 'user') return Promise.resolve(`user:${principal.user.id}`);
    if (principal?.kind === 'admin') return Promise.resolve('admin');
    return Promise.resolve(`ip:${String(req['ip'])}`);
  }
}
