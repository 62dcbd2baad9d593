/**
 * Keeps the most recent output of a child process. Bounded because a chatty API
 * under a long e2e run or a benchmark would otherwise grow the test process' heap
 * without limit; the start of the log is dropped first since failures show at the end.
 */
export class LogBuffer {
  private chunks: string[] = [];
  private size = 0;
  private droppedChars = 0;

  constructor(private readonly maxChars = 2_000_000) {}

  append(chunk: string): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.maxChars && this.chunks.length > 1) {
      const removed = this.chunks.shift() ?? '';
      this.size -= removed.length;
      this.droppedChars += removed.length;
    }
  }

  toString(): string {
    const text = this.chunks.join('');
    return this.droppedChars > 0 ? `[... ${this.droppedChars} earlier characters dropped ...]\n${text}` : text;
  }
}
