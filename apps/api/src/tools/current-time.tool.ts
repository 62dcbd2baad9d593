import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock.js';
import { ToolInputError, type Tool } from './tool.js';

@Injectable()
export class CurrentTimeTool implements Tool {
  readonly name = 'current_time';
  readonly description = 'The current date and time, in UTC or in an IANA time zone such as "Europe/Paris".';
  readonly parameters = {
    type: 'object',
    properties: { timezone: { type: 'string', minLength: 1, maxLength: 64, description: 'IANA time zone; default UTC' } },
    additionalProperties: false,
  };
  // Its answer changes every second: caching it would be wrong.
  readonly cacheable = false;
  readonly ttlSeconds = null;

  constructor(@Inject(CLOCK) private readonly clock: Clock) {}

  execute(args: Record<string, unknown>): Promise<{ timezone: string; iso: string; local: string; unixMs: number }> {
    const timezone = typeof args['timezone'] === 'string' ? args['timezone'] : 'UTC';
    const now = this.clock.now();
    let local: string;
    try {
      local = new Intl.DateTimeFormat('en-CA', {
        timeZone: timezone,
        dateStyle: 'short',
        timeStyle: 'medium',
        hourCycle: 'h23',
      }).format(now);
    } catch {
      throw new ToolInputError(`timezone: "${timezone}" is not an IANA time zone`);
    }
    return Promise.resolve({ timezone, iso: now.toISOString(), local, unixMs: now.getTime() });
  }
}
