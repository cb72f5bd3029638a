// A machine state the renderer's node tests share (transport.test.ts, store.test.ts).
import type { VmStatus } from '../../emulator/src/api.ts';

/** A ready machine, p2 loaded, up 5 s. */
export const readyP2: VmStatus = { state: 'ready', bootSteps: [], uptimeMs: 5000, loadedModule: 'p2' };
