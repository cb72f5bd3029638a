// Console output reaches xterm at most once per frame: many small chunks become one write.

/**
 * Collects chunks and hands them over once per animation frame (≈ 16 ms), with how many of their
 * characters are the guest's (to acknowledge); the lab's own notes in between are not.
 */
export class OutputBatcher {
  private chunks: string[] = [];
  private guestChars = 0;
  private scheduled = false;

  constructor(
    private readonly flush: (data: string, guestChars: number) => void,
    private readonly schedule: (fn: () => void) => void = (fn) => requestAnimationFrame(() => fn()),
  ) {}

  push(data: string, guestChars = data.length): void {
    this.chunks.push(data);
    this.guestChars += guestChars;
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      const data = this.chunks.join('');
      const guestChars = this.guestChars;
      this.chunks = [];
      this.guestChars = 0;
      if (data) this.flush(data, guestChars);
    });
  }
}
