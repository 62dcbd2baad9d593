import { PerformanceIntegrationService } from '@chat/integration';
import { Inject, Injectable } from '@nestjs/common';
import { Ajv, type ValidateFunction } from 'ajv';
import type { OwnerId } from '../auth/owner.js';
import { AppError, invalidInput, notFound } from '../common/app-error.js';
import type { ModelToolCall, ModelToolSpec } from '../ai/model-provider.js';
import { TOOLS, ToolInputError, type Tool } from './tool.js';

export interface ToolInvocation {
  result: unknown;
  cached: boolean;
}

/** The tool registry: lists tools, checks arguments against each tool's JSON Schema, runs them. */
@Injectable()
export class ToolService {
  private readonly tools = new Map<string, { tool: Tool; validate: ValidateFunction }>();

  constructor(
    @Inject(TOOLS) tools: Tool[],
    private readonly performance: PerformanceIntegrationService,
  ) {
    const ajv = new Ajv({ allErrors: false, useDefaults: true, strict: true });
    for (const tool of tools) {
      if (this.tools.has(tool.name)) throw new Error(`two tools are named "${tool.name}"`);
      this.tools.set(tool.name, { tool, validate: ajv.compile(tool.parameters) });
    }
  }

  list(): Tool[] {
    return [...this.tools.values()].map((t) => t.tool);
  }

  /** The tools as the model sees them. */
  specs(): ModelToolSpec[] {
    return this.list().map((t) => ({ name: t.name, description: t.description, parameters: t.parameters }));
  }

  /**
   * Checks a call before it is run (or queued): an unknown tool is a 404, arguments that fail the
   * tool's schema a 400 naming the field. Returns the arguments with the schema's defaults filled in.
   */
  check(name: string, args: unknown): { tool: Tool; input: Record<string, unknown> } {
    const entry = this.tools.get(name);
    if (entry === undefined) throw notFound(`Tool "${name}"`);
    // Ajv fills defaults in place: work on a copy so the caller's object is left as it was.
    const input: unknown = structuredClone(args);
    if (!entry.validate(input)) {
      const [first] = entry.validate.errors ?? [];
      const where = first === undefined ? 'arguments' : `arguments${first.instancePath.replaceAll('/', '.')}`;
      const extra = first?.keyword === 'additionalProperties' ? ` (${String(first.params['additionalProperty'])})` : '';
      throw invalidInput(`${where} ${first?.message ?? 'are invalid'}${extra}`);
    }
    return { tool: entry.tool, input: input as Record<string, unknown> };
  }

  /** Runs a tool for a caller; bad arguments are a 400 naming the field, an unknown tool a 404. */
  async invoke(owner: OwnerId, name: string, args: unknown): Promise<ToolInvocation> {
    const { tool, input } = this.check(name, args);
    try {
      // Only tools that declare themselves cacheable are; their failures never are.
      const { value, cached } = await this.performance.toolResult(tool, input, () => tool.execute(input, { owner }));
      return { result: value, cached };
    } catch (error) {
      if (error instanceof ToolInputError) throw invalidInput(error.message);
      throw error;
    }
  }

  /**
   * Runs a call the model asked for and returns the tool message content. Failures the model can
   * react to (unknown tool, bad arguments, bad input) become `{ "error": ... }` for the model to read;
   * infrastructure failures propagate.
   */
  async runModelCall(owner: OwnerId, call: ModelToolCall): Promise<string> {
    let args: unknown;
    try {
      args = JSON.parse(call.function.arguments || '{}');
    } catch {
      return JSON.stringify({ error: 'arguments are not valid JSON' });
    }
    try {
      const { result } = await this.invoke(owner, call.function.name, args);
      return JSON.stringify(result);
    } catch (error) {
      if (error instanceof AppError && (error.code === 'invalid_input' || error.code === 'not_found')) {
        return JSON.stringify({ error: error.message });
      }
      throw error;
    }
  }
}
