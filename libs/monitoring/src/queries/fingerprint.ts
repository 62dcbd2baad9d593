import { createHash } from 'node:crypto';
import { positiveInt } from './option-checks.js';

/**
 * What the monitor knows about one SQL text's shape.
 *
 * `source: 'parser'` fingerprints come from libpg-query (PostgreSQL's own parser): 16 hex digits,
 * the same for every text that differs only in literals, `$n` placeholders, `IN (...)` list lengths,
 * multi-row `VALUES` counts, aliases, comments and whitespace.
 * `source: 'fallback'` fingerprints are `text:` + 16 hex digits of a hash of the normalised text; they
 * appear when the parser rejects the text, the text is too long to parse cheaply, or the parser is
 * not loaded (yet, or at all). The two kinds never collide, and the same text always gets the same
 * kind once the parser is loaded.
 */
export interface QueryFingerprint {
  fingerprint: string;
  /** `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `MERGE` from the parse tree (so `WITH … UPDATE` is `UPDATE`); otherwise the first keyword (`BEGIN`, `CREATE`, `SET`, …); `UNKNOWN` when there is none. */
  operation: string;
  /** Relations named in the statement (`schema.table` when written qualified), CTE names excluded; empty for fallbacks. */
  tables: readonly string[];
  source: 'parser' | 'fallback';
  /** Why the fallback was used (parser message, `too long`, `parser not loaded`, …); absent for parser fingerprints. */
  reason?: string;
}

export interface QueryFingerprinterOptions {
  /** Distinct SQL texts remembered (LRU). Default 2000. */
  cacheSize?: number;
  /** Total characters of SQL texts remembered, so a few huge texts cannot hold memory. Default 4,000,000. */
  maxCacheChars?: number;
  /**
   * Texts longer than this skip the parser and get a fallback fingerprint (and are not cached):
   * parse time grows faster than linearly (≈ 0.2 s for a 130 kB statement), and this runs on the
   * event loop. Default 16,384.
   */
  maxParseLength?: number;
  /** Walk the parse tree for the tables touched (≈ +20 µs per cache miss). Default true. */
  extractTables?: boolean;
}

export interface FingerprinterStats {
  hits: number;
  misses: number;
  /** Fingerprints that fell back to the text hash (counted per call, cached or not). */
  fallbacks: number;
  cachedTexts: number;
  cachedChars: number;
  /** `loading` until `load()` settles; `failed` means the WASM parser could not be used and every fingerprint is a fallback. */
  parser: 'loading' | 'ready' | 'failed';
}

/** The slice of libpg-query the fingerprinter uses (sync calls, valid once `loadModule()` resolved). */
interface PgQueryParser {
  fingerprintSync(sql: string): string;
  parseSync(sql: string): unknown;
}

const PARSER_FINGERPRINT = /^[0-9a-f]{16}$/;
const DML: Readonly<Record<string, string>> = {
  SelectStmt: 'SELECT',
  InsertStmt: 'INSERT',
  UpdateStmt: 'UPDATE',
  DeleteStmt: 'DELETE',
  MergeStmt: 'MERGE',
};
/** After this many failures of the WASM module itself (not SQL rejections) the parser is not trusted again. */
const MAX_INTERNAL_FAILURES = 3;

/**
 * Fingerprints SQL with libpg-query's WASM build of the PostgreSQL parser. `load()` once (async:
 * it compiles ~1.7 MB of WASM, ≈ 30 ms), then `fingerprint()` is synchronous and never throws.
 * Results are cached per exact text in a bounded LRU: TypeORM sends the same parameterised texts
 * again and again, so after warm-up a call costs a map lookup (a miss costs ≈ 15 µs fingerprint +
 * ≈ 20 µs parse for a typical TypeORM `SELECT`).
 */
export class QueryFingerprinter {
  private readonly cacheSize: number;
  private readonly maxCacheChars: number;
  private readonly maxParseLength: number;
  private readonly extractTables: boolean;
  private readonly cache = new Map<string, QueryFingerprint>();
  private cachedChars = 0;
  private parser: PgQueryParser | undefined;
  private loading: Promise<void> | undefined;
  private state: FingerprinterStats['parser'] = 'loading';
  private internalFailures = 0;
  private hits = 0;
  private misses = 0;
  private fallbacks = 0;

  constructor(options: QueryFingerprinterOptions = {}) {
    this.cacheSize = positiveInt(options.cacheSize, 2000, 'cacheSize');
    this.maxCacheChars = positiveInt(options.maxCacheChars, 4_000_000, 'maxCacheChars');
    this.maxParseLength = positiveInt(options.maxParseLength, 16_384, 'maxParseLength');
    this.extractTables = options.extractTables ?? true;
  }

  /** A fingerprinter whose parser is loaded (or has failed to load, in which case it falls back). */
  static async create(options?: QueryFingerprinterOptions): Promise<QueryFingerprinter> {
    const fingerprinter = new QueryFingerprinter(options);
    await fingerprinter.load();
    return fingerprinter;
  }

  /** True once the parser is loaded or has failed for good: `fingerprint()` then gives its final answer. */
  get settled(): boolean {
    return this.state !== 'loading';
  }

  /**
   * Loads the WASM parser; idempotent, never rejects. The module is imported lazily so that
   * importing the monitor costs nothing until a fingerprinter is used.
   */
  load(): Promise<void> {
    this.loading ??= (async () => {
      try {
        const mod = await import('libpg-query');
        await mod.loadModule();
        this.parser = { fingerprintSync: mod.fingerprintSync, parseSync: mod.parseSync };
        this.state = 'ready';
      } catch {
        this.state = 'failed';
      }
    })();
    return this.loading;
  }

  /** The fingerprint of one SQL text. Synchronous, never throws; see {@link QueryFingerprint} for fallbacks. */
  fingerprint(sql: string): QueryFingerprint {
    const cached = this.cache.get(sql);
    if (cached !== undefined) {
      this.hits++;
      // Refresh recency: Map iteration order is insertion order, so the first key is the LRU.
      this.cache.delete(sql);
      this.cache.set(sql, cached);
      if (cached.source === 'fallback') this.fallbacks++;
      return cached;
    }
    this.misses++;
    const result = this.compute(sql);
    if (result.source === 'fallback') this.fallbacks++;
    // A fallback given only because the parser is still loading must not outlive the loading.
    if (this.state !== 'loading' && sql.length <= this.maxParseLength) this.remember(sql, result);
    return result;
  }

  stats(): FingerprinterStats {
    return {
      hits: this.hits,
      misses: this.misses,
      fallbacks: this.fallbacks,
      cachedTexts: this.cache.size,
      cachedChars: this.cachedChars,
      parser: this.state,
    };
  }

  clearCache(): void {
    this.cache.clear();
    this.cachedChars = 0;
  }

  private compute(sql: string): QueryFingerprint {
    if (typeof sql !== 'string') return fallbackFingerprint(String(sql), 'not a string');
    if (sql.trim() === '') return fallbackFingerprint(sql, 'empty');
    if (this.parser === undefined) {
      return fallbackFingerprint(sql, this.state === 'loading' ? 'parser not loaded' : 'parser unavailable');
    }
    if (sql.length > this.maxParseLength) return fallbackFingerprint(sql, 'too long');
    let fingerprint: string;
    try {
      fingerprint = this.parser.fingerprintSync(sql);
    } catch (err) {
      this.noteFailure(err);
      return fallbackFingerprint(sql, errorMessage(err));
    }
    // The WASM wrapper only throws for some error prefixes; others (e.g. "memory exhausted at or
    // near …" for deep nesting) come back as if they were the fingerprint.
    if (!PARSER_FINGERPRINT.test(fingerprint)) return fallbackFingerprint(sql, fingerprint.slice(0, 200));
    let operation: string | undefined;
    let tables: readonly string[] = [];
    if (this.extractTables) {
      try {
        const tree = this.parser.parseSync(sql);
        operation = dmlOperation(tree);
        tables = relationsOf(tree);
      } catch (err) {
        this.noteFailure(err);
      }
    }
    return { fingerprint, operation: operation ?? firstKeyword(sql), tables, source: 'parser' };
  }

  /** A WASM trap (not an SQL rejection) may leave the module unusable; stop trusting it after a few. */
  private noteFailure(err: unknown): void {
    // WebAssembly.RuntimeError (traps) is not in this project's lib typings; its name is enough.
    const internal = (err instanceof Error && err.name === 'RuntimeError') || /abort|out of bounds|unreachable/i.test(errorMessage(err));
    if (internal && ++this.internalFailures >= MAX_INTERNAL_FAILURES) {
      this.parser = undefined;
      this.state = 'failed';
      this.clearCache();
    }
  }

  private remember(sql: string, result: QueryFingerprint): void {
    this.cache.set(sql, result);
    this.cachedChars += sql.length;
    while (this.cache.size > this.cacheSize || this.cachedChars > this.maxCacheChars) {
      const oldest = this.cache.keys().next();
      if (oldest.done === true) break;
      this.cache.delete(oldest.value);
      this.cachedChars -= oldest.value.length;
    }
  }
}

/**
 * Literals, placeholders, comments and quoted identifiers in one pass, so that a number inside a
 * string or an identifier such as `"col 1"` is not mistaken for a literal.
 */
const TOKENS =
  /"(?:[^"]|"")*"|[EeBbXxNn]?'(?:[^']|'')*'|\$([A-Za-z_][A-Za-z0-9_]*)?\$[\s\S]*?\$\1\$|--[^\n]*|\/\*[\s\S]*?\*\/|\$\d+|\b\d+(?:\.\d*)?(?:[eE][+-]?\d+)?\b|\.\d+(?:[eE][+-]?\d+)?\b/g;

/**
 * The text the fallback hash is computed from: comments dropped, literals and `$n` as `?`, lists of
 * them (`IN (?, ?)`, `VALUES (?), (?)`) collapsed, whitespace collapsed, lower case outside
 * quoted identifiers, trailing `;` dropped. Approximate by design: it only has to be stable.
 */
export function normalizeSqlText(sql: string): string {
  let out = '';
  let last = 0;
  TOKENS.lastIndex = 0;
  for (let m = TOKENS.exec(sql); m !== null; m = TOKENS.exec(sql)) {
    out += sql.slice(last, m.index).toLowerCase();
    const token = m[0];
    if (token.startsWith('"')) out += token;
    else if (token.startsWith('--') || token.startsWith('/*')) out += ' ';
    else out += '?';
    last = m.index + token.length;
  }
  out += sql.slice(last).toLowerCase();
  return out
    .replace(/\s+/g, ' ')
    .replace(/\(\s*\?(?:\s*,\s*\?)*\s*\)/g, '(?)')
    .replace(/\(\?\)(?:\s*,\s*\(\?\))+/g, '(?)')
    .replace(/[\s;]+$/, '')
    .trim();
}

/** The fallback fingerprint of a text: `text:` + the first 16 hex digits of SHA-1 of {@link normalizeSqlText}. */
export function fallbackFingerprint(sql: string, reason: string): QueryFingerprint {
  const hash = createHash('sha1').update(normalizeSqlText(sql)).digest('hex').slice(0, 16);
  return { fingerprint: `text:${hash}`, operation: firstKeyword(sql), tables: [], source: 'fallback', reason };
}

/** The statement's first keyword, upper case, after leading whitespace, comments and parentheses; `UNKNOWN` when there is none. */
export function firstKeyword(sql: string): string {
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (c === 0x2d /* - */ && sql.charCodeAt(i + 1) === 0x2d) {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? n : end + 1;
    } else if (c === 0x2f /* / */ && sql.charCodeAt(i + 1) === 0x2a /* * */) {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? n : end + 2;
    } else if (c === 0x28 /* ( */ || c <= 0x20) {
      i++;
    } else {
      break;
    }
  }
  const match = /^[A-Za-z_]+/.exec(sql.slice(i, i + 32));
  return match === null ? 'UNKNOWN' : match[0].toUpperCase();
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** `SELECT`/`INSERT`/`UPDATE`/`DELETE`/`MERGE` when the first statement is one (whatever its `WITH`), else undefined. */
function dmlOperation(tree: unknown): string | undefined {
  const stmts = (tree as { stmts?: { stmt?: Record<string, unknown> }[] } | null)?.stmts;
  const first = stmts?.[0]?.stmt;
  if (first === undefined || first === null) return undefined;
  const kind = Object.keys(first)[0];
  return kind === undefined ? undefined : DML[kind];
}

/** Every `RangeVar` in the tree, minus unqualified names that are CTEs of the same statement text. */
function relationsOf(tree: unknown): string[] {
  const relations = new Set<string>();
  const ctes = new Set<string>();
  const stack: Json[] = [tree as Json];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      for (const child of node) stack.push(child);
      continue;
    }
    // A RangeVar appears wrapped (`{ RangeVar: {...} }`) in node lists such as FROM, and bare in
    // typed fields such as `InsertStmt.relation` or `CreateStmt.relation`; only RangeVars have `relname`.
    const relname = node['relname'];
    if (typeof relname === 'string') {
      const schemaname = node['schemaname'];
      relations.add(typeof schemaname === 'string' ? `${schemaname}.${relname}` : relname);
    }
    const ctename = node['ctename'];
    if (typeof ctename === 'string') ctes.add(ctename);
    for (const key of Object.keys(node)) {
      const value = node[key];
      if (value !== null && typeof value === 'object') stack.push(value);
    }
  }
  return [...relations].filter((name) => !ctes.has(name)).sort();
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
