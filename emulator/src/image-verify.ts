// The guest image an installer carries is checked before it is used: its SHA256SUMS (written by
// the packaging step, build/package.js) names the kernel and the disk with their hashes. A file
// missing or changed is a one-line error that says what to do, never a boot that hangs on a
// truncated disk. Hashing is streamed (the qcow2 is ≈ 120 MB: a fraction of a second).
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const SUMS_FILE = 'SHA256SUMS';

export class ImageDamagedError extends Error {
  override name = 'ImageDamagedError';
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** `hex  name` lines, as sha256sum prints them (and `sha256sum -c` checks them). */
export function formatSums(sums: Record<string, string>): string {
  return Object.entries(sums)
    .map(([name, hex]) => `${hex}  ${name}\n`)
    .join('');
}

export function parseSums(text: string): Record<string, string> {
  const sums: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!match) throw new ImageDamagedError(`${SUMS_FILE} has a line that is not "hash  name": ${line}`);
    sums[match[2]!] = match[1]!;
  }
  return sums;
}

/** Writes dir/SHA256SUMS for the image's files (the manifest's kernel and disk, and the manifest). */
export async function writeImageSums(dir: string): Promise<Record<string, string>> {
  const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as {
    kernel: string;
    disk: string;
  };
  const sums: Record<string, string> = {};
  for (const name of ['manifest.json', manifest.kernel, manifest.disk]) {
    sums[name] = await sha256File(path.join(dir, name));
  }
  await writeFile(path.join(dir, SUMS_FILE), formatSums(sums));
  return sums;
}

/**
 * Throws ImageDamagedError (one line, with the fix) unless every file SHA256SUMS names in `dir`
 * is there with its hash, and the kernel and the disk are among them.
 */
export async function verifyImage(dir: string, fix = "reinstall Farfetch'd Lab"): Promise<void> {
  const sumsPath = path.join(dir, SUMS_FILE);
  if (!existsSync(sumsPath)) {
    throw new ImageDamagedError(`the guest image in ${dir} is missing (no ${SUMS_FILE}): ${fix}`);
  }
  const sums = parseSums(await readFile(sumsPath, 'utf8'));
  for (const needed of ['manifest.json', 'bzImage', 'rootfs.qcow2']) {
    if (!(needed in sums)) {
      throw new ImageDamagedError(
        `the guest image in ${dir} is incomplete (${SUMS_FILE} lacks ${needed}): ${fix}`,
      );
    }
  }
  for (const [name, hex] of Object.entries(sums)) {
    const file = path.join(dir, name);
    if (!existsSync(file))
      throw new ImageDamagedError(`the guest image in ${dir} is missing ${name}: ${fix}`);
    if ((await sha256File(file)) !== hex) {
      throw new ImageDamagedError(
        `the guest image in ${dir} is damaged (${name} does not match its checksum): ${fix}`,
      );
    }
  }
}
