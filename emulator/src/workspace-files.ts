// The student's workspace files as the app's editor sees them: every path is relative to the
// workspace and confined to it (no "..", no absolute path, no hidden folder such as .git or the
// lab's own .farfetchd-lab, no symlink leading out), checked here whatever the transport checked.
import { lstat, mkdir, readdir, readFile, realpath, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** The most bytes the editor reads or writes in one file (a module's source is far smaller). */
export const MAX_FILE_BYTES = 1024 * 1024;
/** The most files a listing returns. */
export const MAX_LISTED_FILES = 2000;
export const MAX_PATH_CHARS = 512;

/** Kbuild's outputs: not for the editor. */
const BUILD_OUTPUT = /\.(o|ko|mod|mod\.c|cmd|a|order|symvers)$|^Module\.symvers$|^modules\.order$/;

export class WorkspacePathError extends Error {
  readonly code = 'EINVAL';
  override name = 'WorkspacePathError';
}

/**
 * `file` as a workspace path: segments of letters, digits, `_`, `-`, `.` and `+`, none starting
 * with a dot, joined by "/". Pure; the same rule as the transport's validation (validate.ts).
 */
export function checkWorkspacePath(file: unknown): string {
  if (
    typeof file !== 'string' ||
    file.length === 0 ||
    file.length > MAX_PATH_CHARS ||
    !file.split('/').every((seg) => /^[A-Za-z0-9_+-][A-Za-z0-9_.+-]*$/.test(seg))
  ) {
    throw new WorkspacePathError(
      'file must be a path inside the workspace, like farfetch_p3/farfetch_p3.c (no "..", no hidden folders)',
    );
  }
  return file;
}

/** The host path of a workspace file, after checking that no symlink on the way leads outside. */
export async function resolveInWorkspace(root: string, file: string): Promise<string> {
  const rel = checkWorkspacePath(file);
  const realRoot = await realpath(root);
  const full = path.join(realRoot, ...rel.split('/'));
  let existing = full;
  // The deepest part of the path that exists must be inside the workspace once symlinks are followed.
  for (;;) {
    try {
      existing = await realpath(existing);
      break;
    } catch {
      const parent = path.dirname(existing);
      if (parent === existing) break;
      existing = parent;
    }
  }
  if (existing !== realRoot && !existing.startsWith(realRoot + path.sep)) {
    throw new WorkspacePathError(
      `${file} leads outside the workspace (a symlink): open it from its own folder`,
    );
  }
  return full;
}

export async function listWorkspaceFiles(root: string): Promise<string[]> {
  const files: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(path.join(root, rel), { withFileTypes: true });
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.') || files.length >= MAX_LISTED_FILES) continue;
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(child);
      else if (entry.isFile() && !BUILD_OUTPUT.test(entry.name)) {
        try {
          files.push(checkWorkspacePath(child));
        } catch {
          // a name the editor cannot address (spaces, …): left to the student's own editor
        }
      }
    }
  };
  await walk('');
  return files.sort();
}

export async function readWorkspaceFile(root: string, file: string): Promise<string> {
  const full = await resolveInWorkspace(root, file);
  const info = await lstat(full).catch(() => null);
  if (!info?.isFile()) throw new WorkspacePathError(`${file} is not a file in the workspace`);
  if (info.size > MAX_FILE_BYTES) {
    throw new WorkspacePathError(
      `${file} is larger than ${MAX_FILE_BYTES >> 20} MiB: open it in your own editor`,
    );
  }
  return readFile(full, 'utf8');
}

/** Writes whole or not at all (a temporary file renamed over the old one). */
export async function writeWorkspaceFile(root: string, file: string, text: string): Promise<void> {
  if (Buffer.byteLength(text) > MAX_FILE_BYTES) {
    throw new WorkspacePathError(`the text is larger than ${MAX_FILE_BYTES >> 20} MiB`);
  }
  const full = await resolveInWorkspace(root, file);
  const info = await lstat(full).catch(() => null);
  if (info && !info.isFile()) throw new WorkspacePathError(`${file} is not a file in the workspace`);
  await mkdir(path.dirname(full), { recursive: true });
  const temp = path.join(path.dirname(full), `.${path.basename(full)}.farfetchd-lab-save`);
  await writeFile(temp, text, { mode: info ? info.mode & 0o777 : 0o644 });
  await rename(temp, full);
}
