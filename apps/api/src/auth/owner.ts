/**
 * The id of the authenticated user, as a distinct type. Every query for a user's data takes an
 * `OwnerId`, and the only way to get one is from the auth guard, so a query that forgets the
 * owner's scope does not compile.
 */
export type OwnerId = string & { readonly __brand: 'OwnerId' };

export interface AuthenticatedUser {
  id: OwnerId;
  name: string;
}

export type Principal = { kind: 'user'; user: AuthenticatedUser } | { kind: 'admin' };

/** Only for the auth guard and test factories. */
export function ownerIdOf(userId: string): OwnerId {
  return userId as OwnerId;
}
