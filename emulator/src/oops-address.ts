// Kernel log lines that name a place in a module (`RIP: 0010:null_write+0x5/0x10 [lab_crash]`, or a
// call-trace line ` null_write+0x5/0x10 [lab_crash]`), and faddr2line's answer for one, as data.
// Pure (no Node imports): the renderer finds the lines with it, the backend reads the answer.
import type { SourceLocation } from './api.ts';

/** A function offset in a module, as an oops prints it. */
export interface ModuleAddress {
  module: string;
  /** `function+0xoff/0xlen` (the length as printed; faddr2line uses it to tell duplicates apart). */
  symbolOffset: string;
}

/** A module's name as the kernel prints it (and as /proc/modules lists it). */
export const MODULE_NAME = /^[A-Za-z0-9_-]{1,56}$/;
/** `function+0xoff` or `function+0xoff/0xlen`, as an oops prints it. */
export const SYMBOL_OFFSET = /^[A-Za-z_][A-Za-z0-9_.]{0,127}\+0x[0-9a-f]{1,8}(\/0x[0-9a-f]{1,8})?$/;

// After `RIP: 0010:`, or at the start of a call-trace line (after the timestamp, and `? ` when
// the unwinder is unsure of the frame): the symbol, its offset and length, then `[module]`.
const IN_MODULE =
  /(?:RIP: [0-9a-f]{4}:|^(?:\[\s*\d+\.\d+\])?\s+(?:\? )?)([A-Za-z_][A-Za-z0-9_.]{0,127}\+0x[0-9a-f]{1,8}\/0x[0-9a-f]{1,8}) \[([A-Za-z0-9_-]{1,56})\]/;

/** The module function offset a log line names, or null (not an oops line, or the core kernel's). */
export function moduleAddressOf(line: string): ModuleAddress | null {
  const m = IN_MODULE.exec(line);
  return m ? { symbolOffset: m[1]!, module: m[2]! } : null;
}

/**
 * faddr2line's output for one `function+off/len` on `ko` → where it is. Its first "at" line is
 * the innermost one (an inlined function's own line, where the instruction really is); a path it
 * prints relative is relative to the .ko's folder. Null when it found no line (no debug info).
 */
export function parseFaddr2line(output: string, ko: string): SourceLocation | null {
  for (const line of output.split('\n')) {
    const m = /^(?:\s*\(inlined by\) )?(\S+) at (.+):(\d+)(?: \(discriminator \d+\))?$/.exec(line.trim());
    if (!m || m[2] === '??') continue;
    const dir = ko.slice(0, ko.lastIndexOf('/') + 1);
    const file = m[2]!.startsWith('/') ? m[2]! : `${dir}${m[2]!.replace(/^\.\//, '')}`;
    return { function: m[1]!, file, line: Number(m[3]), ko };
  }
  return null;
}

/** What the Kernel log tab pastes into the terminal for a location (never run: no newline). */
export function editCommand(location: SourceLocation): string {
  return `nano +${location.line} ${location.file}`;
}
