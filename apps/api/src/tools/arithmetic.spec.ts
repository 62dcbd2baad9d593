import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ArithmeticError, evaluateArithmetic, findArithmetic } from './arithmetic.js';

/** The error `fn` throws; fails the test when it throws nothing. */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw, got a value');
}

describe('evaluateArithmetic', () => {
  it.each([
    ['2+3*4', 14],
    ['(2+3)*4', 20],
    ['10-4-3', 3],
    ['100/10/5', 2],
    ['7%4', 3],
    ['-7%3', -1],
    ['2*3%4', 2],
    ['1+2*3-4/2', 5],
  ])('respects precedence and left associativity: %s = %d', (expression, value) => {
    expect(evaluateArithmetic(expression)).toBe(value);
  });

  it.each([
    ['2^3^2', 512],
    ['2**3**2', 512],
    ['(2^3)^2', 64],
    ['2^3*2', 16],
    ['2*3^2', 18],
  ])('treats ^ and ** as right-associative power binding tighter than *: %s = %d', (expression, value) => {
    expect(evaluateArithmetic(expression)).toBe(value);
  });

  it.each([
    ['-2^2', -4],
    ['-2**2', -4],
    ['(-2)^2', 4],
    ['2^-2', 0.25],
    ['-2*3', -6],
    ['2*-3', -6],
    ['--2', 2],
    ['+5', 5],
    ['-(2+3)', -5],
    ['3--2', 5],
  ])('binds unary signs looser than ^ and tighter than *: %s = %d', (expression, value) => {
    expect(evaluateArithmetic(expression)).toBe(value);
  });

  it.each([
    ['1e3', 1000],
    ['2.5e-1', 0.25],
    ['.5+.5', 1],
    ['1.', 1],
    ['  1 +\t2\n', 3],
    ['7 × 6 ÷ 3', 14],
  ])('reads number forms, whitespace and × ÷: %j = %d', (expression, value) => {
    expect(evaluateArithmetic(expression)).toBe(value);
  });

  it.each([
    ['0.1+0.2', 0.3],
    ['1.1*3', 3.3],
    ['0.3-0.1', 0.2],
  ])('hides binary floating-point noise: %s = %d', (expression, value) => {
    expect(evaluateArithmetic(expression)).toBe(value);
  });

  it.each([
    ['sqrt(16)', 4],
    ['abs(-3)', 3],
    ['round(2.5)', 3],
    ['floor(-1.5)', -2],
    ['ceil(1.2)', 2],
    ['ln(e)', 1],
    ['log10(1000)', 3],
    ['sin(0)', 0],
    ['cos(0)', 1],
    ['tan(0)', 0],
    ['min(3, 1, 2)', 1],
    ['max(3, 1, 2)', 3],
    ['max(1, 2*3)', 6],
    ['sqrt(abs(-16))', 4],
    ['SQRT(4)', 2],
    ['Max(2, 5)', 5],
  ])('calls functions: %s = %d', (expression, value) => {
    expect(evaluateArithmetic(expression)).toBe(value);
  });

  it('knows the constants pi and e', () => {
    expect(evaluateArithmetic('pi')).toBeCloseTo(Math.PI, 12);
    expect(evaluateArithmetic('e')).toBeCloseTo(Math.E, 12);
    expect(evaluateArithmetic('2*PI')).toBeCloseTo(2 * Math.PI, 12);
  });

  it('accepts 1 to 32 arguments for min and max', () => {
    const args = (n: number) => Array.from({ length: n }, (_, i) => String(i + 1)).join(',');
    expect(evaluateArithmetic(`max(${args(32)})`)).toBe(32);
    expect(() => evaluateArithmetic(`max(${args(33)})`)).toThrow(new ArithmeticError('max takes 1 to 32 argument(s)'));
  });

  it.each([
    ['sqrt(1,2)', 'sqrt takes 1 argument(s)'],
    ['abs(1, 2, 3)', 'abs takes 1 argument(s)'],
    ['sqrt()', 'unexpected ")"'],
    ['sqrt 4', 'expected "("'],
    ['max(1,)', 'unexpected ")"'],
  ])('rejects a bad call %j: %s', (expression, message) => {
    expect(() => evaluateArithmetic(expression)).toThrow(new ArithmeticError(message));
  });

  it.each([
    ['', 'empty expression'],
    ['  \t ', 'empty expression'],
    ['1+', 'expression ends too early'],
    ['(1', 'expected ")"'],
    ['1)', 'unexpected ")"'],
    ['1 2', 'unexpected "2"'],
    ['*2', 'unexpected "*"'],
    ['2e', 'unexpected "e"'],
    ['1..2', 'unexpected "0.2"'],
    ['1;2', 'unexpected character ";"'],
    ['2 $ 3', 'unexpected character "$"'],
  ])('reports a syntax error for %j: %s', (expression, message) => {
    expect(() => evaluateArithmetic(expression)).toThrow(new ArithmeticError(message));
  });

  it.each([
    ['1/0', 'division by zero'],
    ['0/0', 'division by zero'],
    ['5/(3-3)', 'division by zero'],
    ['1%0', 'division by zero'],
    ['10^400', 'the result is not a finite number'],
    ['1e400', 'the result is not a finite number'],
    ['sqrt(-1)', 'the result is not a finite number'],
    ['ln(0)', 'the result is not a finite number'],
    ['-(10^400)', 'the result is not a finite number'],
  ])('refuses %s: %s', (expression, message) => {
    expect(() => evaluateArithmetic(expression)).toThrow(new ArithmeticError(message));
  });

  it.each([
    'process',
    'process.exit(1)',
    'constructor',
    // Object.prototype.constructor is a function, and NaN^0 = 1: this once evaluated to 1.
    'constructor^0',
    'CONSTRUCTOR^0',
    '__proto__',
    'prototype',
    'tostring(1)',
    'valueof',
    'hasownproperty',
    'Math.max(1,2)',
    'eval(1)',
    'this',
    'globalThis',
    'x+1',
  ])('rejects the identifier in %j', (expression) => {
    const error = thrownBy(() => evaluateArithmetic(expression));
    expect(error).toBeInstanceOf(ArithmeticError);
    expect((error as Error).name).toBe('ArithmeticError');
  });

  it('names unknown identifiers in lower case', () => {
    expect(() => evaluateArithmetic('Process+1')).toThrow(new ArithmeticError('unknown name "process"'));
  });

  describe('limits', () => {
    it('accepts 1000 characters and refuses 1001', () => {
      const sum = ` ${'1+'.repeat(499)}1`;
      expect(sum).toHaveLength(1000);
      expect(evaluateArithmetic(sum)).toBe(500);
      expect(() => evaluateArithmetic(`${sum} `)).toThrow(new ArithmeticError('expression is longer than 1000 characters'));
    });

    it('refuses 10k nested parentheses with an ArithmeticError, not a RangeError', () => {
      const error = thrownBy(() => evaluateArithmetic(`${'('.repeat(10_000)}1${')'.repeat(10_000)}`));
      expect(error).toBeInstanceOf(ArithmeticError);
    });

    it('evaluates moderate nesting', () => {
      expect(evaluateArithmetic(`${'('.repeat(50)}1${')'.repeat(50)}`)).toBe(1);
      expect(evaluateArithmetic(`${'sqrt('.repeat(20)}1${')'.repeat(20)}`)).toBe(1);
    });

    it.each([
      ['parentheses', `${'('.repeat(400)}1${')'.repeat(400)}`],
      ['unary minus', `${'-'.repeat(900)}1`],
      ['unary plus', `${'+'.repeat(900)}1`],
      ['right-associative powers', `${'1^'.repeat(400)}1`],
      ['function calls', `${'abs('.repeat(150)}1${')'.repeat(150)}`],
    ])('refuses deep nesting of %s within the length limit', (_label, expression) => {
      expect(expression.length).toBeLessThanOrEqual(1000);
      expect(() => evaluateArithmetic(expression)).toThrow(new ArithmeticError('expression is nested too deeply'));
    });
  });

  describe('properties', () => {
    it('throws nothing but ArithmeticError, and returns only finite numbers, on arbitrary strings', () => {
      const source = fc.oneof(
        fc.string({ maxLength: 60 }),
        fc.string({ unit: 'grapheme', maxLength: 30 }),
        fc.string({ unit: fc.constantFrom(...'0123456789.e+-*/%^()×÷, pisqrtmaxbcon_'.split('')), maxLength: 60 }),
      );
      fc.assert(
        fc.property(source, (expression) => {
          let value: number;
          try {
            value = evaluateArithmetic(expression);
          } catch (error) {
            expect(error).toBeInstanceOf(ArithmeticError);
            return;
          }
          expect(Number.isFinite(value)).toBe(true);
        }),
        { numRuns: 2_000 },
      );
    });

    it('agrees with an exact BigInt evaluation on well-formed + - * expressions', () => {
      fc.assert(
        fc.property(expressionArbitrary, fc.boolean(), (tree, spaced) => {
          const exact = exactValue(tree);
          fc.pre(exact > -(10n ** 15n) && exact < 10n ** 15n);
          expect(evaluateArithmetic(render(tree, spaced))).toBe(Number(exact));
        }),
        { numRuns: 1_000 },
      );
    });
  });
});

describe('findArithmetic', () => {
  it.each([
    ['What is 12*(3+4)?', '12*(3+4)'],
    ['12*(3+4)', '12*(3+4)'],
    ['What is (2+3)*4?', '(2+3)*4'],
    ['what is 3 - 1.', '3 - 1'],
    ['Please compute 7 × 6 ÷ 3 for me', '7 × 6 ÷ 3'],
    ['2^10, please', '2^10'],
    ['What is -5 + 3?', '-5 + 3'],
    ['Compute -(2+3)*4.', '-(2+3)*4'],
    ['x=-5+3', '-5+3'],
    ['What is 3*-5?', '3*-5'],
    ['what is 1.5 * 4 today', '1.5 * 4'],
  ])('finds the expression in %j', (text, expression) => {
    expect(findArithmetic(text)).toBe(expression);
  });

  it('keeps the longest of several expressions', () => {
    expect(findArithmetic('3 + 4 and 10 * 10 * 10')).toBe('10 * 10 * 10');
  });

  it.each([
    ['well-5+3', '5+3'],
    ['- 5 + 3', '5 + 3'],
  ])('treats a hyphen after a word or a list dash as no sign: %j', (text, expression) => {
    expect(findArithmetic(text)).toBe(expression);
  });

  it.each([
    ['a lone number', 'I have 3 apples'],
    ['a year', 'the year 2026'],
    ['a lone negative number', 'it was -5 outside'],
    ['a version', 'version 1.2.3'],
    ['an ISO date', 'on 2026-11-22 we met'],
    ['a bare ISO date', '2026-11-22'],
    ['a slashed date', 'due 11/22/2026'],
    ['a year-first slashed date', 'due 2026/11/22'],
    ['two dates', 'from 2026-11-22 to 2026-12-01'],
    ['an unbalanced expression', '(1+2'],
    ['a division by zero', 'what is 1/0?'],
    ['no digits', 'What is love?'],
    ['empty text', ''],
  ])('finds nothing in %s', (_label, text) => {
    expect(findArithmetic(text)).toBeNull();
  });

  it('finds the question next to a date', () => {
    expect(findArithmetic('On 2026-11-22, what is 2+3?')).toBe('2+3');
  });

  it('ignores an expression longer than the evaluator accepts', () => {
    expect(findArithmetic(`What is ${'9*'.repeat(2_500)}9?`)).toBeNull();
  });

  it('finds nothing in 10k nested parentheses and does not throw', () => {
    expect(findArithmetic(`What is ${'('.repeat(10_000)}1${')'.repeat(10_000)}?`)).toBeNull();
  });

  it('never throws and returns only a substring that evaluates', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.string({ unit: fc.constantFrom(...'0123456789 .+-*/%^()×÷-abc?'.split('')), maxLength: 80 }),
    );
    fc.assert(
      fc.property(text, (t) => {
        const found = findArithmetic(t);
        if (found === null) return;
        expect(t).toContain(found);
        expect(found).toBe(found.trim());
        expect(Number.isFinite(evaluateArithmetic(found))).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });

  it('finds any generated expression with an operator asked as a question', () => {
    fc.assert(
      fc.property(expressionArbitrary, fc.boolean(), (tree, spaced) => {
        fc.pre(tree.kind === 'binary');
        const expression = render(tree, spaced);
        expect(findArithmetic(`What is ${expression}?`)).toBe(expression);
      }),
      { numRuns: 500 },
    );
  });
});

// --- generated expressions -----------------------------------------------------------------------

type Tree =
  | { kind: 'num'; value: number }
  | { kind: 'neg'; operand: Tree }
  | { kind: 'binary'; op: '+' | '-' | '*'; left: Tree; right: Tree };

const expressionArbitrary: fc.Arbitrary<Tree> = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ kind: fc.constant('num' as const), value: fc.integer({ min: 0, max: 999 }) }),
    fc.record({ kind: fc.constant('neg' as const), operand: tie('tree') }),
    fc.record({
      kind: fc.constant('binary' as const),
      op: fc.constantFrom('+' as const, '-' as const, '*' as const),
      left: tie('tree'),
      right: tie('tree'),
    }),
  ),
})).tree;

function exactValue(tree: Tree): bigint {
  switch (tree.kind) {
    case 'num':
      return BigInt(tree.value);
    case 'neg':
      return -exactValue(tree.operand);
    case 'binary': {
      const [a, b] = [exactValue(tree.left), exactValue(tree.right)];
      return tree.op === '+' ? a + b : tree.op === '-' ? a - b : a * b;
    }
  }
}

/** Infix with only the parentheses precedence needs (and -(-x)), so the parser's precedence is what is tested. */
function render(tree: Tree, spaced: boolean): string {
  const precedence = (t: Tree): number => (t.kind === 'binary' ? (t.op === '*' ? 2 : 1) : 3);
  switch (tree.kind) {
    case 'num':
      return String(tree.value);
    case 'neg': {
      const inner = render(tree.operand, spaced);
      // Double negation as people write it, -(-2): the finder takes one sign, not "--2".
      return tree.operand.kind === 'num' ? `-${inner}` : `-(${inner})`;
    }
    case 'binary': {
      const own = precedence(tree);
      const left = render(tree.left, spaced);
      const right = render(tree.right, spaced);
      const l = precedence(tree.left) < own ? `(${left})` : left;
      const r = precedence(tree.right) <= own ? `(${right})` : right;
      return spaced ? `${l} ${tree.op} ${r}` : `${l}${tree.op}${r}`;
    }
  }
}
