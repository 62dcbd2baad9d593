/**
 * Arithmetic expressions, parsed and evaluated without `eval`: numbers, + - * / % ^ (power, right
 * associative), unary signs, parentheses, the constants `pi` and `e`, and a few functions.
 * Anything else is a syntax error. Depth and length are bounded so hostile input cannot exhaust the stack.
 */
export class ArithmeticError extends Error {
  override name = 'ArithmeticError';
}

type Token = { kind: 'num'; value: number } | { kind: 'op'; value: string } | { kind: 'name'; value: string };

const MAX_LENGTH = 1_000;
const MAX_DEPTH = 64;

const FUNCTIONS: Record<string, { arity: [number, number]; fn: (...args: number[]) => number }> = {
  sqrt: { arity: [1, 1], fn: Math.sqrt },
  abs: { arity: [1, 1], fn: Math.abs },
  round: { arity: [1, 1], fn: Math.round },
  floor: { arity: [1, 1], fn: Math.floor },
  ceil: { arity: [1, 1], fn: Math.ceil },
  ln: { arity: [1, 1], fn: Math.log },
  log10: { arity: [1, 1], fn: Math.log10 },
  sin: { arity: [1, 1], fn: Math.sin },
  cos: { arity: [1, 1], fn: Math.cos },
  tan: { arity: [1, 1], fn: Math.tan },
  min: { arity: [1, 32], fn: Math.min },
  max: { arity: [1, 32], fn: Math.max },
};
const CONSTANTS: Record<string, number> = { pi: Math.PI, e: Math.E };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(?:(\d+(?:\.\d*)?(?:e[+-]?\d+)?|\.\d+(?:e[+-]?\d+)?)|([a-z][a-z0-9]*)|(\*\*|[-+*/%^(),×÷]))/iy;
  let index = 0;
  while (index < source.length) {
    if (/^\s*$/.test(source.slice(index))) break;
    pattern.lastIndex = index;
    const match = pattern.exec(source);
    if (match === null) throw new ArithmeticError(`unexpected character "${source.slice(index).trim()[0]}"`);
    index = pattern.lastIndex;
    const [, num, name, op] = match;
    if (num !== undefined) tokens.push({ kind: 'num', value: Number(num) });
    else if (name !== undefined) tokens.push({ kind: 'name', value: name.toLowerCase() });
    else if (op !== undefined) {
      const normalized = op === '**' ? '^' : op === '×' ? '*' : op === '÷' ? '/' : op;
      tokens.push({ kind: 'op', value: normalized });
    }
  }
  return tokens;
}

class Parser {
  private position = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  parse(): number {
    if (this.tokens.length === 0) throw new ArithmeticError('empty expression');
    const value = this.expression(0);
    const rest = this.tokens[this.position];
    if (rest !== undefined) throw new ArithmeticError(`unexpected "${String(rest.value)}"`);
    return value;
  }

  /** Precedence climbing: + - (1) < * / % (2) < unary (3) < ^ (4, right associative). */
  private expression(minPrecedence: number): number {
    if (++this.depth > MAX_DEPTH) throw new ArithmeticError('expression is nested too deeply');
    let left = this.unary();
    for (;;) {
      const token = this.tokens[this.position];
      if (token?.kind !== 'op') break;
      const precedence = BINARY[token.value];
      if (precedence === undefined || precedence < minPrecedence) break;
      this.position++;
      const right = this.expression(token.value === '^' ? precedence : precedence + 1);
      left = apply(token.value, left, right);
    }
    this.depth--;
    return left;
  }

  private unary(): number {
    const token = this.tokens[this.position];
    if (token?.kind === 'op' && (token.value === '-' || token.value === '+')) {
      this.position++;
      if (++this.depth > MAX_DEPTH) throw new ArithmeticError('expression is nested too deeply');
      // Unary minus binds looser than ^: -2^2 = -4.
      const operand = this.expression(3);
      this.depth--;
      return token.value === '-' ? -operand : operand;
    }
    return this.primary();
  }

  private primary(): number {
    const token = this.tokens[this.position++];
    if (token === undefined) throw new ArithmeticError('expression ends too early');
    if (token.kind === 'num') return token.value;
    if (token.kind === 'op' && token.value === '(') {
      const value = this.expression(0);
      this.expect(')');
      return value;
    }
    if (token.kind === 'name') {
      // Own properties only: `constructor` must not find Object.prototype.constructor.
      const constant = Object.hasOwn(CONSTANTS, token.value) ? CONSTANTS[token.value] : undefined;
      if (constant !== undefined) return constant;
      const fn = Object.hasOwn(FUNCTIONS, token.value) ? FUNCTIONS[token.value] : undefined;
      if (fn === undefined) throw new ArithmeticError(`unknown name "${token.value}"`);
      this.expect('(');
      const args = [this.expression(0)];
      while (this.peekOp(',')) {
        this.position++;
        args.push(this.expression(0));
      }
      this.expect(')');
      const [min, max] = fn.arity;
      if (args.length < min || args.length > max) {
        throw new ArithmeticError(`${token.value} takes ${min === max ? min : `${min} to ${max}`} argument(s)`);
      }
      return fn.fn(...args);
    }
    throw new ArithmeticError(`unexpected "${token.value}"`);
  }

  private peekOp(op: string): boolean {
    const token = this.tokens[this.position];
    return token?.kind === 'op' && token.value === op;
  }

  private expect(op: string): void {
    if (!this.peekOp(op)) throw new ArithmeticError(`expected "${op}"`);
    this.position++;
  }
}

const BINARY: Record<string, number> = { '+': 1, '-': 1, '*': 2, '/': 2, '%': 2, '^': 4 };

function apply(op: string, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      if (b === 0) throw new ArithmeticError('division by zero');
      return a / b;
    case '%':
      if (b === 0) throw new ArithmeticError('division by zero');
      return a % b;
    default:
      return a ** b;
  }
}

export function evaluateArithmetic(expression: string): number {
  if (expression.length > MAX_LENGTH) throw new ArithmeticError(`expression is longer than ${MAX_LENGTH} characters`);
  const value = new Parser(tokenize(expression)).parse();
  if (!Number.isFinite(value)) throw new ArithmeticError('the result is not a finite number');
  // Hide binary floating-point noise such as 0.1 + 0.2 = 0.30000000000000004.
  return Number.parseFloat(value.toPrecision(15));
}

/** A calendar date reads like subtraction or division (2026-11-22, 11/22/2026) but is not a question. */
const DATE = /^(?:\d{4}([-/])\d{1,2}\1\d{1,2}|\d{1,2}([-/])\d{1,2}\2\d{4})$/;
/** An operator between operands; the right one may carry a sign (3*-5). */
const OPERATOR_BETWEEN_OPERANDS = /\d\s*[-+*/%^×÷]\s*(?:[-+]\s*)?[\d(.]|\)\s*[-+*/%^×÷]/;

/**
 * The longest arithmetic expression in free text ("What is 12*(3+4)?" → "12*(3+4)"), or null.
 * It must contain an operator between numbers; a lone number or a date is not a question.
 */
export function findArithmetic(text: string): string | null {
  let best: string | null = null;
  // Maximal runs of the characters an expression may use: linear in the text. (A single pattern that
  // must begin and end with an operand backtracks quadratically on text such as 30k "(".)
  for (const run of text.matchAll(/[\d.\s+\-*/%^()×÷]+/g)) {
    const candidate = trimToExpression(run[0], text[run.index - 1]);
    if (candidate === null || candidate.length > MAX_LENGTH) continue;
    if (DATE.test(candidate) || !OPERATOR_BETWEEN_OPERANDS.test(candidate)) continue;
    try {
      evaluateArithmetic(candidate);
    } catch {
      continue;
    }
    if (best === null || candidate.length > best.length) best = candidate;
  }
  return best;
}

/**
 * From the first operand (digit, "." or "(") to the last digit or ")"; a "-" just before the first
 * operand is kept as its sign unless it is a hyphen after a word ("well-5" keeps "5").
 */
function trimToExpression(run: string, before: string | undefined): string | null {
  let start = run.search(/[\d.(]/);
  let end = run.length - 1;
  while (end >= 0 && !/[\d)]/.test(run.charAt(end))) end--;
  if (start === -1 || end <= start) return null;
  if (run.charAt(start - 1) === '-') {
    const prior = start >= 2 ? run.charAt(start - 2) : (before ?? '');
    if (!/\w/.test(prior)) start--;
  }
  return run.slice(start, end + 1);
}
