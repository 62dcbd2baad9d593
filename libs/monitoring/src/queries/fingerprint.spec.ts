import { beforeAll, describe, expect, it } from 'vitest';
import { QueryFingerprinter, fallbackFingerprint, firstKeyword, normalizeSqlText } from './fingerprint.js';

let fingerprinter: QueryFingerprinter;

beforeAll(async () => {
  fingerprinter = await QueryFingerprinter.create();
});

const fp = (sql: string): string => fingerprinter.fingerprint(sql).fingerprint;

describe('QueryFingerprinter (libpg-query)', () => {
  it('loads the WASM parser', () => {
    expect(fingerprinter.stats().parser).toBe('ready');
    expect(fingerprinter.settled).toBe(true);
    expect(fingerprinter.fingerprint('SELECT 1').source).toBe('parser');
    expect(fp('SELECT 1')).toMatch(/^[0-9a-f]{16}$/);
  });

  it('collapses literals and $n placeholders to one fingerprint', () => {
    const shape = fp('SELECT * FROM items WHERE id = $1');
    expect(fp('SELECT * FROM items WHERE id = 1')).toBe(shape);
    expect(fp('SELECT * FROM items WHERE id = 2')).toBe(shape);
    expect(fp("SELECT * FROM items WHERE name = 'a'")).toBe(fp("SELECT * FROM items WHERE name = 'b'"));
  });

  it('collapses IN lists of any length and multi-row VALUES', () => {
    expect(fp('SELECT * FROM items WHERE id IN (1, 2)')).toBe(fp('SELECT * FROM items WHERE id IN (1, 2, 3)'));
    expect(fp('SELECT * FROM items WHERE id IN ($1, $2)')).toBe(fp('SELECT * FROM items WHERE id IN (1, 2, 3)'));
    expect(fp('INSERT INTO items (name) VALUES ($1)')).toBe(fp('INSERT INTO items (name) VALUES ($1), ($2), ($3)'));
  });

  it('ignores whitespace, comments, keyword case and column aliases', () => {
    const shape = fp('SELECT "i"."id" AS "i_id" FROM "items" "i" WHERE "i"."id" = $1');
    expect(fp('select "i"."id" as "x"  from "items" "i"\n  where "i"."id" = 7 -- by id')).toBe(shape);
  });

  it('gives different shapes different fingerprints', () => {
    const shapes = [
      'SELECT * FROM items WHERE id = $1',
      'SELECT * FROM items WHERE name = $1',
      'SELECT * FROM orders WHERE id = $1',
      'SELECT id FROM items WHERE id = $1',
      'SELECT * FROM items WHERE id = $1 AND name = $2',
      'UPDATE items SET name = $1 WHERE id = $2',
      'DELETE FROM items WHERE id = $1',
      'SELECT * FROM items WHERE id = $1 ORDER BY name',
    ];
    expect(new Set(shapes.map(fp)).size).toBe(shapes.length);
  });

  it('extracts the operation from the parse tree, first keyword otherwise', () => {
    expect(fingerprinter.fingerprint('select 1').operation).toBe('SELECT');
    expect(fingerprinter.fingerprint('INSERT INTO items (name) VALUES ($1) RETURNING id').operation).toBe('INSERT');
    expect(fingerprinter.fingerprint('WITH old AS (SELECT id FROM items) UPDATE items SET name = $1 FROM old').operation).toBe('UPDATE');
    expect(fingerprinter.fingerprint('DELETE FROM items').operation).toBe('DELETE');
    expect(fingerprinter.fingerprint('START TRANSACTION').operation).toBe('START');
    expect(fingerprinter.fingerprint('COMMIT').operation).toBe('COMMIT');
    expect(fingerprinter.fingerprint('CREATE TABLE t (id int)').operation).toBe('CREATE');
    expect(fingerprinter.fingerprint('(SELECT 1) UNION (SELECT 2)').operation).toBe('SELECT');
  });

  it('lists the tables touched, schema-qualified when written so, without CTE names', () => {
    expect(fingerprinter.fingerprint('SELECT * FROM items i JOIN public.orders o ON o.item_id = i.id').tables).toEqual([
      'items',
      'public.orders',
    ]);
    expect(
      fingerprinter.fingerprint('WITH recent AS (SELECT * FROM "Orders" WHERE id > $1) SELECT * FROM recent JOIN items ON true').tables,
    ).toEqual(['Orders', 'items']);
    expect(fingerprinter.fingerprint('SELECT 1').tables).toEqual([]);
    expect(fingerprinter.fingerprint('INSERT INTO items (name) SELECT name FROM archive.items').tables).toEqual(['archive.items', 'items']);
    expect(fingerprinter.fingerprint('UPDATE items SET name = $1 WHERE id IN (SELECT item_id FROM orders)').tables).toEqual(['items', 'orders']);
    expect(fingerprinter.fingerprint('DELETE FROM items WHERE id = $1').tables).toEqual(['items']);
    expect(fingerprinter.fingerprint('CREATE TABLE widgets (id int)').tables).toEqual(['widgets']);
  });

  it('falls back to a marked text hash when the parser rejects the statement, without throwing', () => {
    const a = fingerprinter.fingerprint('SELEC * FROM items WHERE id = 1');
    const b = fingerprinter.fingerprint('selec *  from items where id = 42');
    expect(a.source).toBe('fallback');
    expect(a.fingerprint).toMatch(/^text:[0-9a-f]{16}$/);
    expect(a.reason).toMatch(/syntax error/);
    expect(a.operation).toBe('SELEC');
    expect(b.fingerprint).toBe(a.fingerprint);
  });

  it('falls back for input the parser chokes on (deep nesting, empty text)', async () => {
    const roomy = await QueryFingerprinter.create({ maxParseLength: 100_000 });
    const deep = roomy.fingerprint(`SELECT ${'('.repeat(20_000)}1${')'.repeat(20_000)}`);
    expect(deep.source).toBe('fallback');
    expect(deep.reason).toMatch(/memory exhausted/);
    expect(roomy.fingerprint('SELECT 1').source).toBe('parser');
    expect(fingerprinter.fingerprint('').source).toBe('fallback');
    expect(fingerprinter.fingerprint('   ').operation).toBe('UNKNOWN');
  });

  it('does not hand long texts to the parser', () => {
    const small = new QueryFingerprinter({ maxParseLength: 40 });
    const long = `SELECT * FROM items WHERE name = '${'x'.repeat(100)}'`;
    return small.load().then(() => {
      const result = small.fingerprint(long);
      expect(result.source).toBe('fallback');
      expect(result.reason).toBe('too long');
      expect(small.stats().cachedTexts).toBe(0);
    });
  });

  it('caches per exact text in a bounded LRU', async () => {
    const small = await QueryFingerprinter.create({ cacheSize: 3 });
    for (let i = 0; i < 10; i++) small.fingerprint(`SELECT ${i} AS c${i}`);
    expect(small.stats().cachedTexts).toBe(3);
    small.fingerprint('SELECT 9 AS c9');
    expect(small.stats()).toMatchObject({ hits: 1, misses: 10 });
    const byChars = await QueryFingerprinter.create({ maxCacheChars: 50 });
    for (let i = 0; i < 10; i++) byChars.fingerprint(`SELECT ${i} AS column_number_${i}`);
    expect(byChars.stats().cachedChars).toBeLessThanOrEqual(50);
  });

  it('gives provisional fallbacks before the parser is loaded, and does not cache them', () => {
    const cold = new QueryFingerprinter();
    const before = cold.fingerprint('SELECT * FROM items WHERE id = $1');
    expect(before.source).toBe('fallback');
    expect(before.reason).toBe('parser not loaded');
    expect(cold.stats().cachedTexts).toBe(0);
  });
});

describe('fallback normalisation', () => {
  it('collapses literals, placeholders, lists, comments and whitespace', () => {
    expect(normalizeSqlText("SELECT * FROM t WHERE a = 1 AND b = 'x''y' AND c IN (1, 2,3) -- note\n;")).toBe(
      'select * from t where a = ? and b = ? and c in (?)',
    );
    expect(normalizeSqlText('INSERT INTO t VALUES ($1, $2), ($3, $4)')).toBe('insert into t values (?)');
    expect(normalizeSqlText('SELECT "Col 1" FROM t1 /* x */ WHERE v = $$a$$')).toBe('select "Col 1" from t1 where v = ?');
  });

  it('is stable and marked', () => {
    expect(fallbackFingerprint('SELEC 1', 'r').fingerprint).toBe(fallbackFingerprint('selec   2', 'r').fingerprint);
    expect(fallbackFingerprint('SELEC 1', 'r').fingerprint).not.toBe(fallbackFingerprint('SELEC a', 'r').fingerprint);
  });

  it('finds the first keyword past comments and parentheses', () => {
    expect(firstKeyword('  -- c\n/* d */ ((select 1))')).toBe('SELECT');
    expect(firstKeyword('')).toBe('UNKNOWN');
  });
});
