/**
 * Each lib can be packed and installed in an app of one's own: `npm pack --dry-run --json` in
 * libs/cache, libs/async, libs/monitoring and libs/integration lists the built JavaScript and its
 * types and the README, nothing of the sources or tests; package.json says what a consumer's npm
 * and TypeScript need (ESM exports, peers, real version ranges between the libs); and every
 * package the built code imports is declared. Needs the libs built (`npm run build`).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { builtinModules, createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LIBS = ['cache', 'async', 'monitoring', 'integration'] as const;

interface PackedFile {
  path: string;
  size: number;
}
interface PackResult {
  name: string;
  version: string;
  filename: string;
  files: PackedFile[];
}
interface PackageJson {
  name?: string;
  version?: string;
  private?: boolean;
  type?: string;
  main?: string;
  types?: string;
  exports?: Record<string, unknown>;
  files?: string[];
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const libDir = (lib: string): string => join(ROOT, 'libs', lib);

function packageJson(dir: string): PackageJson {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
}

async function packDryRun(lib: string): Promise<PackResult> {
  // --ignore-scripts: what is packed, not what a prepack hook would do; npm's notices go to stderr.
  const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: libDir(lib),
    encoding: 'utf8',
    env: { ...process.env, npm_config_loglevel: 'error' },
  });
  const results = JSON.parse(stdout) as PackResult[];
  expect(results).toHaveLength(1);
  return results[0];
}

/** Packages a file imports (`import … from 'x'`, `export … from 'x'`, `import('x')`, `import 'x'`), by package name. */
function importedPackages(source: string): Set<string> {
  const found = new Set<string>();
  const patterns = [/\b(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /^\s*import\s*['"]([^'"]+)['"]/gm];
  for (const pattern of patterns) {
    for (const match of source.matchAll(pattern)) {
      const specifier = match[1];
      if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
      const parts = specifier.split('/');
      found.add(specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]);
    }
  }
  return found;
}

/** Whether a package brings its own type declarations (else a consumer needs `@types/<name>`). */
function shipsOwnTypes(name: string): boolean {
  const require = createRequire(join(ROOT, 'package.json'));
  let manifestPath: string;
  try {
    manifestPath = require.resolve(`${name}/package.json`);
  } catch {
    return true; // not resolvable here (e.g. an exports map without package.json): assume typed
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { types?: string; typings?: string; exports?: unknown };
  if (manifest.types !== undefined || manifest.typings !== undefined) return true;
  if (JSON.stringify(manifest.exports ?? null).includes('"types"')) return true;
  return existsSync(join(manifestPath, '..', 'index.d.ts'));
}

describe.each(LIBS)('@chat/%s as a package', (lib) => {
  it('is built (dist/index.js and dist/index.d.ts exist)', () => {
    for (const file of ['dist/index.js', 'dist/index.d.ts']) {
      expect(existsSync(join(libDir(lib), file)), `libs/${lib}/${file} is missing: run \`npm run build\` first`).toBe(true);
    }
  });

  it('npm pack ships the built JavaScript with its types and the README, and none of the sources or tests', async () => {
    const packed = await packDryRun(lib);
    const paths = packed.files.map((f) => f.path);
    expect(packed.name).toBe(`@chat/${lib}`);
    expect(paths).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts']));

    const unwanted = paths.filter(
      (p) =>
        p.startsWith('src/') ||
        (p.endsWith('.ts') && !p.endsWith('.d.ts')) ||
        /\.(spec|int-spec|e2e-spec|fixture|contract)\.(js|d\.ts|ts)$/.test(p) ||
        /tsbuildinfo/.test(p) ||
        // Their sources are not shipped, so maps would only point at files that are not there.
        p.endsWith('.map') ||
        /(^|\/)(tsconfig[^/]*\.json|project\.json)$/.test(p),
    );
    expect(unwanted).toEqual([]);
    // Everything else is dist/: each module with its declarations.
    expect(paths.filter((p) => !['package.json', 'README.md'].includes(p) && !p.startsWith('dist/'))).toEqual([]);
    const withoutTypes = paths.filter((p) => p.endsWith('.js') && !paths.includes(p.replace(/\.js$/, '.d.ts')));
    expect(withoutTypes).toEqual([]);
  });

  it('package.json: an ES module with exports, files, Nest as a peer and real version ranges between the libs', () => {
    const pkg = packageJson(libDir(lib));
    expect(pkg.name).toBe(`@chat/${lib}`);
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+(-[\w.]+)?$/);
    expect(pkg.private).toBeUndefined();
    expect(pkg.type).toBe('module');
    expect(pkg.exports?.['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
    expect(pkg.main).toBe('./dist/index.js');
    expect(pkg.types).toBe('./dist/index.d.ts');
    expect(pkg.files).toEqual(expect.arrayContaining(['dist', 'README.md']));
    expect(pkg.engines?.['node']).toBeDefined();
    expect(pkg.peerDependencies).toMatchObject({ '@nestjs/common': expect.any(String), '@nestjs/core': expect.any(String) });

    const runtime = { ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies };
    for (const [name, range] of Object.entries(runtime)) {
      expect(range, `${name}: a version range a registry can resolve`).not.toMatch(/^(\*|workspace:|file:|link:|portal:)|^$/);
      if (!name.startsWith('@chat/')) continue;
      // A sibling lib: published too (not private), and its current version satisfies the range.
      const sibling = packageJson(join(ROOT, 'libs', name.slice('@chat/'.length)));
      expect(sibling.private, `${name} must be publishable`).toBeUndefined();
      expect(range === sibling.version || range === `^${sibling.version}` || range === `~${sibling.version}`, `${name}@${range} vs ${sibling.version}`).toBe(true);
    }
  });

  it('declares every package its built code and types import (and @types for untyped ones)', async () => {
    const packed = await packDryRun(lib);
    const pkg = packageJson(libDir(lib));
    const declared = new Set(Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies }));
    const imported = new Map<string, string>();
    const typeImports = new Set<string>();
    for (const file of packed.files.filter((f) => /\.(js|d\.ts)$/.test(f.path))) {
      const source = await readFile(join(libDir(lib), file.path), 'utf8');
      for (const name of importedPackages(source)) {
        imported.set(name, file.path);
        if (file.path.endsWith('.d.ts')) typeImports.add(name);
      }
    }
    const undeclared = [...imported].filter(([name]) => !declared.has(name)).map(([name, file]) => `${name} (imported by ${file})`);
    expect(undeclared).toEqual([]);
    const untyped = [...typeImports].filter((name) => !shipsOwnTypes(name) && !declared.has(`@types/${name}`));
    expect(untyped, 'public types refer to these packages, which have no types of their own: declare @types/<name>').toEqual([]);
  });

  it('its README shows how to use it in an app of one’s own', async () => {
    const readme = await readFile(join(libDir(lib), 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Use it in your own app'));
    expect(readme).toContain('## Use it in your own app');
    expect(section).toContain(`npm install @chat/${lib}`);
    expect(section).toMatch(/\.forRoot(Async)?\(/);
    expect(section).toMatch(/[Ll]ifecycle/);
    expect(readme).toMatch(/\.forRootAsync\(/);
  });
});
