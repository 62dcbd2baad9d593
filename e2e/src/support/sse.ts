/** Server-sent events, as the API writes them: `data: <json>` blocks separated by a blank line. */

/** The `data` payloads of an SSE body, in order (multi-line data joined with `\n`). */
export function sseData(text: string): string[] {
  const out: string[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const data = block
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).replace(/^ /, ''));
    if (data.length > 0) out.push(data.join('\n'));
  }
  return out;
}

/** The JSON events of an SSE body; a `[DONE]` sentinel is returned as the string itself. */
export function sseEvents<T>(text: string): (T | '[DONE]')[] {
  return sseData(text).map((data) => (data === '[DONE]' ? '[DONE]' : (JSON.parse(data) as T)));
}
