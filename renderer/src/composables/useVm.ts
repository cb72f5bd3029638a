// The one store: the machine's status as the backend reports it, and the actions on it.
import { computed, reactive } from 'vue';
import type { CrashInfo, LabApi, LabEvent, ModuleName, VmStatus } from '../../../emulator/src/api.ts';
import type { LabConnection } from '../api/transport.ts';

export interface VmStore {
  status: VmStatus;
  crash: CrashInfo | null;
  busy: string | null;
  error: string | null;
}

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

export function useVm(connection: LabConnection) {
  const store = reactive<VmStore>({
    status: { state: 'stopped', bootSteps: [], uptimeMs: null, loadedModule: 'none' },
    crash: null,
    busy: null,
    error: null,
  });
  const api: LabApi = connection.api;

  connection.onEvent((event: LabEvent) => {
    if (event.type === 'status') {
      store.status = event.status;
      if (event.status.state !== 'crashed') store.crash = null;
      else if (event.status.crash) store.crash = event.status.crash;
    } else if (event.type === 'crash') {
      store.crash = event.crash;
    }
  });

  async function run(label: string, action: () => Promise<VmStatus>): Promise<void> {
    store.busy = label;
    store.error = null;
    try {
      store.status = await action();
    } catch (err) {
      store.error = (err as Error).message;
    } finally {
      store.busy = null;
    }
  }

  return {
    store,
    ready: computed(() => store.status.state === 'ready'),
    refresh: async () => {
      store.status = await api.status();
    },
    start: () => run('Starting', () => api.start()),
    stop: () => run('Stopping', () => api.stop()),
    reset: () => run('Resetting', () => api.reset()),
    loadModule: (m: ModuleName) => run(m === 'none' ? 'Unloading' : `Loading ${m}`, () => api.loadModule(m)),
  };
}
