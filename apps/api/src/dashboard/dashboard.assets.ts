import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One file the dashboard serves, read once at start. */
export interface DashboardFile {
  body: Buffer;
  contentType: string;
  /** Strong validator of `body` (a quoted SHA-256 prefix). */
  etag: string;
}

/** What a controller sends: status, headers and body. */
export interface DashboardResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer | null;
}

/**
 * The page's own policy: scripts and styles from this origin only (no inline script or style, no
 * eval), data fetched from this origin only, no frames, no plugins, forms post back here only.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers of both HTML pages (the dashboard and its 401 page). */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': DASHBOARD_CSP,
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

/** Where the page's files are: copied beside this module by the build (see apps/api/project.json). */
const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));

function uplotDist(): string {
  return join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
}

function load(path: string, contentType: string): DashboardFile {
  if (!existsSync(path)) {
    throw new Error(`Admin dashboard: ${path} is missing (build the API with "nx run api:build", which copies the page's files into dist)`);
  }
  const body = readFileSync(path);
  return { body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

/**
 * The dashboard's files, read into memory at start (a missing file stops the start with its path),
 * and how each one is answered. The page is static: the data comes from `GET /v1/admin/health`.
 */
@Injectable()
export class DashboardAssets {
  private readonly page: DashboardFile;
  private readonly unauthorized: DashboardFile;
  /** Public files under /admin/assets/, by name: code and styles, no data. */
  private readonly assets: ReadonlyMap<string, DashboardFile>;

  constructor() {
    const js = 'text/javascript; charset=utf-8';
    const css = 'text/css; charset=utf-8';
    const html = 'text/html; charset=utf-8';
    this.page = load(join(PUBLIC_DIR, 'index.html'), html);
    this.unauthorized = load(join(PUBLIC_DIR, 'unauthorized.html'), html);
    const uplot = uplotDist();
    this.assets = new Map([
      ['dashboard.js', load(join(PUBLIC_DIR, 'dashboard.js'), js)],
      ['dashboard.css', load(join(PUBLIC_DIR, 'dashboard.css'), css)],
      ['uplot.js', load(join(uplot, 'uPlot.iife.min.js'), js)],
      ['uplot.css', load(join(uplot, 'uPlot.min.css'), css)],
    ]);
  }

  /** The dashboard page (the caller has checked the admin token). */
  pageResponse(): DashboardResponse {
    return { status: 200, headers: { ...PAGE_HEADERS }, body: this.page.body };
  }

  /** The page a browser gets instead of a 401/403 JSON body: a form asking for the token. */
  unauthorizedResponse(status: 401 | 403): DashboardResponse {
    return { status, headers: { ...PAGE_HEADERS }, body: this.unauthorized.body };
  }

  /**
   * A file under /admin/assets/, revalidated on every use (`no-cache` + ETag: a 304 costs one round
   * trip, and a new build is picked up at once); null for a name that is not one of them.
   */
  assetResponse(name: string, ifNoneMatch: string | undefined): DashboardResponse | null {
    const file = this.assets.get(name);
    if (file === undefined) return null;
    const headers = {
      'content-type': file.contentType,
      etag: file.etag,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      'cross-origin-resource-policy': 'same-origin',
    };
    const matches = ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => tag.trim() === file.etag);
    return matches ? { status: 304, headers, body: null } : { status: 200, headers, body: file.body };
  }
}
