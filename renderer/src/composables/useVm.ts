// The one store: the machine's status as the backend reports it, and the actions on it.
import { reactive } from 'vue';
import type {
  BootStep,
  CrashInfo,
  LabApi,
  LabEvent,
  ModuleName,
  SystemReport,
  VmStatus,
} from '../../../emulator/src/api.ts';
import type { LabConnection } from '../api/transport.ts';

export interface VmStore {
  status: VmStatus;
  /** When `status` arrived (performance.now()), so uptime can tick without asking again. */
  statusAt: number;
  crash: CrashInfo | null;
  /** What is being done right now ("Starting", "Loading p3"), or null. */
  busy: string | null;
  /** The last action's error, or null. */
  error: string | null;
  /** Set when the backend went away (browser mode: the server stopped). */
  disconnected: string | null;
  /** What the lab found on this host (the System page), once asked for. */
  system: SystemReport | null;
  systemBusy: 'loading' | 'probing' | null;
  systemError: string | null;
}

/** The steps of a boot in the order they happen (module-loaded only when one is loaded at boot). */
export const BOOT_STEPS: BootStep[] = ['qemu-started', 'kernel-up', 'init', 'agent-ready'];

const STEP_LABELS: Record<string, string> = {
  'qemu-started': 'QEMU started',
  'kernel-up': 'kernel up',
  init: 'init',
  'agent-ready': 'agent ready',
  'module-loaded': 'module loaded',
};

export function stepLabel(step: string): string {
  return STEP_LABELS[step] ?? step;
}

export function formatUptime(ms: number | null): string {
  if (ms === null) return '—';
  const s = Math.floor(ms / 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${Math.floor(s / 3600)}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
}

/** Uptime now, from the last status and how long ago it came. */
export function currentUptime(status: VmStatus, statusAt: number, now: number): number | null {
  if (status.uptimeMs === null || status.state !== 'ready') return status.uptimeMs;
  return status.uptimeMs + Math.max(0, now - statusAt);
}

export const STOPPED: VmStatus = { state: 'stopped', bootSteps: [], uptimeMs: null, loadedModule: 'none' };

export function useVm(connection: LabConnection, clock: () => number = () => performance.now()) {
  const store = reactive<VmStore>({
    status: STOPPED,
    statusAt: clock(),
    crash: null,
    busy: null,
    error: null,
    disconnected: null,
    system: null,
    systemBusy: null,
    systemError: null,
  });
  const api: LabApi = connection.api;

  function setStatus(status: VmStatus) {
    store.status = status;
    store.statusAt = clock();
    if (status.state === 'crashed') store.crash = status.crash ?? store.crash;
    else store.crash = null;
  }

  connection.onEvent((event: LabEvent) => {
    if (event.type === 'status') setStatus(event.status);
    else if (event.type === 'crash') store.crash = event.crash;
  });
  connection.onClose?.((reason) => {
    store.disconnected = reason;
  });

  async function run(label: string, action: () => Promise<VmStatus>): Promise<void> {
    store.busy = label;
    store.error = null;
    try {
      setStatus(await action());
    } catch (err) {
      store.error = (err as Error).message;
    } finally {
      store.busy = null;
    }
  }

  async function askSystem(kind: 'loading' | 'probing', query: () => Promise<SystemReport>) {
    if (store.systemBusy) return; // one question at a time; its answer is the newest
    store.systemBusy = kind;
    store.systemError = null;
    try {
      store.system = await query();
    } catch (err) {
      store.systemError = (err as Error).message;
    } finally {
      store.systemBusy = null;
    }
  }

  return {
    store,
    refresh: async () => setStatus(await api.status()),
    loadSystem: () => askSystem('loading', () => api.systemReport()),
    /** Probes the accelerator again; the report then shows the new verdict. */
    probeAgain: () => askSystem('probing', () => api.probeAccelerator()),
    start: () => run('Starting', () => api.start()),
    stop: () => run('Stopping', () => api.stop()),
    reset: () => run('Resetting', () => api.reset()),
    /** Saves the whole machine and stops it; a refusal (programs using /root/work) is the error. */
    suspend: () => run('Suspending', () => api.suspend()),
    resume: () => run('Resuming', () => api.resume()),
    loadModule: (m: ModuleName) => run(m === 'none' ? 'Unloading' : `Loading ${m}`, () => api.loadModule(m)),
  };
}

export type LabVm = ReturnType<typeof useVm>;
