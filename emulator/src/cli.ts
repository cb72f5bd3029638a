// The `farfetchd-lab` command. Its usage is a contract (design.md): tests and outside checks
// call it exactly as written in HELP below.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { ModuleName } from './api.ts';
import { buildImage, loadImage, repoRoot } from './image.ts';
import { isModuleName, moduleNames } from './modules.ts';
import { LabSession, type RunResult } from './session.ts';

export const EXIT_TIMEOUT = 124;
export const EXIT_LAB_FAILURE = 125;
export const EXIT_USAGE = 2;

const HELP: Record<string, string> = {
  main: `Usage: farfetchd-lab <command> [options]

Commands:
  image [--rebuild]                 build or verify the guest image; prints what it built and its hash
  run [--module M]                  boot and attach this terminal to the guest console
  exec [--module M] [--put HOST[:GUEST]]... [--timeout SEC] -- CMD [ARG...]
                                    run one command in a throwaway guest
  serve [--port N]                  browser mode on 127.0.0.1 (prints the URL)
  check --part 1|2|3 [--src DIR]    grade a module: build DIR in the guest, load it, run the checks
  bench [--json]                    run the benchmarks, print a table (or JSON)

M is one of none (default), p1, p2, p3 (the reference modules).
Run \`farfetchd-lab <command> --help\` for a command's details.`,
  image: `Usage: farfetchd-lab image [--rebuild]

Builds the guest (kernel, rootfs, image) into build/out, or verifies that the cached build
matches this checkout's inputs. Prints the image's hash. --rebuild ignores the caches.`,
  run: `Usage: farfetchd-lab run [--module M]

Boots a guest and attaches this terminal to its console. Press Ctrl-] to stop the guest and quit.`,
  exec: `Usage: farfetchd-lab exec [--module M] [--put HOST[:GUEST]]... [--timeout SEC] -- CMD [ARG...]

Boots a throwaway guest, loads module M (none, p1, p2, p3; for p3 also creates /dev/farfetch),
copies each --put file into the guest (default /root/<name>, mode kept), runs CMD as root in /root
and exits with its status. stdout and stderr are kept apart.
  --timeout SEC   how long CMD may run (default 120); exit 124 when it runs out
Exit 125 with a one-line reason when the lab itself fails (no image, QEMU missing, boot failed).`,
  serve: `Usage: farfetchd-lab serve [--port N]

Serves the lab's UI and API on http://127.0.0.1:N (default: a free port) with a per-start token,
and prints the URL to open.`,
  check: `Usage: farfetchd-lab check --part 1|2|3 [--src DIR]

Grades a Farfetch'd module: copies DIR (default: the current folder) into a fresh guest, runs make
there, loads the module it built, and runs the part's checks. Exit 0 only if every check passes.`,
  bench: `Usage: farfetchd-lab bench [--json]

Runs the benchmarks (boot to prompt, exec round trip, agent round trip, console echo latency,
module build in the guest, FAR_READ against process_vm_readv) and prints a table followed by the
same results as JSON, or only the JSON with --json.`,
};

export class UsageError extends Error {
  constructor(
    message: string,
    readonly command: string,
  ) {
    super(message);
  }
}

type Out = { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };

type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

function parse(
  command: string,
  argv: string[],
  options: NonNullable<ParseArgsConfig['options']>,
  allowPositionals = false,
): { values: OptionValues; positionals: string[] } {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean' } },
      allowPositionals,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional.*$/s, ''), command);
  }
}

function parseModule(command: string, value: string | undefined): ModuleName {
  const module = value ?? 'none';
  if (!isModuleName(module)) {
    throw new UsageError(`--module must be one of ${moduleNames.join(', ')} (got '${module}')`, command);
  }
  return module;
}

export interface PutSpec {
  host: string;
  guest: string;
}

/** `HOST[:GUEST]`: GUEST defaults to /root/<name>; a GUEST ending in / is a folder. */
export function parsePut(spec: string): PutSpec {
  if (spec === '') throw new UsageError('--put needs a file: --put HOST[:GUEST]', 'exec');
  const colon = spec.indexOf(':');
  const host = colon < 0 ? spec : spec.slice(0, colon);
  let guest = colon < 0 ? '' : spec.slice(colon + 1);
  if (host === '') throw new UsageError(`--put '${spec}' names no host file`, 'exec');
  const name = path.basename(host);
  if (guest === '') guest = `/root/${name}`;
  else if (guest.endsWith('/')) guest += name;
  if (!guest.startsWith('/')) guest = `/root/${guest}`;
  return { host, guest };
}

export function parseTimeout(value: string | undefined): number {
  if (value === undefined) return 120;
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(seconds > 0)) {
    throw new UsageError(`--timeout must be a positive number of seconds (got '${value}')`, 'exec');
  }
  return seconds;
}

export async function main(argv: string[], out: Out = process): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      out.stdout.write(HELP.main + '\n');
      return command === undefined ? EXIT_USAGE : 0;
    }
    if (!(command in HELP) || command === 'main') {
      throw new UsageError(`unknown command '${command}'`, 'main');
    }
    if (
      rest.includes('--help') &&
      !(command === 'exec' && rest.indexOf('--') >= 0 && rest.indexOf('--') < rest.indexOf('--help'))
    ) {
      out.stdout.write(HELP[command] + '\n');
      return 0;
    }
    switch (command) {
      case 'image':
        return await imageCommand(rest, out);
      case 'run':
        return await runCommand(rest, out);
      case 'exec':
        return await execCommand(rest, out);
      case 'serve':
        return await serveCommand(rest, out);
      case 'check':
        return await checkCommand(rest, out);
      case 'bench':
        return await benchCommand(rest, out);
    }
    return EXIT_USAGE;
  } catch (err) {
    if (err instanceof UsageError) {
      out.stderr.write(`farfetchd-lab ${err.command === 'main' ? '' : err.command + ': '}${err.message}\n`);
      out.stderr.write(
        `Run \`farfetchd-lab ${err.command === 'main' ? '' : err.command + ' '}--help\` for usage.\n`,
      );
      return EXIT_USAGE;
    }
    throw err;
  }
}

async function imageCommand(argv: string[], out: Out): Promise<number> {
  const { values } = parse('image', argv, { rebuild: { type: 'boolean' } });
  try {
    const image = await buildImage({ rebuild: values.rebuild === true });
    const m = image.manifest;
    out.stdout.write(
      `image ${m.key}\n  kernel ${m.kernelRelease} (${image.kernelPath})\n  disk ${image.diskPath} ` +
        `(qcow2 ${(m.qcow2Bytes / 1048576).toFixed(1)} MiB, rootfs ${(m.rootfsBytes / 1048576).toFixed(0)} MiB)\n`,
    );
    return 0;
  } catch (err) {
    out.stderr.write(`farfetchd-lab image: ${(err as Error).message}\n`);
    return 1;
  }
}

/** Boots a session and loads a module; on failure prints the one-line reason and returns null. */
async function bootForCli(module: ModuleName, out: Out, onProgress = false): Promise<LabSession | null> {
  const session = new LabSession({
    cols: process.stdout.columns,
    rows: process.stdout.rows,
  });
  if (onProgress) {
    let shown = 0;
    session.on('status', (status) => {
      for (; shown < status.bootSteps.length; shown++) {
        const s = status.bootSteps[shown]!;
        out.stderr.write(`farfetchd-lab: ${s.step} (${(s.atMs / 1000).toFixed(2)} s)\n`);
      }
    });
  }
  try {
    await session.start();
    if (onProgress && session.status().accelerator) {
      const a = session.status().accelerator!;
      out.stderr.write(
        `farfetchd-lab: accelerator ${a.label}${a.fallbackReason ? ` (${a.fallbackReason})` : ''}\n`,
      );
    }
    await session.loadModule(module);
    return session;
  } catch (err) {
    out.stderr.write(`farfetchd-lab: lab failure: ${oneLine((err as Error).message)}\n`);
    await session.stop().catch(() => undefined);
    return null;
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

async function execCommand(argv: string[], out: Out): Promise<number> {
  const dash = argv.indexOf('--');
  const optionArgs = dash < 0 ? argv : argv.slice(0, dash);
  const commandArgs = dash < 0 ? [] : argv.slice(dash + 1);
  const { values, positionals } = parse(
    'exec',
    optionArgs,
    { module: { type: 'string' }, put: { type: 'string', multiple: true }, timeout: { type: 'string' } },
    true,
  );
  if (positionals.length > 0) {
    throw new UsageError(`put the command after '--' (got '${positionals[0]}' before it)`, 'exec');
  }
  if (commandArgs.length === 0)
    throw new UsageError('no command: farfetchd-lab exec [options] -- CMD [ARG...]', 'exec');
  const module = parseModule('exec', values.module as string | undefined);
  const timeoutSeconds = parseTimeout(values.timeout as string | undefined);
  const puts = ((values.put ?? []) as string[]).map(parsePut);
  const files: { spec: PutSpec; data: Buffer; mode: number }[] = [];
  for (const spec of puts) {
    try {
      const info = await stat(spec.host);
      if (!info.isFile()) throw new Error('not a regular file');
      files.push({ spec, data: await readFile(spec.host), mode: info.mode & 0o7777 });
    } catch (err) {
      throw new UsageError(
        `--put ${spec.host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        'exec',
      );
    }
  }

  const session = await bootForCli(module, out);
  if (!session) return EXIT_LAB_FAILURE;
  try {
    for (const f of files) {
      await session.sh(`mkdir -p '${path.posix.dirname(f.spec.guest).replace(/'/g, "'\\''")}'`);
      await session.putFile(f.spec.guest, f.data, f.mode);
    }
  } catch (err) {
    out.stderr.write(
      `farfetchd-lab: lab failure: copying files into the guest: ${oneLine((err as Error).message)}\n`,
    );
    await session.stop();
    return EXIT_LAB_FAILURE;
  }
  const [file, ...args] = commandArgs as [string, ...string[]];
  const crashed = new Promise<'crashed'>((resolve) => session.once('crash', () => resolve('crashed')));
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutSeconds * 1000);
  });
  try {
    const outcome = await Promise.race([
      session.run(file, args, { timeoutMs: timeoutSeconds * 1000 + 60_000 }),
      timedOut,
      crashed,
    ]);
    if (outcome === 'timeout') {
      out.stderr.write(`farfetchd-lab: '${file}' did not finish within ${timeoutSeconds} s\n`);
      return EXIT_TIMEOUT;
    }
    if (outcome === 'crashed') {
      const crash = session.status().crash!;
      out.stderr.write(
        `${crash.log}\nfarfetchd-lab: lab failure: the guest kernel crashed: ${crash.headline}\n`,
      );
      return EXIT_LAB_FAILURE;
    }
    const result: RunResult = outcome;
    await write(out.stdout, result.stdout);
    await write(out.stderr, result.stderr);
    return result.signal ? 128 + result.signal : result.exitCode;
  } catch (err) {
    out.stderr.write(`farfetchd-lab: lab failure: ${oneLine((err as Error).message)}\n`);
    return EXIT_LAB_FAILURE;
  } finally {
    clearTimeout(timer);
    await session.stop();
  }
}

function write(stream: NodeJS.WritableStream, data: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (data.length === 0) return resolve();
    stream.write(data, () => resolve());
  });
}

async function runCommand(argv: string[], out: Out): Promise<number> {
  const { values } = parse('run', argv, { module: { type: 'string' } });
  const module = parseModule('run', values.module as string | undefined);
  if (!process.stdin.isTTY) {
    out.stderr.write(
      'farfetchd-lab run: stdin is not a terminal; use `farfetchd-lab exec` to run commands from scripts\n',
    );
    return EXIT_USAGE;
  }
  const session = await bootForCli(module, out, true);
  if (!session) return EXIT_LAB_FAILURE;
  out.stderr.write('farfetchd-lab: attached to the guest console; Ctrl-] stops the guest and quits\n');
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  session.on('console', (data) => out.stdout.write(data));
  session.on('crash', (crash) =>
    out.stderr.write(
      `\r\nfarfetchd-lab: the guest kernel crashed: ${crash.headline}. Ctrl-] quits; run again for a clean guest.\r\n`,
    ),
  );
  const resize = async () => {
    if (process.stdout.columns && process.stdout.rows) {
      await session.resizeConsole(process.stdout.columns, process.stdout.rows).catch(() => undefined);
    }
  };
  process.stdout.on('resize', resize);
  // The guest's tty learns the size before anything is typed into it.
  await resize();
  session.writeConsole('\n');
  await new Promise<void>((resolve) => {
    stdin.on('data', (chunk: Buffer) => {
      const at = chunk.indexOf(0x1d);
      if (at >= 0) {
        if (at > 0) session.writeConsole(chunk.subarray(0, at).toString('utf8'));
        resolve();
        return;
      }
      session.writeConsole(chunk.toString('utf8'));
    });
  });
  stdin.setRawMode(false);
  stdin.pause();
  process.stdout.off('resize', resize);
  await session.stop();
  out.stderr.write('\nfarfetchd-lab: guest stopped\n');
  return 0;
}

async function serveCommand(argv: string[], out: Out): Promise<number> {
  const { values } = parse('serve', argv, { port: { type: 'string' } });
  const portArg = values.port as string | undefined;
  let port = 0;
  if (portArg !== undefined) {
    port = Number(portArg);
    if (!/^\d+$/.test(portArg) || port < 1 || port > 65535) {
      throw new UsageError(`--port must be a port number from 1 to 65535 (got '${portArg}')`, 'serve');
    }
  }
  const { startServer } = await import('./serve.ts');
  const { createBackend } = await import('./backend.ts');
  const backend = createBackend();
  const server = await startServer({ backend, port, staticDir: path.join(repoRoot, 'renderer', 'dist') });
  out.stdout.write(
    `Farfetch'd Lab is running at ${server.url}\n(open it in a browser; Ctrl-C stops the lab)\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  await backend.dispose();
  return 0;
}

async function checkCommand(argv: string[], out: Out): Promise<number> {
  const { values } = parse('check', argv, { part: { type: 'string' }, src: { type: 'string' } });
  const part = values.part as string | undefined;
  if (part === undefined) throw new UsageError('--part is required: --part 1|2|3', 'check');
  if (!['1', '2', '3'].includes(part)) {
    throw new UsageError(`--part must be 1, 2 or 3 (got '${part}')`, 'check');
  }
  const { runCheck } = await import('./grader.ts');
  return runCheck({
    part: Number(part) as 1 | 2 | 3,
    src: path.resolve((values.src as string | undefined) ?? '.'),
    out,
  });
}

async function benchCommand(argv: string[], out: Out): Promise<number> {
  const { values } = parse('bench', argv, { json: { type: 'boolean' } });
  const { runBenchmarks } = await import('./bench.ts');
  return runBenchmarks({ json: values.json === true, out });
}

export { loadImage };
