// A small JSON file of remembered verdicts, `{ "version": N, "verdicts": [...] }` (the
// accelerator's, accel-verdicts.ts; the disk I/O's, disk-aio.ts). Read leniently: a missing,
// unreadable, corrupt or other-version file holds none, and an entry that is not a verdict is
// skipped. Replaced whole: written to a temporary name next to it, then renamed over it, so that
// another lab process reading it sees the old file or the new one, never half of one.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export async function readVerdictList<T>(
  file: string,
  version: number,
  isVerdict: (value: unknown) => value is T,
): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return [];
  }
  try {
    const data = JSON.parse(text) as { version?: unknown; verdicts?: unknown };
    if (data.version !== version || !Array.isArray(data.verdicts)) return [];
    return data.verdicts.filter(isVerdict);
  } catch {
    return [];
  }
}

export async function writeVerdictList(file: string, version: number, verdicts: unknown[]): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, JSON.stringify({ version, verdicts }, null, 2) + '\n');
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
