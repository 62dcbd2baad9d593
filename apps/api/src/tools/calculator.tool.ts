import { Injectable } from '@nestjs/common';
import { ArithmeticError, evaluateArithmetic } from './arithmetic.js';
import { ToolInputError, type Tool } from './tool.js';

@Injectable()
export class CalculatorTool implements Tool {
  readonly name = 'calculator';
  readonly description =
    'Evaluates an arithmetic expression: numbers, + - * / % ^, parentheses, pi, e, sqrt, abs, round, floor, ceil, ln, log10, sin, cos, tan, min, max.';
  readonly parameters = {
    type: 'object',
    properties: { expression: { type: 'string', minLength: 1, maxLength: 1000, description: 'e.g. "12*(3+4)"' } },
    required: ['expression'],
    additionalProperties: false,
  };
  readonly cacheable = true;
  readonly ttlSeconds = 86_400;

  execute(args: Record<string, unknown>): Promise<{ expression: string; value: number }> {
    const expression = String(args['expression']);
    try {
      return Promise.resolve({ expression, value: evaluateArithmetic(expression) });
    } catch (error) {
      if (error instanceof ArithmeticError) throw new ToolInputError(`expression: ${error.message}`);
      throw error;
    }
  }
}
