// The IPC channel names, shared by main (ipc.ts) and the preload (bridge.ts). No imports: the
// sandboxed preload bundle must not pull in Node code.
import type { ApiError } from '../emulator/src/api.ts';

/** One channel per API method: `lab:start`, `lab:consoleInput`, … */
export const CHANNEL_PREFIX = 'lab:';
/** Backend events, main → window. */
export const EVENT_CHANNEL = 'lab:event';
/**
 * A page attaches itself as a client of the backend (before any other call): it then gets the
 * status and the console's recent history on EVENT_CHANNEL. A reloaded page attaches again, which
 * replaces its window's previous client.
 */
export const CONNECT_CHANNEL = 'lab:connect';

/** What every handler answers (an Error would lose its code crossing IPC). */
export type IpcReply = { ok: true; result: unknown } | { ok: false; error: ApiError };
