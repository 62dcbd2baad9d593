/** Secrets settled at start: the admin token is either configured or generated once and printed. */
export interface RuntimeSecrets {
  adminToken: string;
}

export const RUNTIME_SECRETS = Symbol('RUNTIME_SECRETS');
