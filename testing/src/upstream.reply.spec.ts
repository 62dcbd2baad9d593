import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { completionObject, defaultReply, newReplyContext, splitTokens, streamPlan } from './upstream.reply.js';

const tools = [{ type: 'function', function: { name: 'calculator', parameters: {} } }];

describe('splitTokens', () => {
  it('joins back to the exact text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (text) => splitTokens(text).join('') === text));
  });
});

describe('defaultReply', () => {
  it('echoes the last user message', () => {
    const reply = defaultReply({ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'hi' }] });
    expect(reply).toEqual({ content: 'echo: hi' });
  });

  it('reads text content parts', () => {
    expect(defaultReply({ messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }, { type: 'text', text: 'y' }] }] })).toEqual({ content: 'echo: xy' });
  });

  it('answers CALL <tool> <json> with a tool call only when tools are offered', () => {
    const messages = [{ role: 'user', content: 'please CALL calculator {"expression":"1+1"}' }];
    expect(defaultReply({ messages, tools })).toEqual({ toolCalls: [{ name: 'calculator', arguments: '{"expression":"1+1"}' }] });
    expect(defaultReply({ messages })).toEqual({ content: `echo: ${messages[0]?.content}` });
  });

  it('acknowledges a tool result', () => {
    expect(defaultReply({ messages: [{ role: 'user', content: 'q' }, { role: 'tool', content: '{"value":2}' }], tools })).toEqual({ content: 'tool said: {"value":2}' });
  });

  it('survives a body without messages', () => {
    expect(defaultReply({})).toEqual({ content: 'echo: ' });
  });
});

describe('completion shapes', () => {
  const ctx = newReplyContext('m');

  it('reports null content and finish_reason tool_calls for a pure tool call', () => {
    const body = completionObject({ toolCalls: [{ name: 't', arguments: '{}' }] }, ctx, 1) as any;
    expect(body.choices[0].message.content).toBeNull();
    expect(body.choices[0].finish_reason).toBe('tool_calls');
    expect(body.choices[0].message.tool_calls[0]).toMatchObject({ type: 'function', function: { name: 't', arguments: '{}' } });
  });

  it('streams tool-call arguments in fragments that concatenate to the original', () => {
    const args = '{"expression":"12*(3+4)","note":"a longer argument"}';
    const plan = streamPlan({ toolCalls: [{ name: 'calculator', arguments: args }] }, ctx, 1) as any;
    const fragments = plan.tokens.map((c: any) => c.choices[0].delta.tool_calls[0].function.arguments).join('');
    expect(fragments).toBe(args);
    expect(plan.tokens[0].choices[0].delta.tool_calls[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'calculator' } });
    expect(plan.finish.choices[0].finish_reason).toBe('tool_calls');
  });
});
