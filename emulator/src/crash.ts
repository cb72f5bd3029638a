// Finds kernel oopses and panics in the kernel's own log and keeps the log around them.
// It is fed only from the kernel-only console (KernelLogListener, hvc0), never from the
// student's console: there, `printf 'Kernel panic - not syncing'`, `cat` of a saved oops or
// `dmesg` after one print exactly what the kernel prints, timestamp included, and no parser can
// tell them apart. On the kernel's port, each line still has to start with the timestamp
// CONFIG_PRINTK_TIME gives it ("[ seconds]"), so the headline is read from the kernel's text.
import { EventEmitter } from 'node:events';
import type { CrashInfo } from './api.ts';

const KEEP_BYTES = 256 * 1024;
/** How long to keep collecting after the first crash line: the backtrace follows it. */
const SETTLE_MS = 400;
const CONTEXT_LINES_BEFORE = 5;

const kernelLine = /^\[\s*\d+\.\d+\]\s?(.*)$/;
const patterns: { kind: string; re: RegExp }[] = [
  { kind: 'panic', re: /Kernel panic - not syncing/ },
  // Anchored as a whole: "traps: prog[123] general protection fault ip:…" is a user program's #GP
  // (pr_info, a SIGSEGV for the program), not a kernel crash.
  { kind: 'oops', re: /^(Oops: |general protection fault)/ },
  { kind: 'bug', re: /^BUG: / },
];

/** Crash kinds from the least to the most severe. */
const SEVERITY = ['bug', 'oops', 'panic'];

/** Classifies one line of the kernel's log; exported for unit tests. */
export function classifyKernelLine(line: string): { kind: string; headline: string } | null {
  // The kernel's serial console ends lines with \r\n (a tty in between would make it \r\r\n).
  const m = kernelLine.exec(line.replace(/\r+$/, ''));
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

  /** The last KEEP_BYTES of the kernel's log. */
  tail(): string {
    return this.buffer;
  }

  /** Text from the kernel's log, in the order it came, split anywhere. */
  feed(data: string): void {
    this.buffer += data;
    if (this.buffer.length > KEEP_BYTES) {
      const cut = this.buffer.length - KEEP_BYTES;
      this.buffer = this.buffer.slice(cut);
      if (this.found) this.found.offset = Math.max(0, this.found.offset - cut);
    }
    // Keep reading until the report is out: pvpanic's QMP event can overtake the kernel's text,
    // and a report's first line is not always its worst (see note()).
    if (this.emitted) return;
    const lines = (this.partial + data).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      const hit = classifyKernelLine(line);
      if (hit) this.note(hit, line);
    }
  }

  /**
   * The first crash line starts the report and names it; later lines in the same report can
   * only make it worse: "BUG: kernel NULL pointer dereference" followed by "Oops: …" is an oops
   * (the task was killed; a lone BUG: line is a warning-like report), and a panic that follows
   * (e.g. "Fatal exception in interrupt") is a panic, headed by its own line.
   */
  private note(hit: { kind: string; headline: string }, line: string): void {
    const found = this.found;
    if (!found || found.kind === 'pvpanic') {
      this.found = { ...hit, offset: this.lineStart(line) };
      if (!found) this.timer = setTimeout(() => this.finish(), SETTLE_MS);
    } else if (SEVERITY.indexOf(hit.kind) > SEVERITY.indexOf(found.kind)) {
      found.kind = hit.kind;
      if (hit.kind === 'panic') found.headline = hit.headline;
    }
  }

  /** QEMU reported GUEST_PANICKED (pvpanic): the kernel has panicked even if its log says nothing. */
  pvpanic(): void {
    if (this.emitted) return;
    if (this.found) return; // the log already showed it; finish() reports it
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
