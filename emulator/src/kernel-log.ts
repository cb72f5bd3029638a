// KernelLogListener: the host end of the guest's kernel-only console (hvc0, a virtio console port).
//
//   listen() ──QEMU connects──▶ connected ──QEMU closes its end──▶ ended
//      │                            │                               │
//      └────────────── close() (any time; idempotent) ──────────────┴──▶ closed
//
// Over a unix socket QEMU is the client (see clientSocketChardev in qemu-args.ts): the socket
// must be listening before QEMU is spawned, so that nothing the kernel prints at the start of a
// boot is lost. One listener serves one boot: it accepts QEMU's connection and no other, and
// stops listening as soon as it has it, so no other process can join the channel afterwards.
// Over a pipe (the Windows transport) QEMU is the server and the host opens the pipe
// (qemu-pipe.ts); attach() then starts in `connected`.
//
// What this channel is worth: only the kernel writes to hvc0 (init removes the device node
// once booted). A root user in the guest can still write kernel messages of their own (by
// recreating the node, or through /dev/kmsg); that fools only their own lab, on purpose. The
// socket lives in the session's private folder; a Windows pipe takes one client, the lab.
import { EventEmitter } from 'node:events';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { SocketEndpoint } from './qemu-args.ts';

interface KernelLogEvents {
  /** Text the kernel printed, decoded as UTF-8 (a character split across reads is kept whole). */
  data: [string];
  /** QEMU closed its end (it exited). Emitted once, never after close(). */
  end: [];
}

export class KernelLogListener extends EventEmitter<KernelLogEvents> {
  private connection?: Duplex;
  private closing?: Promise<void>;

  private constructor(
    /** The unix socket listening for QEMU; none for a pipe, which the host opens. */
    private readonly server: net.Server | undefined,
    /** The endpoint to give QEMU (QemuConfig.kernelLog). */
    readonly endpoint: SocketEndpoint,
  ) {
    super();
    server?.on('connection', (socket) => this.accept(socket));
    // Once listening, a failed accept (e.g. out of file descriptors) only means QEMU cannot
    // connect, which QEMU's exit reports; it must not throw in the event loop.
    server?.on('error', () => undefined);
  }

  /** Listens on a unix socket path (its folder must exist and the path must not). */
  static async listen(endpoint: { kind: 'unix'; path: string }): Promise<KernelLogListener> {
    const server = net.createServer({ allowHalfOpen: false });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(
          new Error(`cannot listen for the kernel log on ${endpoint.path}: ${err.message}`, { cause: err }),
        );
      });
      server.listen(endpoint.path, resolve);
    });
    return new KernelLogListener(server, { kind: 'unix', path: endpoint.path });
  }

  /** The kernel log over a pipe the host has opened already (qemu-pipe.ts openQemuPipe). */
  static attach(stream: Duplex, endpoint: { kind: 'pipe'; path: string }): KernelLogListener {
    const listener = new KernelLogListener(undefined, endpoint);
    listener.accept(stream);
    return listener;
  }

  /** Stops listening, drops QEMU's connection and removes the socket file. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.connection?.destroy();
      this.connection = undefined;
      await new Promise<void>((resolve) => {
        if (this.server?.listening) this.server.close(() => resolve());
        else resolve();
      });
      if (this.endpoint.kind === 'unix') await rm(this.endpoint.path, { force: true });
    })();
    return this.closing;
  }

  private accept(socket: Duplex): void {
    if (this.connection || this.closing) {
      socket.destroy();
      return;
    }
    this.connection = socket;
    // QEMU's connection is the only one this boot gets: nobody else may join the channel.
    this.server?.close();
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      if (text === '') return;
      this.emit('data', text);
    });
    // A reset from QEMU's side (it was killed) ends the channel like a clean close does.
    socket.on('error', () => undefined);
    socket.once('close', () => {
      if (this.connection !== socket) return; // close() dropped it
      this.connection = undefined;
      this.emit('end');
    });
  }
}
