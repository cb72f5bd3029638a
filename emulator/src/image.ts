// Where the guest image is, and how it is built. The image is a folder with bzImage,
// rootfs.qcow2 and manifest.json, written by build/build-guest.sh.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ImageManifest {
  key: string;
  kernelKey: string;
  rootfsKey: string;
  kernelRelease: string;
  kernel: string;
  /** The tests' debug kernel (build/kernel-debug.config) beside it, and its release string. */
  debugKernel?: string;
  debugKernelKey?: string;
  debugKernelRelease?: string;
  disk: string;
  diskVirtualBytes: number;
  rootfsBytes: number;
  qcow2Bytes: number;
  /**
   * Seconds each stage took when build/build-guest.sh built it (null: a stage cached from a
   * build that did not record it), and the compiles ccache answered in each kernel's build.
   */
  buildSeconds?: { kernel: number | null; kernelDebug: number | null; rootfs: number | null; image: number };
  kernelCcacheHits?: { kernel: number | null; kernelDebug: number | null };
  builtAt: string;
}

export interface GuestImage {
  dir: string;
  kernelPath: string;
  diskPath: string;
  manifest: ImageManifest;
}

/** Which of the image's kernels a session boots: the lab's, or the tests' debug kernel. */
export type KernelChoice = 'main' | 'debug';

/** The bzImage and release string of `kernel` in `image`; a one-line error if it has none. */
export function kernelOf(
  image: GuestImage,
  kernel: KernelChoice = 'main',
): { path: string; release: string } {
  if (kernel === 'main') return { path: image.kernelPath, release: image.manifest.kernelRelease };
  if (kernel !== 'debug') throw new Error(`unknown kernel '${String(kernel)}': use 'main' or 'debug'`);
  const { debugKernel, debugKernelRelease } = image.manifest;
  const file = debugKernel && path.join(image.dir, debugKernel);
  if (!file || !debugKernelRelease || !existsSync(file)) {
    throw new Error(
      `the image at ${image.dir} has no debug kernel: rebuild it with \`npx farfetchd-lab image\` (build/build-guest.sh builds both kernels)`,
    );
  }
  return { path: file, release: debugKernelRelease };
}

export class ImageMissingError extends Error {
  constructor(dir: string) {
    super(
      `no guest image at ${dir}: build it with \`npx farfetchd-lab image\` (or \`npm test\`, which builds it)`,
    );
    this.name = 'ImageMissingError';
  }
}

/** The folder the image is looked for in: $FARFETCHD_LAB_IMAGE, else build/out/image of this checkout. */
export function imageDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FARFETCHD_LAB_IMAGE) return path.resolve(env.FARFETCHD_LAB_IMAGE);
  const out = env.FARFETCHD_LAB_OUT
    ? path.resolve(env.FARFETCHD_LAB_OUT)
    : path.join(repoRoot, 'build', 'out');
  return path.join(out, 'image');
}

export function loadImage(dir: string = imageDir()): GuestImage {
  const manifestPath = path.join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) throw new ImageMissingError(dir);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as ImageManifest;
  const kernelPath = path.join(dir, manifest.kernel);
  const diskPath = path.join(dir, manifest.disk);
  for (const file of [kernelPath, diskPath]) {
    if (!existsSync(file)) throw new ImageMissingError(dir);
  }
  return { dir, kernelPath, diskPath, manifest };
}

const buildScript = path.join(repoRoot, 'build', 'build-guest.sh');

/** The hash of the image's inputs in this checkout (what a fresh build would be called). */
export async function expectedImageKey(): Promise<string> {
  const { stdout, code } = await runScript(['--print-key'], 'pipe');
  if (code !== 0) throw new Error(`build/build-guest.sh --print-key failed (exit ${code})`);
  return stdout.trim();
}

/** Builds (or verifies) the image, printing the script's progress lines to this process's stderr. */
export async function buildImage(opts: { rebuild?: boolean } = {}): Promise<GuestImage> {
  const { code } = await runScript(opts.rebuild ? ['--rebuild'] : [], 'inherit');
  if (code !== 0) throw new Error(`the guest image build failed (exit ${code}); see the lines above`);
  return loadImage();
}

function runScript(args: string[], stdio: 'pipe' | 'inherit'): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [buildScript, ...args], {
      stdio: ['ignore', stdio === 'inherit' ? process.stderr : 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout }));
  });
}
