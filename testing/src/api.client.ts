import { randomBytes } from 'node:crypto';
import type { StartedApi } from './api.launcher.js';

export interface CreatedUser {
  id: string;
  name: string;
  apiKey: string;
}

/** Creates a user through POST /v1/admin/users (the only way to get an API key). */
export async function createUser(api: StartedApi, name = `user-${randomBytes(4).toString('hex')}`): Promise<CreatedUser> {
  const res = await fetch(`${api.url}/v1/admin/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${api.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`createUser: POST /v1/admin/users answered ${res.status}: ${text}`);
  const body = JSON.parse(text) as CreatedUser;
  return { id: body.id, name: body.name, apiKey: body.apiKey };
}
