import { readFileSync } from 'node:fs';

/** The API's version, from apps/api/package.json (two levels up from both src/config and dist/config). */
export const APP_VERSION: string = (() => {
  try {
    const raw = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    const version = (JSON.parse(raw) as { version?: unknown }).version;
    return typeof version === 'string' ? version : '0.0.0';
  } catch {
    return '0.0.0';
  }
})();
