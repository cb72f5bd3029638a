// `--smoke-test` of the packaged app (electron/main.ts; the release workflow runs it on every
// runner): verify the bundled guest image, boot it through the bundled QEMU with the app's own
// backend code (LabSession), run `uname -r` in it, and compare with the image's manifest.
// One line of verdict, exit status 0 or 1, and the guest is always stopped.
import { imageDir, loadImage } from './image.ts';
import { verifyImage } from './image-verify.ts';
import { LabSession } from './session.ts';

/** What the smoke test needs of a session (LabSession; unit tests pass a fake). */
export interface SmokeSession {
  start(): Promise<void>;
  run(file: string, args: string[]): Promise<{ exitCode: number; stdout: Buffer; stderr: Buffer }>;
  status(): { accelerator?: { accel: string } | undefined };
  stop(): Promise<void>;
}

export interface SmokeTestOptions {
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  /** Checks the image before booting (default verifyImage; packaged images carry SHA256SUMS). */
  verify?: (dir: string) => Promise<void>;
  createSession?: () => SmokeSession;
}

export async function runSmokeTest(opts: SmokeTestOptions): Promise<0 | 1> {
  const dir = imageDir(opts.env);
  let session: SmokeSession | undefined;
  try {
    await (opts.verify ?? verifyImage)(dir);
    const expected = loadImage(dir).manifest.kernelRelease;
    session = opts.createSession?.() ?? new LabSession({ env: opts.env, warmBoot: false });
    await session.start();
    const result = await session.run('uname', ['-r']);
    const release = result.stdout.toString().trim();
    if (result.exitCode !== 0 || release !== expected) {
      opts.log(
        `smoke test: failed: uname -r in the guest gave ${JSON.stringify(release)} (exit ${result.exitCode}), expected ${expected}`,
      );
      return 1;
    }
    const accel = session.status().accelerator?.accel ?? 'unknown';
    opts.log(`smoke test: ok: the guest runs ${release} (accelerator ${accel})`);
    return 0;
  } catch (err) {
    opts.log(`smoke test: failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await session?.stop().catch(() => undefined);
  }
}
