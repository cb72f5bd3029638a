// `farfetchd-lab check`: grades a student's module inside a fresh guest. The checks are the
// in-guest C suite (kernel-module/tests, installed in the image as farfetch_tests), the same
// one the reference modules pass.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ModuleName } from './api.ts';
import { LabSession } from './session.ts';

type Out = { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };

const GUEST_SRC = '/root/check/src';
const MAX_SOURCE_BYTES = 4 * 1024 * 1024;
const buildArtifacts = /\.(o|ko|mod|mod\.c|cmd)$|^(modules\.order|Module\.symvers)$/;

export interface SourceFile {
  relative: string;
  data: Buffer;
  mode: number;
}

/** The student's sources (no build artifacts, no hidden folders), refusing anything huge. */
export async function collectSources(dir: string): Promise<SourceFile[]> {
  const files: SourceFile[] = [];
  let total = 0;
  const walk = async (relative: string): Promise<void> => {
    for (const entry of await readdir(path.join(dir, relative), { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const rel = path.posix.join(relative, entry.name);
      if (entry.isDirectory()) await walk(rel);
      else if (entry.isFile() && !buildArtifacts.test(entry.name)) {
        const full = path.join(dir, rel);
        const info = await stat(full);
        total += info.size;
        if (total > MAX_SOURCE_BYTES) {
          throw new Error(
            `${dir} holds more than ${MAX_SOURCE_BYTES >> 20} MiB of files: point --src at the module's folder`,
          );
        }
        files.push({ relative: rel, data: await readFile(full), mode: info.mode & 0o777 });
      }
    }
  };
  await walk('');
  if (!files.some((f) => f.relative === 'Makefile' || f.relative === 'Kbuild')) {
    throw new Error(
      `${dir} has no Makefile: --src must be the folder with your module's Makefile and .c files`,
    );
  }
  return files;
}

function partModule(part: 1 | 2 | 3): ModuleName {
  return `p${part}` as ModuleName;
}

export async function runCheck(opts: { part: 1 | 2 | 3; src: string; out: Out }): Promise<number> {
  const { part, src, out } = opts;
  const log = (line: string) => out.stdout.write(line + '\n');
  let sources: SourceFile[];
  try {
    sources = await collectSources(src);
  } catch (err) {
    out.stderr.write(`farfetchd-lab check: ${(err as Error).message}\n`);
    return 2;
  }
  const session = new LabSession();
  let crashed = false;
  session.on('crash', (crash) => {
    crashed = true;
    out.stderr.write(`\nYour module crashed the guest kernel: ${crash.headline}\n${crash.log}\n`);
  });
  try {
    log(`check part ${part}: booting a fresh guest`);
    await session.start();
    for (const f of sources) {
      const guestPath = `${GUEST_SRC}/${f.relative}`;
      await session.sh(`mkdir -p '${path.posix.dirname(guestPath)}'`);
      await session.putFile(guestPath, f.data, f.mode);
    }
    log(`check part ${part}: make (in the guest, ${sources.length} files)`);
    const build = await session.run('make', ['-C', GUEST_SRC], { timeoutMs: 600_000 });
    if (build.exitCode !== 0) {
      out.stdout.write(build.stdout);
      out.stdout.write(build.stderr);
      log(`not ok - the module does not build (make exited ${build.exitCode})`);
      return 1;
    }
    const kos = (await session.sh(`cd ${GUEST_SRC} && ls *.ko 2>/dev/null || true`))
      .split('\n')
      .filter(Boolean);
    if (kos.length !== 1) {
      log(
        `not ok - make must build exactly one .ko in ${path.basename(src)} (found ${kos.length}: ${kos.join(' ')})`,
      );
      return 1;
    }
    const ko = kos[0]!;
    log(`check part ${part}: insmod ${ko}`);
    const load = [`insmod ${GUEST_SRC}/${ko}`];
    if (part === 3) {
      load.push(
        'major=$(awk \'$2 == "farfetch" { print $1 }\' /proc/devices)',
        '[ -n "$major" ] || { echo "no device named farfetch in /proc/devices after insmod" >&2; exit 1; }',
        'mknod -m 0666 /dev/farfetch c "$major" 0',
      );
    }
    await session.sh(['set -e', ...load].join('\n'));
    const tests = await session.run(
      '/usr/local/libexec/farfetch/farfetch_tests',
      ['--module', partModule(part)],
      {
        timeoutMs: 600_000,
      },
    );
    out.stdout.write(tests.stdout);
    out.stderr.write(tests.stderr);
    if (crashed) return 1;
    const unload = await session.run('rmmod', [ko.replace(/\.ko$/, '')], { timeoutMs: 60_000 });
    if (unload.exitCode !== 0) {
      log(`not ok - rmmod failed: ${unload.stderr.toString().trim()}`);
      return 1;
    }
    return tests.exitCode === 0 ? 0 : 1;
  } catch (err) {
    if (!crashed) out.stderr.write(`farfetchd-lab check: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await session.stop();
  }
}
