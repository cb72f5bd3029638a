// The Kernel log tab: the kernel's console as the host read it, asked for again every 2 s while
// the tab is shown (a question to the backend only: nothing runs in the guest), with the lines of
// an oops, a BUG or a WARNING marked.
import { reactive } from 'vue';
import type { LabApi } from '../../../emulator/src/api.ts';

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
}

/** The log's text as lines (the kernel's \r\n endings removed), each with its kind. */
export function logLines(text: string): LogLine[] {
  const lines = text.replace(/\r/g, '').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((line) => ({ text: line, kind: classifyLogLine(line) }));
}

export const KERNEL_LOG_POLL_MS = 2000;

export function useKernelLog(api: LabApi) {
  const state = reactive({ lines: [] as LogLine[], error: null as string | null, text: '' });
  let timer: ReturnType<typeof setInterval> | undefined;
  let asking = false;

  async function refresh() {
    if (asking) return;
    asking = true;
    try {
      const text = await api.kernelLog();
      state.error = null;
      if (text !== state.text) {
        state.text = text;
        state.lines = logLines(text);
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
