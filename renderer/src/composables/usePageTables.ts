// The page-table panel's state: the guest's processes, the chosen pid and address, the process's
// mappings, the last walk and the one before it (for the diff), and what went wrong.
import { reactive } from 'vue';
import type { LabApi, Mapping, PageWalkResult, ProcessInfo } from '../../../emulator/src/api.ts';
import { parseAddress } from '../../../emulator/src/pagewalk.ts';
import { walkToText } from './walkView.ts';

export interface PageTablesState {
  processes: ProcessInfo[];
  pidText: string;
  addrText: string;
  mappings: Mapping[];
  /** The pid the mappings are of. */
  mappingsPid: number | null;
  result: PageWalkResult | null;
  /** The walk before `result`, when it was of the same pid and address. */
  previous: PageWalkResult | null;
  busy: 'processes' | 'mappings' | 'walk' | null;
  error: string | null;
  /** The panel's own round trip for the last walk (ms), as the student sees it. */
  roundTripMs: number | null;
  /** Walk the last walk's address again every REWALK_MS while the panel is shown. */
  follow: boolean;
}

export const REWALK_MS = 2000;

export function usePageTables(api: LabApi) {
  const state = reactive<PageTablesState>({
    processes: [],
    pidText: '',
    addrText: '',
    mappings: [],
    mappingsPid: null,
    result: null,
    previous: null,
    busy: null,
    error: null,
    roundTripMs: null,
    follow: false,
  });

  async function ask<T>(
    kind: NonNullable<PageTablesState['busy']>,
    query: () => Promise<T>,
  ): Promise<T | null> {
    state.busy = kind;
    state.error = null;
    try {
      return await query();
    } catch (err) {
      state.error = (err as Error).message;
      return null;
    } finally {
      state.busy = null;
    }
  }

  function pid(): number | string {
    const text = state.pidText.trim();
    if (!/^\d{1,7}$/.test(text) || Number(text) < 1)
      return `"${state.pidText}" is not a pid: type a process number, e.g. 212`;
    return Number(text);
  }

  async function refreshProcesses() {
    const list = await ask('processes', () => api.processes());
    if (list) state.processes = list;
  }

  async function loadMappings(p: number) {
    const maps = await ask('mappings', () => api.mappings(p));
    if (maps) {
      state.mappings = maps;
      state.mappingsPid = p;
    }
  }

  async function choose(p: number) {
    state.pidText = String(p);
    await loadMappings(p);
  }

  async function walk() {
    const p = pid();
    const addr = parseAddress(state.addrText);
    if (typeof p === 'string' || typeof addr === 'string') {
      state.error = typeof p === 'string' ? p : (addr as string);
      return;
    }
    const t0 = performance.now();
    const result = await ask('walk', () => api.pageWalk(p, `0x${addr.toString(16)}`));
    if (!result) return;
    state.roundTripMs = performance.now() - t0;
    const same =
      state.result && state.result.guest.pid === p && state.result.guest.addr === result.guest.addr;
    state.previous = same ? state.result : null;
    state.result = result;
    // The process's maps next to its walk, and the process in the list (one started since it was read).
    if (state.mappingsPid !== p) await loadMappings(p);
    if (!state.processes.some((proc) => proc.pid === p)) await refreshProcesses();
  }

  /** The timer's walk: the last walk's pid and address again, unless a question is under way. */
  async function rewalk() {
    const last = state.result?.guest;
    if (!last || state.busy) return;
    const result = await ask('walk', () => api.pageWalk(last.pid, last.addr));
    if (!result || state.result?.guest.pid !== last.pid || state.result.guest.addr !== last.addr) return;
    state.previous = state.result;
    state.result = result;
  }

  /** Opens the walk of `addr` in `p` (a link clicked in the terminal). */
  async function open(p: number, addr: string) {
    state.pidText = String(p);
    state.addrText = addr;
    await walk();
  }

  return {
    state,
    refreshProcesses,
    choose,
    walk,
    rewalk,
    open,
    exportJson: () => (state.result ? JSON.stringify(state.result, null, 2) + '\n' : ''),
    exportText: () => (state.result ? walkToText(state.result) : ''),
  };
}

export type PageTables = ReturnType<typeof usePageTables>;

/** Offers `text` as a file download (for the exports). */
export function download(name: string, text: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
