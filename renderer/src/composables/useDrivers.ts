// The driver panel's state: the last report from the guest, and the ioctl decoder's input.
import { computed, reactive } from 'vue';
import type { DriverReport, LabApi } from '../../../emulator/src/api.ts';
import { decodeIoctl } from '../../../emulator/src/drivers.ts';

export function useDrivers(api: LabApi) {
  const state = reactive({
    report: null as DriverReport | null,
    busy: false,
    error: null as string | null,
    ioctlText: '',
  });
  const ioctl = computed(() => (state.ioctlText.trim() === '' ? null : decodeIoctl(state.ioctlText)));

  async function refresh() {
    if (state.busy) return;
    state.busy = true;
    state.error = null;
    try {
      state.report = await api.drivers();
    } catch (err) {
      state.error = (err as Error).message;
    } finally {
      state.busy = false;
    }
  }

  return { state, ioctl, refresh };
}

export type Drivers = ReturnType<typeof useDrivers>;

/** The fix's commands as one line to paste (never run for the student: they press Enter). */
export function pasteLine(commands: string[]): string {
  return commands.join(' && ');
}
