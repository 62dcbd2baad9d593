/**
 * Test data factories. Every value a test sends comes from here, so that data is unique
 * per run (no clashes between files sharing PostgreSQL/Redis) and easy to vary.
 */
import { randomInt, randomUUID } from 'node:crypto';

let sequence = 0;
const runTag = randomUUID().slice(0, 8);
const next = (): number => ++sequence;

/** A lower-case word of letters only, unlikely to occur anywhere else (full-text search friendly). */
export function uniqueWord(length = 12): string {
  const letters = 'bcdfghjklmnpqrstvwxz';
  let word = '';
  for (let i = 0; i < length; i++) word += letters[randomInt(letters.length)];
  return word;
}

export function userName(prefix = 'e2e-user'): string {
  return `${prefix}-${runTag}-${next()}`;
}

export interface ConversationInput {
  title?: string | null;
  systemPrompt?: string | null;
  model?: string;
}

export function conversationInput(overrides: ConversationInput = {}): ConversationInput {
  const n = next();
  return { title: `Conversation ${runTag}-${n}`, systemPrompt: `You are assistant number ${n}. Be concise.`, ...overrides };
}

export interface MessageInput {
  content: string;
  mode?: 'sync' | 'async' | 'stream';
  priority?: 'low' | 'normal' | 'high' | 'urgent' | 'critical';
  cache?: boolean;
}

/** A chat message with no arithmetic, time or search trigger for the local model. */
export function chatText(): string {
  return `Tell me a short story about the ${uniqueWord()} lighthouse`;
}

export function messageInput(overrides: Partial<MessageInput> = {}): MessageInput {
  return { content: chatText(), ...overrides };
}

export interface ArithmeticQuestion {
  expression: string;
  value: number;
  question: string;
}

/** `What is a*(b+c)?` with fresh small numbers, and its value. */
export function arithmeticQuestion(): ArithmeticQuestion {
  const a = randomInt(2, 40);
  const b = randomInt(1, 30);
  const c = randomInt(1, 30);
  const expression = `${a}*(${b}+${c})`;
  return { expression, value: a * (b + c), question: `What is ${expression}?` };
}

/** A simple sum for the upstream tool-call scripts. */
export function sumExpression(): { expression: string; value: number } {
  const a = randomInt(2, 500);
  const b = randomInt(2, 500);
  return { expression: `${a}+${b}`, value: a + b };
}

/** A UUID that names nothing in the database. */
export function nonexistentId(): string {
  return randomUUID();
}

export function requestId(): string {
  return `e2e-req-${runTag}-${next()}`;
}

export function upstreamApiKey(): string {
  return `sk-upstream-${randomUUID()}`;
}

/** The OpenAI `tools` entry for the calculator, as a client would send it. */
export function calculatorToolDefinition() {
  return {
    type: 'function' as const,
    function: {
      name: 'calculator',
      description: 'Evaluate an arithmetic expression',
      parameters: {
        type: 'object',
        properties: { expression: { type: 'string' } },
        required: ['expression'],
        additionalProperties: false,
      },
    },
  };
}
