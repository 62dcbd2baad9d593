import type { OwnerId } from '../auth/owner.js';

/** Who a tool runs for: tools that read data read only this user's. */
export interface ToolContext {
  owner: OwnerId;
}

export interface Tool {
  readonly name: string;
  readonly description: string;
  /** JSON Schema (draft 2020-12 subset understood by Ajv) of the arguments object. */
  readonly parameters: Record<string, unknown>;
  /** False for tools whose answer depends on time or that have side effects; they are never cached. */
  readonly cacheable: boolean;
  /** How long a result may be reused; null when not cacheable. */
  readonly ttlSeconds: number | null;
  /** Called with arguments that already passed `parameters`. */
  execute(args: Record<string, unknown>, context: ToolContext): Promise<unknown>;
}

/** The caller's arguments make sense to the schema but not to the tool (e.g. `1/0`, an unknown time zone). */
export class ToolInputError extends Error {
  override name = 'ToolInputError';
}

export const TOOLS = Symbol('TOOLS');
