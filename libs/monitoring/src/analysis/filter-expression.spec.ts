import { describe, expect, it } from 'vitest';
import { filterPredicates, sortColumns, type ScanTarget } from './filter-expression.js';

const big: ScanTarget = {
  alias: 'big',
  relation: 'big',
  columns: new Set(['id', 'category', 'name', 'created_at', 'score', 'flag', 'Mixed Case', 'time']),
};

describe('filterPredicates', () => {
  it('finds an equality column in a VERBOSE filter', () => {
    expect(filterPredicates('(big.category = 42)', big)).toEqual([{ column: 'category', kind: 'equality' }]);
  });

  it('puts equality columns before range columns, through casts', () => {
    const filter = "((big.score > 10) AND (big.category = 42) AND ((big.name)::text = 'x'::text))";
    expect(filterPredicates(filter, big)).toEqual([
      { column: 'category', kind: 'equality' },
      { column: 'name', kind: 'equality' },
      { column: 'score', kind: 'range' },
    ]);
  });

  it('reads unqualified (non-VERBOSE) and generic-plan filters', () => {
    expect(filterPredicates('(category = $1)', big)).toEqual([{ column: 'category', kind: 'equality' }]);
  });

  it('treats = ANY, IS NULL, booleans and same-column ORs as equality', () => {
    expect(filterPredicates("(big.category = ANY ('{1,2,3}'::integer[]))", big)).toEqual([{ column: 'category', kind: 'equality' }]);
    expect(filterPredicates('(big.created_at IS NULL)', big)).toEqual([{ column: 'created_at', kind: 'equality' }]);
    expect(filterPredicates('big.flag', big)).toEqual([{ column: 'flag', kind: 'equality' }]);
    expect(filterPredicates('(NOT big.flag)', big)).toEqual([{ column: 'flag', kind: 'equality' }]);
    expect(filterPredicates('((big.category = 1) OR (big.category = 2))', big)).toEqual([{ column: 'category', kind: 'equality' }]);
  });

  it('treats LIKE and comparisons as range', () => {
    expect(filterPredicates("((big.name)::text ~~ 'ab%'::text)", big)).toEqual([{ column: 'name', kind: 'range' }]);
    expect(filterPredicates("(big.created_at >= '2024-01-01 00:00:00+00'::timestamp with time zone)", big)).toEqual([
      { column: 'created_at', kind: 'range' },
    ]);
  });

  it('skips what a plain b-tree index on the column would not serve', () => {
    expect(filterPredicates("(lower((big.name)::text) = 'x'::text)", big)).toEqual([]); // expression
    expect(filterPredicates('(big.category <> 3)', big)).toEqual([]);
    expect(filterPredicates('(big.created_at IS NOT NULL)', big)).toEqual([]);
    expect(filterPredicates('((big.category = 1) OR (big.score = 2))', big)).toEqual([]);
    expect(filterPredicates('(big.category = big.score)', big)).toEqual([]);
    expect(filterPredicates('(big.category = other.id)', big)).toEqual([]); // a join filter
    expect(filterPredicates('(big.nope = 1)', big)).toEqual([]); // not a column of the relation
  });

  it('does not mistake string contents, type names or other aliases for columns', () => {
    expect(filterPredicates("((big.name)::text = 'category'::text)", big)).toEqual([{ column: 'name', kind: 'equality' }]);
    expect(filterPredicates("(big.created_at = '2024-01-01'::timestamp without time zone)", big)).toEqual([
      { column: 'created_at', kind: 'equality' },
    ]);
    expect(filterPredicates('(b.category = 1)', big)).toEqual([]);
  });

  it('handles quoted identifiers and a column named like a type word', () => {
    expect(filterPredicates('(big."Mixed Case" = 1)', big)).toEqual([{ column: 'Mixed Case', kind: 'equality' }]);
    expect(filterPredicates('(big."time" = 1)', big)).toEqual([{ column: 'time', kind: 'equality' }]);
    const quotedAlias: ScanTarget = { alias: 'My Table', relation: 'My Table', columns: new Set(['x']) };
    expect(filterPredicates('("My Table".x = 5)', quotedAlias)).toEqual([{ column: 'x', kind: 'equality' }]);
  });

  it('keeps equality when a column has both kinds', () => {
    expect(filterPredicates('((big.score > 1) AND (big.score = 5))', big)).toEqual([{ column: 'score', kind: 'equality' }]);
  });
});

describe('sortColumns', () => {
  it('reads plain column keys with directions', () => {
    expect(sortColumns(['big.created_at DESC', 'big.name'], big)).toEqual([
      { column: 'created_at', descending: true, nullsFirst: null },
      { column: 'name', descending: false, nullsFirst: null },
    ]);
    expect(sortColumns(['score NULLS FIRST'], big)).toEqual([{ column: 'score', descending: false, nullsFirst: true }]);
    expect(sortColumns(['big.score DESC NULLS FIRST'], big)).toEqual([{ column: 'score', descending: true, nullsFirst: null }]);
  });

  it('refuses expressions, other relations and custom orderings', () => {
    expect(sortColumns(['(lower((big.name)::text))'], big)).toBeNull();
    expect(sortColumns(['other.id'], big)).toBeNull();
    expect(sortColumns(['big.score USING >'], big)).toBeNull();
    expect(sortColumns(['big.missing'], big)).toBeNull();
  });
});
