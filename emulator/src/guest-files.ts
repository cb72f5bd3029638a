// The page walk and /proc reads through the guest agent's file calls (guest-file-open/-write/
// -seek/-read), so no process is started in the guest: under TCG each one costs tens of
// milliseconds, an agent round trip well under one. The walk speaks lab_introspect's debugfs
// protocol as lab-ptwalk does: write "PID ADDR" and read the report back on the same open file.
import type { LabSession } from './session.ts';

export type AgentSession = Pick<LabSession, 'agentRequest'>;

export const PTWALK_FILE = '/sys/kernel/debug/farfetch_lab/ptwalk';

export class GuestFileError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'GuestFileError';
  }
}

interface ReadReply {
  count: number;
  'buf-b64': string;
  eof: boolean;
}

async function withFile<T>(
  session: AgentSession,
  path: string,
  mode: string,
  use: (handle: number) => Promise<T>,
): Promise<T> {
  const handle = await session.agentRequest<number>('guest-file-open', { path, mode });
  try {
    return await use(handle);
  } finally {
    await session.agentRequest('guest-file-close', { handle }).catch(() => undefined);
  }
}

async function read(session: AgentSession, handle: number, count: number): Promise<ReadReply> {
  return session.agentRequest<ReadReply>('guest-file-read', { handle, count });
}

/** A whole (small) file of the guest, e.g. /proc/PID/maps. */
export async function readGuestFile(session: AgentSession, path: string, limit = 1 << 20): Promise<string> {
  return (await readGuestBytes(session, path, limit)).toString();
}

/** A whole (small) file of the guest as bytes (a .ko, a sysfs binary attribute), up to `limit`. */
export async function readGuestBytes(session: AgentSession, path: string, limit = 1 << 20): Promise<Buffer> {
  return withFile(session, path, 'r', async (handle) => {
    const parts: Buffer[] = [];
    let total = 0;
    for (;;) {
      const reply = await read(session, handle, 64 * 1024);
      parts.push(Buffer.from(reply['buf-b64'], 'base64'));
      total += reply.count;
      if (reply.eof || reply.count === 0 || total >= limit) return Buffer.concat(parts);
    }
  });
}

/** The 64-bit /proc/PID/pagemap entry of the page of `addr`, as 16 hex digits. */
export async function readPagemapEntry(session: AgentSession, pid: number, addr: bigint): Promise<string> {
  return withFile(session, `/proc/${pid}/pagemap`, 'r', async (handle) => {
    await session.agentRequest('guest-file-seek', {
      handle,
      offset: Number((addr >> 12n) * 8n),
      whence: 'set',
    });
    const bytes = Buffer.from((await read(session, handle, 8))['buf-b64'], 'base64');
    if (bytes.length !== 8)
      throw new GuestFileError('EGUEST', `/proc/${pid}/pagemap gave no entry for 0x${addr.toString(16)}`);
    return bytes.readBigUInt64LE(0).toString(16).padStart(16, '0');
  });
}

/** What the agent's error says about a refused walk, in lab-ptwalk's words. */
export function walkRefusal(message: string, pid: number, addr: string): string {
  if (/No such process/i.test(message)) return `lab-ptwalk: no process ${pid} with an address space`;
  if (/Bad address/i.test(message))
    return `lab-ptwalk: ${addr} is not a user-space address of process ${pid}`;
  if (/No such file/i.test(message))
    return 'lab-ptwalk: lab_introspect is not loaded: modprobe lab_introspect';
  return `lab-ptwalk: ${message}`;
}

/** lab_introspect's JSON report of the walk of `addr` in `pid`. */
export async function ptwalkReport(session: AgentSession, pid: number, addr: string): Promise<string> {
  try {
    return await withFile(session, PTWALK_FILE, 'r+', async (handle) => {
      const request = Buffer.from(`${pid} ${addr}\n`).toString('base64');
      await session.agentRequest('guest-file-write', { handle, 'buf-b64': request });
      return Buffer.from((await read(session, handle, 4096))['buf-b64'], 'base64').toString();
    });
  } catch (err) {
    throw new GuestFileError('EGUEST', walkRefusal((err as Error).message, pid, addr));
  }
}
