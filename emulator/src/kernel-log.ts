// KernelLogListener: the host end of the guest's kernel-only console (hvc0, a virtio console port).
//
//   listen() ──QEMU connects──▶ connected ──QEMU closes its end──▶ ended
//      │                            │                               │
//      └────────────── close() (any time; idempotent) ──────────────┴──▶ closed
//
// QEMU is the client (see clientSocketChardev in qemu-args.ts): the socket must be listening
// before QEMU is spawned, so that nothing the kernel prints at the start of a boot is lost.
// One listener serves one boot: it accepts QEMU's connection and no other, and stops listening
// as soon as it has it, so no other process can join the channel afterwards.
//
// What this channel is worth: only the kernel writes to hvc0 (init removes the device node
// once booted). A root user in the guest can still write kernel messages of their own (by
// recreating the node, or through /dev/kmsg); that fools only their own lab, on purpose. On
// Windows (TCP on 127.0.0.1) another local program could connect before QEMU does: QEMU's own
// connection is then refused and it does not start, so that boot fails instead of running on
// beside a forged log. On Linux and macOS the socket lives in the session's private folder.
import { EventEmitter } from 'node:events';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import type { SocketEndpoint } from './qemu-args.ts';

interface KernelLogEvents {
  /** Text the kernel printed, decoded as UTF-8 (a character split across reads is kept whole). */
  data: [string];
  /** QEMU closed its end (it exited). Emitted once, never after close(). */
  end: [];
}

export class KernelLogListener extends EventEmitter<KernelLogEvents> {
  private connection?: net.Socket;
  private closing?: Promise<void>;

  private constructor(
    private readonly server: net.Server,
    /** The endpoint to give QEMU (QemuConfig.kernelLog): for TCP, the port the OS chose. */
    readonly endpoint: SocketEndpoint,
  ) {
    super();
    server.on('connection', (socket) => this.accept(socket));
    // Once listening, a failed accept (e.g. out of file descriptors) only means QEMU cannot
    // connect, which QEMU's exit reports; it must not throw in the event loop.
    server.on('error', () => undefined);
  }

  /**
   * Listens on `endpoint`: a unix socket path (its folder must exist and the path must not), or
   * `{ kind: 'tcp', port }` on 127.0.0.1, where port 0 lets the OS choose (see `endpoint`).
   */
  static async listen(endpoint: SocketEndpoint): Promise<KernelLogListener> {
    const server = net.createServer({ allowHalfOpen: false });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        const where = endpoint.kind === 'unix' ? endpoint.path : `127.0.0.1:${endpoint.port}`;
        reject(new Error(`cannot listen for the kernel log on ${where}: ${err.message}`, { cause: err }));
      });
      if (endpoint.kind === 'unix') server.listen(endpoint.path, resolve);
      else server.listen(endpoint.port, '127.0.0.1', resolve);
    });
    const bound: SocketEndpoint =
      endpoint.kind === 'unix'
        ? { kind: 'unix', path: endpoint.path }
        : { kind: 'tcp', port: (server.address() as net.AddressInfo).port };
    return new KernelLogListener(server, bound);
  }

  /** Stops listening, drops QEMU's connection and removes the socket file. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.connection?.destroy();
      this.connection = undefined;
      await new Promise<void>((resolve) => {
        if (this.server.listening) this.server.close(() => resolve());
        else resolve();
      });
      if (this.endpoint.kind === 'unix') await rm(this.endpoint.path, { force: true });
    })();
    return this.closing;
  }

  private accept(socket: net.Socket): void {
    if (this.connection || this.closing) {
      socket.destroy();
      return;
    }
    this.connection = socket;
    // QEMU's connection is the only one this boot gets: nobody else may join the channel.
    this.server.close();
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
