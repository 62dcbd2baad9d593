import { describe, expect, it } from 'vitest';
import { DASHBOARD_CSP, DashboardAssets } from './dashboard.assets.js';
import { prefersHtml } from './dashboard-page.filter.js';

describe('DashboardAssets', () => {
  const assets = new DashboardAssets();

  it('serves the page with a strict policy: scripts and styles from this origin only, nothing inline, not stored', () => {
    const page = assets.pageResponse();
    expect(page.status).toBe(200);
    expect(page.body?.toString('utf8')).toContain('<script type="module" src="admin/assets/dashboard.js"></script>');
    expect(page.body?.toString('utf8')).not.toMatch(/<script>|<style|style="| on[a-z]+="/);
    expect(page.headers).toMatchObject({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    expect(DASHBOARD_CSP).toContain("script-src 'self'");
    expect(DASHBOARD_CSP).toContain("default-src 'none'");
    expect(DASHBOARD_CSP).not.toContain('unsafe');
  });

  it('serves its four files by name, uPlot from the uplot package, and nothing else', () => {
    for (const name of ['dashboard.js', 'dashboard.css', 'uplot.js', 'uplot.css']) {
      const res = assets.assetResponse(name, undefined);
      expect(res?.status, name).toBe(200);
      expect(res?.body?.length ?? 0, name).toBeGreaterThan(500);
    }
    expect(assets.assetResponse('uplot.js', undefined)?.body?.toString('utf8')).toContain('uPlot');
    for (const name of ['index.html', '../dashboard.assets.js', 'nothing.js', '']) expect(assets.assetResponse(name, undefined), name).toBeNull();
  });

  it('answers 304 without a body when If-None-Match holds the current ETag', () => {
    const first = assets.assetResponse('dashboard.js', undefined);
    const etag = first?.headers['etag'] ?? '';
    expect(etag).toMatch(/^"[\w-]{27}"$/);
    expect(assets.assetResponse('dashboard.js', etag)).toMatchObject({ status: 304, body: null });
    expect(assets.assetResponse('dashboard.js', `"other", ${etag}`)?.status).toBe(304);
    expect(assets.assetResponse('dashboard.js', '"other"')?.status).toBe(200);
    expect(assets.assetResponse('dashboard.css', etag)?.status).toBe(200);
  });
});

describe('prefersHtml', () => {
  it.each([
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', true],
    ['text/html', true],
    ['application/json, text/html', false],
    ['text/html;q=0.5, application/json', false],
    ['application/json;q=0.5, text/html', true],
    ['text/html;q=0', false],
    ['application/json', false],
    ['*/*', false],
    [undefined, false],
  ])('%s → %s', (accept, expected) => {
    expect(prefersHtml(accept)).toBe(expected);
  });
});
