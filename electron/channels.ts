// The IPC channel names, shared by main (ipc.ts) and the preload (bridge.ts). No imports: the
// sandboxed preload bundle must not pull in Node code.
import type { ApiError } from '../emulator/src/api.ts';

/** One channel per API method: `lab:start`, `lab:consoleInput`, … */
export const CHANNEL_PREFIX = 'lab:';
/** Backend events, main → window. */
export const EVENT_CHANNEL = 'lab:event';

/** What every handler answers (an Error would lose its code crossing IPC). */
export type IpcReply = { ok: true; result: unknown } | { ok: false; error: ApiError };
