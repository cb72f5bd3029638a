// The `farfetchd-lab` command's usage text and argument parsing. The usage is a contract
// (design.md): tests and outside checks call the command exactly as written in HELP.
import { statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { ModuleName } from './api.ts';
import { isModuleName, moduleNames } from './modules.ts';

export const EXIT_TIMEOUT = 124;
export const EXIT_LAB_FAILURE = 125;
export const EXIT_USAGE = 2;

export const HELP: Record<string, string> = {
  main: `Usage: farfetchd-lab <command> [options]

Commands:
  image [--rebuild]                 build or verify the guest image; prints what it built and its hash
  run [--module M] [--workspace DIR]
                                    boot and attach this terminal to the guest console
  exec [--module M] [--put HOST[:GUEST]]... [--timeout SEC] -- CMD [ARG...]
                                    run one command in a throwaway guest
  serve [--port N] [--workspace DIR]
                                    browser mode on 127.0.0.1 (prints the URL)
  check --part 1|2|3 --src DIR [--json] [--format gradescope|prairielearn] [--output FILE]
                                    grade a module: build DIR in a fresh guest, load it, run the checks
  bench [--json]                    run the benchmarks, print a table (or JSON)
  doctor [--json]                   what the lab finds on this machine and what to do about each problem
  workspace init [--solution] DIR   a student's workspace: the three parts' skeletons, targets, git

M is one of none (default), p1, p2, p3 (the reference modules).
Run \`farfetchd-lab <command> --help\` for a command's details.`,
  image: `Usage: farfetchd-lab image [--rebuild]

Builds the guest (kernel, rootfs, image) into build/out, or verifies that the cached build
matches this checkout's inputs. Prints the image's hash. --rebuild ignores the caches.`,
  run: `Usage: farfetchd-lab run [--module M] [--workspace DIR]

Boots a guest and attaches this terminal to its console. Press Ctrl-] to stop the guest and quit.
  --workspace DIR   share the host folder DIR with the guest at /root/work (see workspace init)`,
  exec: `Usage: farfetchd-lab exec [--module M] [--put HOST[:GUEST]]... [--timeout SEC] -- CMD [ARG...]

Boots a throwaway guest, loads module M (none, p1, p2, p3; for p3 also creates /dev/farfetch),
copies each --put file into the guest (default /root/<name>, mode kept), runs CMD as root in /root
and exits with its status. stdout and stderr are kept apart.
  --timeout SEC   how long CMD may run (default 120); exit 124 when it runs out
Exit 125 with a one-line reason when the lab itself fails (no image, QEMU missing, boot failed).`,
  serve: `Usage: farfetchd-lab serve [--port N] [--workspace DIR]

Serves the lab's UI and API on http://127.0.0.1:N (default: a free port) with a per-start token,
and prints the URL to open.
  --workspace DIR   the host folder the guest sees at /root/work (default: $FARFETCHD_LAB_WORKSPACE,
                    else ~/farfetchd-lab-workspace)`,
  check: `Usage: farfetchd-lab check --part 1|2|3 --src DIR [--json] [--format gradescope|prairielearn] [--output FILE] [--checks DIR]

Grades a Farfetch'd module: copies DIR (the folder with its Makefile) into a fresh guest, builds it
there with debug info, loads it, and runs the part's checks (docs/grading.md). Each check is
ok, not ok (expected vs got, and a hint) or skipped (its parent failed), with its points.
  --json           print the report as one JSON object: {part, score, maxScore, tests: [...]}
  --format F       print Gradescope's (gradescope) or PrairieLearn's (prairielearn) results.json
  --output FILE    write the report (--json or --format) to FILE instead of stdout
  --checks DIR     add a course's check files (*.json) to the lab's own
Progress goes to stderr. Exit 0 only if every check passes, 1 if one does not, 2 for bad arguments
or when the lab itself fails.`,
  bench: `Usage: farfetchd-lab bench [--json]

Runs the benchmarks (boot to prompt, exec round trip, agent round trip, console echo latency,
module build in the guest, FAR_READ against process_vm_readv) and prints a table followed by the
same results as JSON, or only the JSON with --json.`,
  doctor: `Usage: farfetchd-lab doctor [--json]

Prints what the lab finds on this machine: QEMU's path and version, the guest image and its hash,
the accelerator and why it was chosen (probed again now: the remembered verdict is forgotten
first), free disk, and the cache folders with their sizes, with what to do about each problem.
--json prints the same as one JSON object. Exit 0 when every check is ok, 1 otherwise.`,

  workspace: `Usage: farfetchd-lab workspace init [--solution] DIR

Creates DIR (it must be missing or empty) as a student's workspace: farfetch_p1/, farfetch_p2/ and
farfetch_p3/, each a self-contained module folder (its Makefile and every header it includes) with
the solutions replaced by TODO stubs that build and load; targets/ (the target programs' sources);
run_checkpatch.sh; a README; and a git repository with them as its first commit.
  --solution   the reference modules instead of the skeletons (for instructors and tests)
Then share it with the lab: farfetchd-lab serve --workspace DIR (or run --workspace DIR).`,
};

export class UsageError extends Error {
  constructor(
    message: string,
    readonly command: string,
  ) {
    super(message);
  }
}

export type Out = { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };

export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export function parse(
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

/** A folder that must exist, for --workspace: resolved, or a UsageError saying what to do. */
export function parseWorkspace(command: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const dir = path.resolve(value);
  let isFolder = false;
  try {
    isFolder = statSync(dir).isDirectory();
  } catch {
    // missing: said below
  }
  if (!isFolder) {
    throw new UsageError(
      `--workspace ${value}: no such folder (make one with \`farfetchd-lab workspace init ${value}\`)`,
      command,
    );
  }
  return dir;
}

export function parseModule(command: string, value: string | undefined): ModuleName {
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
