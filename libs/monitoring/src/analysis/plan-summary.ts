/**
 * Reading `EXPLAIN (FORMAT JSON, VERBOSE)` output: one plan node is a JSON object with
 * `Node Type`, costs, and child nodes under `Plans`.
 */
export type PlanNode = Readonly<Record<string, unknown>>;

/** A sequential scan found in a plan, with what an index could serve: its filter and the sort above it. */
export interface SeqScanSummary {
  /** Present with VERBOSE (always, for plans captured here). */
  schema: string | null;
  relation: string;
  /** The name the plan's expressions use for the relation (e.g. `big` or `b`). */
  alias: string;
  /** The node's `Filter` expression as PostgreSQL deparsed it, or null. */
  filter: string | null;
  /** Keys of the `Sort` / `Incremental Sort` directly above this scan (through Gather nodes), or null. */
  sortKeys: string[] | null;
  /** Estimated rows out of the scan (after the filter). */
  planRows: number;
  totalCost: number;
  parallel: boolean;
}

export interface PlanSummary {
  /** Root node's total cost (PostgreSQL's arbitrary cost units). */
  totalCost: number;
  startupCost: number;
  /** Root node's estimated rows. */
  planRows: number;
  nodeCount: number;
  /** Distinct node types, in plan order. */
  nodeTypes: string[];
  /** Distinct relations scanned, `schema.relation` when the schema is known. */
  relations: string[];
  /** Distinct indexes the plan uses. */
  indexes: string[];
  seqScans: SeqScanSummary[];
  sorts: Array<{ keys: string[] }>;
}

/** Node types a Sort may sit above while still sorting the rows of one scan. */
const PASS_THROUGH = new Set(['Gather', 'Gather Merge', 'Materialize', 'Result']);

export function str(node: PlanNode, key: string): string | null {
  const value = node[key];
  return typeof value === 'string' ? value : null;
}

export function num(node: PlanNode, key: string): number {
  const value = node[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

export function children(node: PlanNode): PlanNode[] {
  const plans = node['Plans'];
  return Array.isArray(plans) ? plans.filter((p): p is PlanNode => typeof p === 'object' && p !== null) : [];
}

function stringList(node: PlanNode, key: string): string[] | null {
  const value = node[key];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : null;
}

/** The root plan node of `EXPLAIN (FORMAT JSON)` output (`[{ "Plan": {...} }]`), or null if it is not one. */
export function planRoot(explainOutput: unknown): PlanNode | null {
  const first: unknown = Array.isArray(explainOutput) ? explainOutput[0] : explainOutput;
  if (typeof first !== 'object' || first === null) return null;
  const plan = (first as Record<string, unknown>)['Plan'];
  return typeof plan === 'object' && plan !== null ? (plan as PlanNode) : null;
}

/** Every node of the tree, depth first, parents before children. */
export function* walkPlan(root: PlanNode): Generator<PlanNode> {
  const stack: PlanNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    yield node;
    const kids = children(node);
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]);
  }
}

/** True when some node of the plan scans the named index (Index Scan, Index Only Scan, Bitmap Index Scan). */
export function planUsesIndex(root: PlanNode, indexName: string): boolean {
  for (const node of walkPlan(root)) {
    if (str(node, 'Index Name') === indexName) return true;
  }
  return false;
}

/** The compact summary kept beside each captured plan. */
export function summarizePlan(root: PlanNode): PlanSummary {
  const nodeTypes = new Set<string>();
  const relations = new Set<string>();
  const indexes = new Set<string>();
  const seqScans: SeqScanSummary[] = [];
  const sorts: Array<{ keys: string[] }> = [];
  let nodeCount = 0;

  const visit = (node: PlanNode, sortAbove: string[] | null): void => {
    nodeCount++;
    const type = str(node, 'Node Type') ?? 'Unknown';
    nodeTypes.add(type);
    const relation = str(node, 'Relation Name');
    const schema = str(node, 'Schema');
    if (relation !== null) relations.add(schema === null ? relation : `${schema}.${relation}`);
    const index = str(node, 'Index Name');
    if (index !== null) indexes.add(index);

    let sortForChildren: string[] | null = null;
    if (type === 'Sort' || type === 'Incremental Sort') {
      const keys = stringList(node, 'Sort Key') ?? [];
      sorts.push({ keys });
      sortForChildren = keys;
    } else if (PASS_THROUGH.has(type)) {
      sortForChildren = sortAbove;
    }

    if (type === 'Seq Scan' && relation !== null) {
      seqScans.push({
        schema,
        relation,
        alias: str(node, 'Alias') ?? relation,
        filter: str(node, 'Filter'),
        sortKeys: sortAbove,
        planRows: num(node, 'Plan Rows'),
        totalCost: num(node, 'Total Cost'),
        parallel: node['Parallel Aware'] === true,
      });
    }
    for (const child of children(node)) {
      // Only the outer input of a pass-through node is the rows being sorted; InitPlans/SubPlans are not.
      const relationship = str(child, 'Parent Relationship');
      const passes = relationship === null || relationship === 'Outer';
      visit(child, passes ? sortForChildren : null);
    }
  };
  visit(root, null);

  return {
    totalCost: num(root, 'Total Cost'),
    startupCost: num(root, 'Startup Cost'),
    planRows: num(root, 'Plan Rows'),
    nodeCount,
    nodeTypes: [...nodeTypes],
    relations: [...relations],
    indexes: [...indexes],
    seqScans,
    sorts,
  };
}
