// Console output reaches xterm at most once per frame: many small chunks become one write.

/** Collects chunks and hands them over once per animation frame (≈ 16 ms). */
export class OutputBatcher {
  private chunks: string[] = [];
  private scheduled = false;

  constructor(
    private readonly flush: (data: string) => void,
    private readonly schedule: (fn: () => void) => void = (fn) => requestAnimationFrame(() => fn()),
  ) {}

  push(data: string): void {
    this.chunks.push(data);
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      const data = this.chunks.join('');
      this.chunks = [];
      if (data) this.flush(data);
    });
  }
}
