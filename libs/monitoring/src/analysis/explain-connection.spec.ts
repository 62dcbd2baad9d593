import { describe, expect, it } from 'vitest';
import { explainableKind, needsGenericPlan, placeholderCount } from './explain-connection.js';

describe('explainableKind', () => {
  it('accepts what EXPLAIN takes, past comments and parentheses', () => {
    expect(explainableKind('SELECT 1')).toBe('SELECT');
    expect(explainableKind('  /* typeorm */ -- note\n (select 1) UNION (select 2)')).toBe('SELECT');
    expect(explainableKind('with x as (select 1) select * from x')).toBe('WITH');
    expect(explainableKind('UPDATE t SET a = 1')).toBe('UPDATE');
    expect(explainableKind('DELETE FROM t')).toBe('DELETE');
    expect(explainableKind('INSERT INTO t VALUES (1)')).toBe('INSERT');
    expect(explainableKind('MERGE INTO t USING s ON true WHEN MATCHED THEN DO NOTHING')).toBe('MERGE');
  });

  it('refuses utility statements', () => {
    for (const sql of ['CREATE INDEX i ON t (a)', 'EXPLAIN SELECT 1', 'BEGIN', 'COPY t FROM STDIN', 'SET x = 1', '', 'VACUUM t']) {
      expect(explainableKind(sql)).toBeNull();
    }
  });
});

describe('placeholders', () => {
  it('counts $n outside literals, identifiers, comments and dollar quotes', () => {
    expect(placeholderCount('SELECT * FROM t WHERE a = $1 AND b = $3')).toBe(3);
    expect(placeholderCount("SELECT '$1', \"$2\" /* $3 */ -- $4\n FROM t")).toBe(0);
    expect(placeholderCount('SELECT $$ $1 $$, $tag$ $2 $tag$, $5')).toBe(5);
    expect(placeholderCount('SELECT a$1 FROM t')).toBe(0);
  });

  it('needs a generic plan only when values are missing', () => {
    expect(needsGenericPlan({ sql: 'SELECT * FROM t WHERE a = $1', parameters: [] })).toBe(true);
    expect(needsGenericPlan({ sql: 'SELECT * FROM t WHERE a = $1', parameters: [1] })).toBe(false);
    expect(needsGenericPlan({ sql: 'SELECT 1', parameters: [] })).toBe(false);
  });
});
