import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { Tool, ToolContext } from './tool.js';

export interface MessageSearchHit {
  messageId: string;
  conversationId: string;
  role: string;
  snippet: string;
  createdAt: string;
}

/** Full-text search (PostgreSQL `websearch_to_tsquery` over a GIN-indexed tsvector) in the caller's own messages. */
@Injectable()
export class SearchMessagesTool implements Tool {
  readonly name = 'search_messages';
  readonly description =
    'Searches the text of your own messages (all conversations). Supports "quoted phrases", OR and -excluded words.';
  readonly parameters = {
    type: 'object',
    properties: {
      query: { type: 'string', minLength: 1, maxLength: 200 },
      limit: { type: 'integer', minimum: 1, maximum: 50, default: 10 },
    },
    required: ['query'],
    additionalProperties: false,
  };
  // Results change with every new message.
  readonly cacheable = false;
  readonly ttlSeconds = null;

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async execute(args: Record<string, unknown>, context: ToolContext): Promise<{ items: MessageSearchHit[] }> {
    const limit = typeof args['limit'] === 'number' ? args['limit'] : 10;
    const rows: Array<{ id: string; conversation_id: string; role: string; snippet: string; created_at: Date }> =
      await this.db.query(
        `SELECT m.id, m.conversation_id, m.role, m.created_at,
                ts_headline('english', m.content, q, 'MaxWords=20, MinWords=5, StartSel=«, StopSel=»') AS snippet
           FROM messages m, websearch_to_tsquery('english', $2) q
          WHERE m.user_id = $1 AND m.search_vector @@ q
          ORDER BY ts_rank(m.search_vector, q) DESC, m.seq DESC
          LIMIT $3`,
        [context.owner, String(args['query']), limit],
      );
    return {
      items: rows.map((r) => ({
        messageId: r.id,
        conversationId: r.conversation_id,
        role: r.role,
        snippet: r.snippet,
        createdAt: new Date(r.created_at).toISOString(),
      })),
    };
  }
}
