// The `farfetchd-lab` command: dispatch, and the commands small enough to live here. Its usage
// (cli-args.ts HELP) is a contract: tests and outside checks call it exactly as written there.
import path from 'node:path';
import { EXIT_USAGE, HELP, parse, parseWorkspace, UsageError, type Out } from './cli-args.ts';
import { execCommand } from './cli-exec.ts';
import { runCommand } from './cli-run.ts';
import { buildImage, loadImage, repoRoot } from './image.ts';

export {
  EXIT_LAB_FAILURE,
  EXIT_TIMEOUT,
  EXIT_USAGE,
  parsePut,
  parseTimeout,
  UsageError,
  type PutSpec,
} from './cli-args.ts';
export { loadImage };

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
      case 'doctor':
        return await doctorCommand(rest, out);
      case 'workspace':
        return await workspaceCommand(rest, out);
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

async function serveCommand(argv: string[], out: Out): Promise<number> {
  const { values } = parse('serve', argv, { port: { type: 'string' }, workspace: { type: 'string' } });
  const workspace = parseWorkspace('serve', values.workspace as string | undefined);
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
  const backend = createBackend({ workspace });
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
  const { values } = parse('check', argv, {
    part: { type: 'string' },
    src: { type: 'string' },
    json: { type: 'boolean' },
    format: { type: 'string' },
    output: { type: 'string' },
    checks: { type: 'string' },
  });
  const part = values.part as string | undefined;
  if (part === undefined) throw new UsageError('--part is required: --part 1|2|3', 'check');
  if (!['1', '2', '3'].includes(part)) {
    throw new UsageError(`--part must be 1, 2 or 3 (got '${part}')`, 'check');
  }
  const src = values.src as string | undefined;
  if (src === undefined) throw new UsageError("--src is required: --src DIR, your module's folder", 'check');
  const format = values.format as string | undefined;
  if (format !== undefined && format !== 'gradescope' && format !== 'prairielearn') {
    throw new UsageError(`--format must be gradescope or prairielearn (got '${format}')`, 'check');
  }
  if (format !== undefined && values.json === true) {
    throw new UsageError('--json and --format each choose the output: give one', 'check');
  }
  const { runCheck } = await import('./grader.ts');
  const checks = values.checks as string | undefined;
  const output = values.output as string | undefined;
  return runCheck({
    part: Number(part) as 1 | 2 | 3,
    src: path.resolve(src),
    json: values.json === true,
    format,
    output: output === undefined ? undefined : path.resolve(output),
    checksDir: checks === undefined ? undefined : path.resolve(checks),
    out,
  });
}

async function benchCommand(argv: string[], out: Out): Promise<number> {
  const { values } = parse('bench', argv, { json: { type: 'boolean' } });
  const { runBenchmarks } = await import('./bench.ts');
  return runBenchmarks({ json: values.json === true, out });
}

async function doctorCommand(argv: string[], out: Out): Promise<number> {
  const { values } = parse('doctor', argv, { json: { type: 'boolean' } });
  const { collectSystemReport, doctorExitCode, formatSystemReport } = await import('./doctor.ts');
  const report = await collectSystemReport({ reprobe: true });
  out.stdout.write(
    values.json === true ? JSON.stringify(report, null, 2) + '\n' : formatSystemReport(report),
  );
  return doctorExitCode(report);
}

async function workspaceCommand(argv: string[], out: Out): Promise<number> {
  const { values, positionals } = parse('workspace', argv, { solution: { type: 'boolean' } }, true);
  const [action, dir, ...extra] = positionals;
  if (action !== 'init') {
    throw new UsageError(
      action === undefined ? 'say what to do: workspace init DIR' : `unknown action '${action}' (use init)`,
      'workspace',
    );
  }
  if (dir === undefined)
    throw new UsageError('init needs the folder to create: workspace init DIR', 'workspace');
  if (extra.length)
    throw new UsageError(`init takes one folder (also got '${extra.join(' ')}')`, 'workspace');
  const { initWorkspace } = await import('./workspace.ts');
  let made;
  try {
    made = await initWorkspace(path.resolve(dir), {
      mode: values.solution === true ? 'solution' : 'skeleton',
    });
  } catch (err) {
    out.stderr.write(`farfetchd-lab workspace: ${(err as Error).message}\n`);
    return 1;
  }
  const what = values.solution === true ? 'the reference modules' : 'skeletons to complete';
  out.stdout.write(
    `created ${made.dir} (${what}): ${made.entries.filter((e) => e !== '.gitignore').join(' ')}\n`,
  );
  if ('commit' in made.git) out.stdout.write(`git: first commit ${made.git.commit.slice(0, 12)}\n`);
  else out.stderr.write(`farfetchd-lab workspace: ${made.git.missing}\n`);
  out.stdout.write(`share it with the lab: farfetchd-lab serve --workspace ${dir}\n`);
  return 0;
}
