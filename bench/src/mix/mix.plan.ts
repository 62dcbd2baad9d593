/**
 * What the load scenarios (light, medium, heavy, stress) send: a weighted mix of the API's everyday
 * operations, drawn at random per request by every connection. Pure: no I/O, so that the mix itself
 * is unit-tested (weights, repeat share, request shapes).
 */

export type OperationName =
  | 'list conversations'
  | 'get conversation'
  | 'read message page'
  | 'post message (new prompt)'
  | 'post message (tool call)'
  | 'post message (stream)'
  | 'create conversation'
  | 'post message (repeated prompt)'
  | 'post message async'
  | 'tool invoke (sync)'
  | 'tool invoke async';

/** A drawable operation; `create conversation` + `post message (repeated prompt)` is one draw of `repeat`. */
export type Draw = 'list' | 'get' | 'page' | 'post' | 'postTool' | 'stream' | 'repeat' | 'async' | 'tool' | 'asyncTool';

export type MixWeights = Record<Draw, number>;

/**
 * Reads dominate, as in any chat client (open the list, open a conversation, scroll); one request
 * in five writes. `repeatShare` then splits the posted prompts: that share repeats an earlier,
 * popular prompt in a new conversation (an AI-response cache hit once the prompt was answered for
 * that user), the rest is new (a model call): half plain, a quarter streamed, a quarter asking for
 * a tool.
 */
export function mixWeights(repeatShare: number): MixWeights {
  const posts = 14;
  return {
    list: 18,
    get: 12,
    page: 32,
    post: posts * (1 - repeatShare) * 0.5,
    stream: posts * (1 - repeatShare) * 0.25,
    postTool: posts * (1 - repeatShare) * 0.25,
    repeat: posts * repeatShare,
    async: 5,
    tool: 12,
    asyncTool: 5,
  };
}

/** Weighted draw; `random` in [0, 1). Zero weights are never drawn. */
export function pick(weights: MixWeights, random: number): Draw {
  const entries = Object.entries(weights) as Array<[Draw, number]>;
  const total = entries.reduce((sum, [, w]) => sum + Math.max(0, w), 0);
  let at = random * total;
  for (const [draw, w] of entries) {
    if (w <= 0) continue;
    if (at < w) return draw;
    at -= w;
  }
  // Floating-point leftovers: the last drawable entry.
  return entries.filter(([, w]) => w > 0).at(-1)?.[0] ?? 'list';
}

/** mulberry32: a small seeded generator, so that a connection's sequence of draws is reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Prompts many users ask; the repeated share of posts draws from these. */
export const POPULAR_PROMPTS = [
  'What is the capital of Australia?',
  'Summarise the plot of Hamlet in one sentence.',
  'Write a haiku about caches.',
  'How do I reverse a list in Python?',
  'What is the difference between TCP and UDP?',
  'Explain recursion to a five year old.',
  'Give me three ideas for a birthday present.',
  'What does HTTP 429 mean?',
];

/** Expressions many users evaluate: the repeated share of tool invocations (tool-result cache hits). */
export const POPULAR_EXPRESSIONS = ['2+2', '12*(3+4)', 'sqrt(144)', '100/7', '2^10', '(1+2)*(3+4)', 'pi*2', '15%4'];

export interface UserData {
  /** `Bearer <key>` */
  authorization: string;
  /** Conversations with history, for reads and new posts. */
  conversationIds: string[];
}

export interface PlannedRequest {
  operation: OperationName;
  method: 'GET' | 'POST';
  path: string;
  body?: string;
}

/** What one connection remembers between requests. */
export interface ConnectionState {
  user: UserData;
  random: () => number;
  /** Set after `create conversation`: the conversation the repeated prompt goes to next. */
  repeatInto?: string;
  /** Counter for unique prompts and expressions. */
  serial: number;
  tag: string;
}

function oneOf<T>(items: readonly T[], random: () => number): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('oneOf: empty list');
  return item;
}

const json = (value: unknown): string => JSON.stringify(value);

/**
 * The next request of a connection: the second half of a repeated prompt if one is pending, else a
 * fresh draw. `repeatShare` also decides whether a sync tool invocation repeats a popular expression.
 */
export function nextRequest(state: ConnectionState, weights: MixWeights, repeatShare: number): PlannedRequest {
  const r = state.random;
  if (state.repeatInto !== undefined) {
    const id = state.repeatInto;
    state.repeatInto = undefined;
    return { operation: 'post message (repeated prompt)', method: 'POST', path: `/v1/conversations/${id}/messages`, body: json({ content: oneOf(POPULAR_PROMPTS, r), mode: 'sync' }) };
  }
  const n = ++state.serial;
  const conversation = (): string => oneOf(state.user.conversationIds, r);
  switch (pick(weights, r())) {
    case 'list':
      return { operation: 'list conversations', method: 'GET', path: '/v1/conversations?limit=20' };
    case 'get':
      return { operation: 'get conversation', method: 'GET', path: `/v1/conversations/${conversation()}` };
    case 'page':
      return { operation: 'read message page', method: 'GET', path: `/v1/conversations/${conversation()}/messages?limit=50` };
    case 'post':
      return {
        operation: 'post message (new prompt)',
        method: 'POST',
        path: `/v1/conversations/${conversation()}/messages`,
        body: json({ content: `Question ${state.tag}-${n}: what should I know about topic ${n}?`, mode: 'sync' }),
      };
    case 'postTool':
      // The fake model answers `CALL <tool> <json>` with that tool call, then the tool's result in words: two model calls.
      return {
        operation: 'post message (tool call)',
        method: 'POST',
        path: `/v1/conversations/${conversation()}/messages`,
        body: json({ content: `CALL calculator {"expression":"${n}*3+${state.tag.length}"}`, mode: 'sync' }),
      };
    case 'stream':
      // Server-sent events: the latency is the whole stream, up to the last event.
      return {
        operation: 'post message (stream)',
        method: 'POST',
        path: `/v1/conversations/${conversation()}/messages`,
        body: json({ content: `Streamed question ${state.tag}-${n}: tell me about topic ${n}.`, mode: 'stream' }),
      };
    case 'repeat':
      return { operation: 'create conversation', method: 'POST', path: '/v1/conversations', body: json({ title: `Quick question ${state.tag}-${n}` }) };
    case 'async':
      return {
        operation: 'post message async',
        method: 'POST',
        path: `/v1/conversations/${conversation()}/messages`,
        body: json({ content: `Background question ${state.tag}-${n}: please summarise topic ${n}.`, mode: 'async' }),
      };
    case 'tool': {
      const expression = r() < repeatShare ? oneOf(POPULAR_EXPRESSIONS, r) : `${n}*7+${Math.floor(r() * 1000)}`;
      return { operation: 'tool invoke (sync)', method: 'POST', path: '/v1/tools/calculator/invoke', body: json({ arguments: { expression } }) };
    }
    case 'asyncTool':
      return {
        operation: 'tool invoke async',
        method: 'POST',
        path: '/v1/tools/calculator/invoke',
        body: json({ arguments: { expression: `${n}+${Math.floor(r() * 1000)}` }, mode: 'async' }),
      };
  }
}

/** Which answer each operation counts as a success (anything else is reported as non-2xx or unexpected). */
export const EXPECTED_STATUS: Record<OperationName, number> = {
  'list conversations': 200,
  'get conversation': 200,
  'read message page': 200,
  'post message (new prompt)': 201,
  'post message (tool call)': 201,
  'post message (stream)': 200,
  'create conversation': 201,
  'post message (repeated prompt)': 201,
  'post message async': 202,
  'tool invoke (sync)': 200,
  'tool invoke async': 202,
};

/** Operations that wait for a model answer in the request (the rest never call the model). */
export const MODEL_OPERATIONS: ReadonlySet<OperationName> = new Set(['post message (new prompt)', 'post message (tool call)', 'post message (stream)', 'post message (repeated prompt)']);
