// `farfetchd-lab exec`: one command in a throwaway guest, its stdout and stderr kept apart, its
// exit status passed through.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  EXIT_LAB_FAILURE,
  EXIT_TIMEOUT,
  parse,
  parseModule,
  parsePut,
  parseTimeout,
  UsageError,
  type Out,
  type PutSpec,
} from './cli-args.ts';
import { bootForCli, oneLine } from './cli-boot.ts';
import type { RunResult } from './session.ts';

export async function execCommand(argv: string[], out: Out): Promise<number> {
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
      // /root, the default, exists: no guest program for it.
      const dir = path.posix.dirname(f.spec.guest);
      if (dir !== '/root') await session.sh(`mkdir -p '${dir.replace(/'/g, "'\\''")}'`);
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
