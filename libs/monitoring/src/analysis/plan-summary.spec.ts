import { describe, expect, it } from 'vitest';
import { planRoot, planUsesIndex, summarizePlan } from './plan-summary.js';

/** Trimmed `EXPLAIN (FORMAT JSON, VERBOSE)` output from PostgreSQL 15. */
const output = [
  {
    Plan: {
      'Node Type': 'Limit',
      'Startup Cost': 2279.58,
      'Total Cost': 2279.6,
      'Plan Rows': 10,
      Plans: [
        {
          'Node Type': 'Gather Merge',
          'Parent Relationship': 'Outer',
          'Total Cost': 2279.6,
          Plans: [
            {
              'Node Type': 'Sort',
              'Parent Relationship': 'Outer',
              'Total Cost': 2429.58,
              'Sort Key': ['big.created_at DESC'],
              Plans: [
                {
                  'Node Type': 'Seq Scan',
                  'Parent Relationship': 'Outer',
                  'Parallel Aware': true,
                  'Relation Name': 'big',
                  Schema: 'public',
                  Alias: 'big',
                  'Total Cost': 983,
                  'Plan Rows': 60000,
                  Filter: '(big.category = 42)',
                },
                {
                  'Node Type': 'Index Scan',
                  'Parent Relationship': 'SubPlan',
                  'Relation Name': 'small',
                  Schema: 'app',
                  Alias: 's',
                  'Index Name': 'small_pkey',
                  'Total Cost': 8.3,
                },
              ],
            },
          ],
        },
      ],
    },
  },
];

describe('summarizePlan', () => {
  it('summarizes node types, relations, indexes, seq scans with their filter and sort', () => {
    const root = planRoot(output)!;
    const summary = summarizePlan(root);
    expect(summary).toMatchObject({
      totalCost: 2279.6,
      startupCost: 2279.58,
      planRows: 10,
      nodeCount: 5,
      nodeTypes: ['Limit', 'Gather Merge', 'Sort', 'Seq Scan', 'Index Scan'],
      relations: ['public.big', 'app.small'],
      indexes: ['small_pkey'],
      sorts: [{ keys: ['big.created_at DESC'] }],
    });
    expect(summary.seqScans).toEqual([
      {
        schema: 'public',
        relation: 'big',
        alias: 'big',
        filter: '(big.category = 42)',
        sortKeys: ['big.created_at DESC'],
        planRows: 60000,
        totalCost: 983,
        parallel: true,
      },
    ]);
    expect(planUsesIndex(root, 'small_pkey')).toBe(true);
    expect(planUsesIndex(root, 'nope')).toBe(false);
  });

  it('does not attribute a sort to a scan below a join', () => {
    const summary = summarizePlan({
      'Node Type': 'Sort',
      'Sort Key': ['a.x'],
      Plans: [
        {
          'Node Type': 'Hash Join',
          'Parent Relationship': 'Outer',
          Plans: [{ 'Node Type': 'Seq Scan', 'Parent Relationship': 'Outer', 'Relation Name': 'a', Alias: 'a' }],
        },
      ],
    });
    expect(summary.seqScans[0]).toMatchObject({ relation: 'a', sortKeys: null, schema: null, filter: null });
  });

  it('rejects what is not a plan', () => {
    expect(planRoot(null)).toBeNull();
    expect(planRoot([{}])).toBeNull();
    expect(planRoot('x')).toBeNull();
  });
});
