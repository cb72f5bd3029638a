// Finds kernel oopses and panics in the console stream and keeps the log around them.
// Only lines the kernel printed count: with CONFIG_PRINTK_TIME each starts with "[ seconds]",
// so a student who types `echo "Kernel panic"` at the shell does not crash the lab.
import { EventEmitter } from 'node:events';
import type { CrashInfo } from './api.ts';

const KEEP_BYTES = 256 * 1024;
/** How long to keep collecting after the first crash line: the backtrace follows it. */
const SETTLE_MS = 400;
const CONTEXT_LINES_BEFORE = 5;

// eslint-disable-next-line no-control-regex -- ESC starts the terminal sequences we strip
const ESCAPE_SEQUENCE = /\x1b\[[0-9;?]*[A-Za-z]/g;
const kernelLine = /^\[\s*\d+\.\d+\]\s?(.*)$/;
const patterns: { kind: string; re: RegExp }[] = [
  { kind: 'panic', re: /Kernel panic - not syncing/ },
  { kind: 'oops', re: /^Oops: |general protection fault/ },
  { kind: 'bug', re: /^BUG: / },
];

/** Classifies one console line; exported for unit tests. */
export function classifyConsoleLine(line: string): { kind: string; headline: string } | null {
  // The serial line ends lines with \r\r\n, and the shell may have left escape sequences and a
  // \r before the kernel's text: what a terminal would show is what follows the last \r.
  const shown = line.replace(/\r+$/, '').split('\r').pop()!.replace(ESCAPE_SEQUENCE, '');
  const m = kernelLine.exec(shown);
  if (!m) return null;
  const text = m[1] ?? '';
  for (const { kind, re } of patterns) {
    if (re.test(text)) return { kind, headline: text.trim() };
  }
  return null;
}

export class CrashDetector extends EventEmitter<{ crash: [CrashInfo] }> {
  private buffer = '';
  private partial = '';
  private found?: { kind: string; headline: string; offset: number };
  private timer?: NodeJS.Timeout;
  private emitted = false;

  reset(): void {
    this.buffer = '';
    this.partial = '';
    this.found = undefined;
    this.emitted = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The last KEEP_BYTES of console output. */
  tail(): string {
    return this.buffer;
  }

  feed(data: string): void {
    this.buffer += data;
    if (this.buffer.length > KEEP_BYTES) {
      const cut = this.buffer.length - KEEP_BYTES;
      this.buffer = this.buffer.slice(cut);
      if (this.found) this.found.offset = Math.max(0, this.found.offset - cut);
    }
    // Keep reading while only pvpanic is known: its QMP event can overtake the console text.
    if (this.emitted || (this.found && this.found.kind !== 'pvpanic')) return;
    const lines = (this.partial + data).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      const hit = classifyConsoleLine(line);
      if (hit) {
        const waiting = this.found !== undefined;
        this.found = { ...hit, offset: this.lineStart(line) };
        if (!waiting) this.timer = setTimeout(() => this.finish(), SETTLE_MS);
        return;
      }
    }
  }

  /** QEMU reported GUEST_PANICKED (pvpanic): the kernel has panicked even if the console said nothing. */
  pvpanic(): void {
    if (this.emitted) return;
    if (this.found) return; // the console already showed it; finish() reports it
    this.found = {
      kind: 'pvpanic',
      headline: 'guest reported a panic (pvpanic)',
      offset: this.buffer.length,
    };
    this.timer = setTimeout(() => this.finish(), SETTLE_MS);
  }

  private lineStart(line: string): number {
    const at = this.buffer.lastIndexOf(line);
    if (at < 0) return Math.max(0, this.buffer.length - 4096);
    let start = at;
    for (let i = 0; i < CONTEXT_LINES_BEFORE && start > 0; i++) {
      start = this.buffer.lastIndexOf('\n', start - 2) + 1;
    }
    return start;
  }

  private finish(): void {
    const found = this.found;
    if (!found || this.emitted) return;
    this.emitted = true;
    const log = found.kind === 'pvpanic' ? this.buffer.slice(-16384) : this.buffer.slice(found.offset);
    this.emit('crash', {
      kind: found.kind,
      headline: found.headline,
      log: log.replace(/\r/g, ''),
      at: new Date().toISOString(),
    });
  }
}
