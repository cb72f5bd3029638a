// Which channels a QEMU run talks over, and their names.
//
//   socket: QMP, the guest agent and the kernel log on unix sockets in the run folder, the
//           console on a pty (node-pty) as QEMU's stdio. Linux and macOS, by default.
//   pipe:   all four on QEMU pipe chardevs and no pty at all. Windows, where QEMU has no unix
//           sockets and ConPTY would stand between the guest's serial port and xterm.js. On
//           Linux and macOS the same code path runs over FIFOs (qemu-pipe.ts), which is how it
//           is tested: FARFETCHD_LAB_TRANSPORT=pipe, or the session option `transport`.
// docs/architecture.md ("Windows transport") argues why nobody but the student can use them.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { HostPlatform, SocketEndpoint } from './qemu-args.ts';

export type Transport = 'socket' | 'pipe';

export const TRANSPORTS: readonly Transport[] = ['socket', 'pipe'];

/**
 * The transport for this host: always `pipe` on Windows; elsewhere `socket` unless
 * FARFETCHD_LAB_TRANSPORT (or `requested`) says `pipe`. Throws a one-line Error for a bad value.
 */
export function chooseTransport(
  platform: NodeJS.Platform,
  env: NodeJS.ProcessEnv,
  requested?: Transport,
): Transport {
  const wanted = requested ?? env.FARFETCHD_LAB_TRANSPORT;
  if (wanted !== undefined && wanted !== '' && !TRANSPORTS.includes(wanted as Transport)) {
    throw new Error(
      `FARFETCHD_LAB_TRANSPORT must be socket or pipe (got ${wanted}); unset it for the default`,
    );
  }
  if (platform === 'win32') {
    if (wanted === 'socket') throw new Error('the socket transport does not exist on Windows: use pipe');
    return 'pipe';
  }
  return wanted === 'pipe' ? 'pipe' : 'socket';
}

/** The channels of one QEMU run. `console` is undefined for the pty console. */
export interface ChannelEndpoints {
  qmp: SocketEndpoint;
  agent: SocketEndpoint;
  kernelLog: SocketEndpoint;
  console?: { kind: 'pipe'; path: string };
}

/**
 * Where the channels of a run live. Unix sockets and FIFOs are files in the private run
 * folder. Windows pipes live in one machine-wide namespace that any local user can list, so
 * their names carry 128 random bits: nobody can create one of them before QEMU does (QEMU's
 * CreateNamedPipe would then fail and the boot with it, never talk to an impostor unnoticed:
 * see docs/architecture.md).
 */
export function channelEndpoints(
  transport: Transport,
  runDir: string,
  platform: HostPlatform,
  random: () => string = () => randomBytes(16).toString('hex'),
): ChannelEndpoints {
  if (transport === 'socket') {
    return {
      qmp: { kind: 'unix', path: path.join(runDir, 'qmp.sock') },
      agent: { kind: 'unix', path: path.join(runDir, 'agent.sock') },
      kernelLog: { kind: 'unix', path: path.join(runDir, 'kernel-log.sock') },
    };
  }
  const base =
    platform === 'win32'
      ? (name: string) => `farfetchd-lab-${random()}-${name}`
      : (name: string) => path.join(runDir, name);
  return {
    qmp: { kind: 'pipe', path: base('qmp') },
    agent: { kind: 'pipe', path: base('agent') },
    kernelLog: { kind: 'pipe', path: base('kernel-log') },
    console: { kind: 'pipe', path: base('console') },
  };
}
