import { Injectable, type ExecutionContext } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { AuthenticatedRequest } from '../auth/auth.decorators.js';

/** Counts per user key once the auth guard has identified the caller; per IP before that. */
@Injectable()
export class UserThrottlerGuard extends ThrottlerGuard {
  /** One budget per caller across all routes (the throttler's default is one per route). */
  protected override generateKey(_context: ExecutionContext, tracker: string, throttlerName: string): string {
    return `${throttlerName}:${tracker}`;
  }

  /** The operator holding the admin token is not rate limited. */
  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
    return principal?.kind === 'admin' || (await super.shouldSkip(context));
  }

  protected override getTracker(req: Record<string, unknown>): Promise<string> {
    const principal = (req as unknown as AuthenticatedRequest).principal;
    if (principal?.kind === 'user') return Promise.resolve(`user:${principal.user.id}`);
    if (principal?.kind === 'admin') return Promise.resolve('admin');
    return Promise.resolve(`ip:${String(req['ip'])}`);
  }
}
