// Compiler messages from a `make` in the guest, turned into places in workspace files: what the
// editor's file:line links open. Pure.
import path from 'node:path';
import type { BuildDiagnostic } from './api.ts';

/** Where the workspace is in the guest (virtio-9p). */
export const GUEST_WORKSPACE = '/root/work';

const MESSAGE = /^(.+?):(\d+)(?::(\d+))?: (fatal error|error|warning|note): (.*)$/;

/**
 * The workspace-relative path of `file` as gcc printed it, or null when it is not in the
 * workspace. Kbuild compiles from the kernel's build tree (`make -C KDIR M=…`), so a module's own
 * files are named by absolute guest paths, and a relative one (`./include/linux/…`) is the kernel's.
 */
export function workspacePathOf(file: string): string | null {
  if (!file.startsWith('/')) return null;
  const abs = path.posix.normalize(file);
  if (!abs.startsWith(GUEST_WORKSPACE + '/')) return null;
  return abs.slice(GUEST_WORKSPACE.length + 1);
}

/** Every `file:line[:col]: error|warning|note: message` about a workspace file, in order, once each. */
export function parseDiagnostics(output: string): BuildDiagnostic[] {
  const seen = new Set<string>();
  const found: BuildDiagnostic[] = [];
  // gcc colours only for a terminal (not here), but a stray colour escape must not hide a message.
  // eslint-disable-next-line no-control-regex -- the escape is what is being removed
  for (const raw of output.replace(/\x1b\[[0-9;]*[mK]/g, '').split('\n')) {
    const m = MESSAGE.exec(raw.trimEnd());
    if (!m) continue;
    const file = workspacePathOf(m[1]!.trim());
    if (file === null) continue;
    const severity = m[4] === 'note' ? 'note' : m[4] === 'warning' ? 'warning' : 'error';
    const diagnostic: BuildDiagnostic = {
      file,
      line: Number(m[2]),
      column: m[3] === undefined ? null : Number(m[3]),
      severity,
      message: m[5]!,
    };
    const key = JSON.stringify(diagnostic);
    if (seen.has(key)) continue;
    seen.add(key);
    found.push(diagnostic);
  }
  return found;
}
