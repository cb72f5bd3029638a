// The Kernel log tab: the kernel's console as the host read it, asked for again every 2 s while
// the tab is shown (a question to the backend only: nothing runs in the guest), with the lines of
// an oops, a BUG or a WARNING marked. A line naming a module's `function+0xoff/0xlen` is resolved
// once to file:line in the guest (faddr2line on the module's .ko).
import { reactive } from 'vue';
import type { LabApi, SourceLocation } from '../../../emulator/src/api.ts';
import { moduleAddressOf, type ModuleAddress } from '../../../emulator/src/oops-address.ts';

export type LogLineKind = 'oops' | 'warning' | null;

/** What a kernel log line is: part of an oops/BUG/panic report, a warning, or neither. */
export function classifyLogLine(line: string): LogLineKind {
  if (/\b(Oops|BUG:|Kernel panic|general protection fault|Call Trace:|RIP: |unable to handle)/i.test(line)) {
    return 'oops';
  }
  if (/\bWARNING:|\bwarn(ing)?\b/i.test(line)) return 'warning';
  return null;
}

export interface LogLine {
  text: string;
  kind: LogLineKind;
  /** The module function offset the line names (an oops's RIP or call-trace line), or null. */
  at: ModuleAddress | null;
}

/** A module address's key in the resolved locations. */
export const addressKey = (at: ModuleAddress): string => `${at.module} ${at.symbolOffset}`;

/** What the tab knows of a module address: being resolved, resolved (null: no line), or why not. */
export type Resolution =
  | { state: 'pending' }
  | { state: 'done'; location: SourceLocation | null }
  | { state: 'failed'; error: string };

/** The log's text as lines (the kernel's \r\n endings removed), each with its kind. */
export function logLines(text: string): LogLine[] {
  const lines = text.replace(/\r/g, '').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((line) => ({ text: line, kind: classifyLogLine(line), at: moduleAddressOf(line) }));
}

export const KERNEL_LOG_POLL_MS = 2000;

export function useKernelLog(api: LabApi) {
  const state = reactive({
    lines: [] as LogLine[],
    error: null as string | null,
    text: '',
    /** By addressKey: each module address in the log, resolved once. */
    locations: {} as Record<string, Resolution>,
  });
  let timer: ReturnType<typeof setInterval> | undefined;
  let asking = false;

  function resolve(at: ModuleAddress) {
    const key = addressKey(at);
    if (state.locations[key]) return;
    state.locations[key] = { state: 'pending' };
    api.resolveKernelAddress(at.module, at.symbolOffset).then(
      (location) => (state.locations[key] = { state: 'done', location }),
      (err: Error) => (state.locations[key] = { state: 'failed', error: err.message }),
    );
  }

  async function refresh() {
    if (asking) return;
    asking = true;
    try {
      const text = await api.kernelLog();
      state.error = null;
      if (text !== state.text) {
        state.text = text;
        state.lines = logLines(text);
        for (const line of state.lines) if (line.at) resolve(line.at);
      }
    } catch (err) {
      state.error = (err as Error).message;
    } finally {
      asking = false;
    }
  }

  return {
    state,
    refresh,
    /** Follows the log while the tab is shown. */
    follow(on: boolean) {
      clearInterval(timer);
      timer = undefined;
      if (on) {
        void refresh();
        timer = setInterval(() => void refresh(), KERNEL_LOG_POLL_MS);
      }
    },
  };
}

export type KernelLog = ReturnType<typeof useKernelLog>;
