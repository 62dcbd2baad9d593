/**
 * Which columns of a scanned relation a plan's `Filter` and `Sort Key` expressions use, and how.
 *
 * The expressions are PostgreSQL's own deparsed text (ruleutils), e.g.
 * `((big.category = 42) AND ((big.name)::text ~~ 'a%'::text))`. Rather than guess columns with a
 * regular expression, the text is tokenized (string literals, quoted identifiers, casts, operators,
 * parentheses), split into top-level AND conjuncts, and identifiers are matched against the
 * relation's real column names from the catalog (`pg_attribute`), qualified by the scan's alias.
 * A conjunct yields a candidate column only when it compares exactly one column of the relation,
 * not wrapped in a function call (that would need an expression index), against constants or
 * parameters. The result is a heuristic; the what-if plan decides whether an index really helps.
 */

export type PredicateKind = 'equality' | 'range';

export interface ColumnPredicate {
  column: string;
  kind: PredicateKind;
}

export interface SortColumn {
  column: string;
  descending: boolean;
  nullsFirst: boolean | null;
}

/** The scan the expressions belong to. */
export interface ScanTarget {
  alias: string;
  relation: string;
  /** The relation's column names, exactly as in `pg_attribute.attname`. */
  columns: ReadonlySet<string>;
}

type Token =
  | { t: 'ident'; v: string; quoted: boolean }
  | { t: 'str' }
  | { t: 'num' }
  | { t: 'param' }
  | { t: 'op'; v: string }
  | { t: 'punct'; v: '(' | ')' | '[' | ']' | ',' | '.' | '::' };

const OP_CHARS = '+-*/<>=~!@#%^&|`?';

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = text.length;
  const readQuoted = (quote: string, backslashEscapes: boolean): string => {
    // i is at the opening quote
    let value = '';
    i++;
    while (i < n) {
      const c = text[i];
      if (backslashEscapes && c === '\\') {
        value += text[i + 1] ?? '';
        i += 2;
      } else if (c === quote) {
        if (text[i + 1] === quote) {
          value += quote;
          i += 2;
        } else {
          i++;
          return value;
        }
      } else {
        value += c;
        i++;
      }
    }
    return value;
  };
  while (i < n) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      readQuoted("'", false);
      tokens.push({ t: 'str' });
    } else if ((c === 'E' || c === 'e') && text[i + 1] === "'") {
      i++;
      readQuoted("'", true);
      tokens.push({ t: 'str' });
    } else if (c === '"') {
      tokens.push({ t: 'ident', v: readQuoted('"', false), quoted: true });
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      const m = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/.exec(text.slice(i))!;
      tokens.push({ t: 'ident', v: m[0], quoted: false });
      i += m[0].length;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const m = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(i))!;
      tokens.push({ t: 'num' });
      i += m[0].length;
    } else if (c === '$' && /[0-9]/.test(text[i + 1] ?? '')) {
      const m = /^\$\d+/.exec(text.slice(i))!;
      tokens.push({ t: 'param' });
      i += m[0].length;
    } else if (c === ':' && text[i + 1] === ':') {
      tokens.push({ t: 'punct', v: '::' });
      i += 2;
    } else if (c === '(' || c === ')' || c === '[' || c === ']' || c === ',' || c === '.') {
      tokens.push({ t: 'punct', v: c });
      i++;
    } else if (OP_CHARS.includes(c)) {
      let j = i;
      while (j < n && OP_CHARS.includes(text[j])) j++;
      tokens.push({ t: 'op', v: text.slice(i, j) });
      i = j;
    } else {
      // Anything else (e.g. ':' alone, ';') is opaque.
      tokens.push({ t: 'op', v: c });
      i++;
    }
  }
  return tokens;
}

const isPunct = (token: Token | undefined, v: string): boolean => token?.t === 'punct' && token.v === v;
const isWord = (token: Token | undefined, word: string): boolean =>
  token?.t === 'ident' && !token.quoted && token.v.toUpperCase() === word;

/** Words that are never column references in deparsed expressions. */
const KEYWORDS = new Set([
  'AND', 'OR', 'NOT', 'IS', 'NULL', 'TRUE', 'FALSE', 'ANY', 'ALL', 'SOME', 'IN', 'LIKE', 'ILIKE', 'SIMILAR',
  'ARRAY', 'CASE', 'WHEN', 'THEN', 'ELSE', 'END', 'DISTINCT', 'FROM', 'UNKNOWN', 'COLLATE', 'ROW', 'EXISTS',
  'SubPlan', 'InitPlan', 'hashed', 'returns',
].map((w) => w.toUpperCase()));

/** Words that continue a multi-word type name after `::` (`character varying`, `timestamp with time zone`). */
const TYPE_WORDS = new Set(['VARYING', 'PRECISION', 'WITH', 'WITHOUT', 'TIME', 'ZONE', 'CHARACTER', 'DOUBLE', 'BIT']);

/** Index of the parenthesis closing the one at `open`, or -1. */
function matching(tokens: Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    if (isPunct(tokens[i], '(')) depth++;
    else if (isPunct(tokens[i], ')')) {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function stripParens(tokens: Token[]): Token[] {
  let current = tokens;
  while (current.length >= 2 && isPunct(current[0], '(') && matching(current, 0) === current.length - 1) {
    current = current.slice(1, -1);
  }
  return current;
}

/** Splits at the top-level (depth 0) occurrences of a keyword. */
function splitTop(tokens: Token[], word: string): Token[][] {
  const parts: Token[][] = [];
  let depth = 0;
  let start = 0;
  tokens.forEach((token, i) => {
    if (isPunct(token, '(') || isPunct(token, '[')) depth++;
    else if (isPunct(token, ')') || isPunct(token, ']')) depth--;
    else if (depth === 0 && isWord(token, word)) {
      parts.push(tokens.slice(start, i));
      start = i + 1;
    }
  });
  parts.push(tokens.slice(start));
  return parts;
}

function conjuncts(tokens: Token[]): Token[][] {
  const stripped = stripParens(tokens);
  const parts = splitTop(stripped, 'AND');
  // BETWEEN never survives into a plan (it is rewritten to >= AND <=), so AND is always a conjunction here.
  return parts.length > 1 ? parts.flatMap(conjuncts) : [stripped];
}

interface References {
  /** Columns of the target relation referenced outside function calls. */
  plain: Set<string>;
  /** Columns of the target referenced inside a function call's arguments. */
  inFunction: Set<string>;
  /** References to other relations' columns (qualified by another alias). */
  foreign: number;
}

function references(tokens: Token[], target: ScanTarget): References {
  const refs: References = { plain: new Set(), inFunction: new Set(), foreign: 0 };
  /** For each open parenthesis: whether it opened a function call's arguments. */
  const parens: boolean[] = [];
  let functionDepth = 0;
  let afterCast = false;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token.t === 'punct') {
      if (token.v === '(') {
        const prev = tokens[i - 1];
        const call = prev?.t === 'ident' && !(!prev.quoted && KEYWORDS.has(prev.v.toUpperCase())) && !afterCast;
        parens.push(call);
        if (call) functionDepth++;
      } else if (token.v === ')') {
        if (parens.pop() === true) functionDepth--;
      }
      afterCast = token.v === '::';
      continue;
    }
    if (token.t !== 'ident') {
      afterCast = false;
      continue;
    }
    if (afterCast || (!token.quoted && TYPE_WORDS.has(token.v.toUpperCase()) && isTypeContext(tokens, i))) {
      // A type name: `::integer`, `::character varying`, `::timestamp with time zone`.
      afterCast = false;
      continue;
    }
    if (!token.quoted && KEYWORDS.has(token.v.toUpperCase())) continue;
    if (isPunct(tokens[i + 1], '(')) continue; // a function name
    // qualifier.column or schema.qualifier.column
    let qualifier: string | null = null;
    let name = token.v;
    let j = i;
    while (isPunct(tokens[j + 1], '.') && tokens[j + 2]?.t === 'ident') {
      qualifier = name;
      name = (tokens[j + 2] as { v: string }).v;
      j += 2;
    }
    i = j;
    if (qualifier !== null && qualifier !== target.alias) {
      refs.foreign++;
      continue;
    }
    if (!target.columns.has(name)) continue;
    (functionDepth > 0 ? refs.inFunction : refs.plain).add(name);
  }
  return refs;
}

/** A type-continuation word is only a type word right after `::type` or another type word. */
function isTypeContext(tokens: Token[], i: number): boolean {
  for (let k = i - 1; k >= 0; k--) {
    const token = tokens[k];
    if (isPunct(token, '::')) return true;
    if (token.t === 'ident' && !token.quoted) continue;
    return false;
  }
  return false;
}

/** Operators at the top level of a conjunct (not inside parentheses). */
function topLevel(tokens: Token[]): Token[] {
  const top: Token[] = [];
  let depth = 0;
  for (const token of tokens) {
    if (isPunct(token, '(') || isPunct(token, '[')) depth++;
    else if (isPunct(token, ')') || isPunct(token, ']')) depth--;
    else if (depth === 0) top.push(token);
  }
  return top;
}

const RANGE_OPS = new Set(['<', '>', '<=', '>=', '~~']);

function classify(conjunct: Token[], target: ScanTarget): ColumnPredicate | null {
  const body = stripParens(conjunct);
  const disjuncts = splitTop(body, 'OR');
  if (disjuncts.length > 1) {
    // `(a = 1) OR (a = 2)` is an IN list in disguise; anything else an index on one column won't serve.
    const each = disjuncts.map((d) => classify(d, target));
    const first = each[0];
    if (first == null) return null;
    return each.every((p) => p !== null && p.column === first.column && p.kind === 'equality') ? first : null;
  }
  const refs = references(body, target);
  if (refs.foreign > 0 || refs.inFunction.size > 0 || refs.plain.size !== 1) return null;
  const column = [...refs.plain][0];
  const top = topLevel(body);
  const ops = top.filter((t): t is { t: 'op'; v: string } => t.t === 'op').map((t) => t.v);
  const words = top.filter((t) => t.t === 'ident' && !t.quoted).map((t) => (t as { v: string }).v.toUpperCase());
  if (words.includes('IS')) {
    // `x IS NULL` is indexable; IS NOT NULL / IS DISTINCT FROM / IS TRUE are not selective enough to bother.
    return words.includes('NOT') || words.includes('DISTINCT') || !words.includes('NULL') ? null : { column, kind: 'equality' };
  }
  if (ops.length === 0) {
    // A bare boolean column, or NOT column.
    const meaningful = top.filter((t) => !(t.t === 'ident' && !t.quoted && t.v.toUpperCase() === 'NOT'));
    return meaningful.every((t) => t.t === 'ident' || isPunct(t, '.') || isPunct(t, '::')) ? { column, kind: 'equality' } : null;
  }
  if (ops.length !== 1) return null;
  const op = ops[0];
  if (op === '=') return { column, kind: 'equality' }; // also `= ANY (array)`
  if (RANGE_OPS.has(op)) return { column, kind: 'range' };
  return null; // <>, !~~, @>, &&, ~ …: not a b-tree lookup
}

/**
 * The columns of `target` a Filter compares with constants, equality first (in order of appearance),
 * then range; each column once (equality wins).
 */
export function filterPredicates(filter: string, target: ScanTarget): ColumnPredicate[] {
  let tokens: Token[];
  try {
    tokens = tokenize(filter);
  } catch {
    return [];
  }
  const found = new Map<string, PredicateKind>();
  for (const conjunct of conjuncts(tokens)) {
    const predicate = classify(conjunct, target);
    if (predicate === null) continue;
    const known = found.get(predicate.column);
    if (known === undefined || (known === 'range' && predicate.kind === 'equality')) found.set(predicate.column, predicate.kind);
  }
  const all = [...found].map(([column, kind]) => ({ column, kind }));
  return [...all.filter((p) => p.kind === 'equality'), ...all.filter((p) => p.kind === 'range')];
}

/**
 * Sort keys (`big.created_at DESC`, `big.name NULLS FIRST`) as plain columns of `target`, or null
 * when some key is an expression or another relation's column (no plain index serves the sort).
 */
export function sortColumns(keys: readonly string[], target: ScanTarget): SortColumn[] | null {
  const result: SortColumn[] = [];
  for (const key of keys) {
    let tokens: Token[];
    try {
      tokens = stripParens(tokenize(key));
    } catch {
      return null;
    }
    let descending = false;
    let nullsFirst: boolean | null = null;
    // Trailing modifiers, in the order ruleutils prints them: [ASC|DESC|USING op] [NULLS FIRST|LAST]
    if (isWord(tokens.at(-2), 'NULLS')) {
      nullsFirst = isWord(tokens.at(-1), 'FIRST');
      tokens = tokens.slice(0, -2);
    }
    if (isWord(tokens.at(-1), 'DESC')) {
      descending = true;
      tokens = tokens.slice(0, -1);
    } else if (isWord(tokens.at(-1), 'ASC')) {
      tokens = tokens.slice(0, -1);
    } else if (isWord(tokens.at(-2), 'USING')) {
      return null; // a non-default operator class ordering
    }
    tokens = stripParens(tokens);
    let qualifier: string | null = null;
    let name: string | null = null;
    if (tokens.length === 1 && tokens[0].t === 'ident') name = tokens[0].v;
    else if (tokens.length === 3 && tokens[0].t === 'ident' && isPunct(tokens[1], '.') && tokens[2].t === 'ident') {
      qualifier = tokens[0].v;
      name = tokens[2].v;
    }
    if (name === null || (qualifier !== null && qualifier !== target.alias) || !target.columns.has(name)) return null;
    // DESC defaults to NULLS FIRST, ASC to NULLS LAST: only say it when it differs.
    const defaultNullsFirst = descending;
    result.push({ column: name, descending, nullsFirst: nullsFirst === null || nullsFirst === defaultNullsFirst ? null : nullsFirst });
  }
  return result;
}
