import { createHash } from 'node:crypto';

/**
 * Keywords PostgreSQL 15 does not accept as bare identifiers in every position
 * (`SELECT word FROM pg_get_keywords() WHERE catcode <> 'U'`): `quote_ident()` quotes them.
 */
const NON_UNRESERVED = new Set(
  ('all analyse analyze and any array as asc asymmetric authorization between bigint binary bit boolean both case cast ' +
    'char character check coalesce collate collation column concurrently constraint create cross current_catalog ' +
    'current_date current_role current_schema current_time current_timestamp current_user dec decimal default ' +
    'deferrable desc distinct do else end except exists extract false fetch float for foreign freeze from full grant ' +
    'greatest group grouping having ilike in initially inner inout int integer intersect interval into is isnull join ' +
    'lateral leading least left like limit localtime localtimestamp national natural nchar none normalize not notnull ' +
    'null nullif numeric offset on only or order out outer overlaps overlay placing position precision primary real ' +
    'references returning right row select session_user setof similar smallint some substring symmetric table ' +
    'tablesample then time timestamp to trailing treat trim true union unique user using values varchar variadic ' +
    'verbose when where window with xmlattributes xmlconcat xmlelement xmlexists xmlforest xmlnamespaces xmlparse ' +
    'xmlpi xmlroot xmlserialize xmltable').split(' '),
);

/** As PostgreSQL's `quote_ident()`: bare when safe, else double-quoted with `"` doubled. */
export function quoteIdent(name: string): string {
  if (/^[a-z_][a-z0-9_$]*$/.test(name) && !NON_UNRESERVED.has(name)) return name;
  return `"${name.replace(/"/g, '""')}"`;
}

/** PostgreSQL truncates identifiers to NAMEDATALEN - 1 = 63 bytes. */
const MAX_IDENTIFIER_BYTES = 63;

/** `<table>_<col>_<col>_idx` (PostgreSQL's own naming), shortened with a hash when over 63 bytes. */
export function indexName(table: string, columns: readonly string[]): string {
  const name = `${[table, ...columns].join('_')}_idx`;
  if (Buffer.byteLength(name) <= MAX_IDENTIFIER_BYTES) return name;
  const hash = createHash('sha1').update(name).digest('hex').slice(0, 8);
  let prefix = name;
  // Cut by characters until it fits, so a multi-byte character is never split.
  while (Buffer.byteLength(`${prefix}_${hash}_idx`) > MAX_IDENTIFIER_BYTES) prefix = prefix.slice(0, -1);
  return `${prefix}_${hash}_idx`;
}
