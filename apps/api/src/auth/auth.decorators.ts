import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { AuthenticatedUser } from './owner.js';

export type Access = 'public' | 'admin' | 'admin-page' | 'user';
export const ACCESS_KEY = 'chat:access';

/** No credentials needed (health, docs). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(ACCESS_KEY, 'public' satisfies Access);
/** Needs `Authorization: Bearer <ADMIN_TOKEN>`; a user key gets 403. */
export const AdminOnly = (): MethodDecorator & ClassDecorator => SetMetadata(ACCESS_KEY, 'admin' satisfies Access);
/**
 * A page an operator opens in a browser (the dashboard): the admin token as `Authorization: Bearer`
 * or, since a browser cannot add a header to a typed-in address, as `?token=`. The header wins when
 * both are sent. Only for responses that carry no data themselves: the token in a URL can end up in
 * browser history, so the page drops it from the address bar and fetches its data with the header.
 */
export const AdminPage = (): MethodDecorator & ClassDecorator => SetMetadata(ACCESS_KEY, 'admin-page' satisfies Access);

export interface AuthenticatedRequest extends FastifyRequest {
  principal?: import('./owner.js').Principal;
}

/** The user the request is authenticated as (routes without `@Public`/`@AdminOnly` always have one). */
export const CurrentUser = createParamDecorator((_data: unknown, ctx: ExecutionContext): AuthenticatedUser => {
  const principal = ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (principal?.kind !== 'user') throw new Error('CurrentUser used on a route that is not user-authenticated');
  return principal.user;
});
