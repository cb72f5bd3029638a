// What the window may load, ask for and open, as pure functions (unit-tested without Electron).
// The renderer is served from the privileged app:// scheme rather than file://, so it has a real
// origin, gets its CSP as a header, and cannot read other files on the disk.
import path from 'node:path';
import { CONTENT_SECURITY_POLICY, SECURITY_HEADERS, contentType, staticFile } from '../emulator/src/serve.ts';

export const APP_SCHEME = 'app';
export const APP_HOST = 'lab';
export const APP_URL = `${APP_SCHEME}://${APP_HOST}/index.html`;

export interface AppResponse {
  status: number;
  file?: string;
  headers: Record<string, string>;
}

/** The answer to an app:// request: a file of the built renderer, or 404. */
export function resolveAppRequest(requestUrl: string, rendererDir: string): AppResponse {
  const headers = { 'Content-Security-Policy': CONTENT_SECURITY_POLICY, ...SECURITY_HEADERS };
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return { status: 404, headers };
  }
  const file =
    url.protocol === `${APP_SCHEME}:` && url.host === APP_HOST ? staticFile(rendererDir, url.pathname) : null;
  if (!file) return { status: 404, headers };
  return { status: 200, file, headers: { ...headers, 'Content-Type': contentType(file) } };
}

/** The built renderer, next to the bundled main (electron/dist/main.cjs → renderer/dist). */
export function rendererDir(mainDir: string): string {
  return path.join(mainDir, '..', '..', 'renderer', 'dist');
}

/** Permissions the app's own page gets: the clipboard (copy and paste in the terminal). Nothing else. */
export function allowPermission(permission: string, requestingUrl: string | undefined): boolean {
  if (!requestingUrl) return false;
  let url: URL;
  try {
    url = new URL(requestingUrl);
  } catch {
    return false;
  }
  // (URL.origin is "null" for a scheme Node does not know, so compare the parts.)
  return (
    url.protocol === `${APP_SCHEME}:` &&
    url.host === APP_HOST &&
    (permission === 'clipboard-read' || permission === 'clipboard-sanitized-write')
  );
}

/** A link the student clicked in the terminal opens in the system browser if it is http(s). */
export function externalUrl(url: string): string | null {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null;
  } catch {
    return null;
  }
}

/**
 * What an installed app adds to the environment the lab reads: its guest image and, where the
 * installer bundles one (macOS, Windows), its QEMU. Anything the user set already wins.
 */
export function packagedEnv(
  resourcesPath: string,
  env: Record<string, string | undefined>,
  platform: NodeJS.Platform,
  exists: (file: string) => boolean,
): Record<string, string> {
  const p = platform === 'win32' ? path.win32 : path.posix;
  const exe = (name: string) =>
    p.join(resourcesPath, 'qemu', 'bin', platform === 'win32' ? `${name}.exe` : name);
  const wanted: Record<string, string> = {
    FARFETCHD_LAB_IMAGE: p.join(resourcesPath, 'guest'),
    FARFETCHD_LAB_QEMU: exe('qemu-system-x86_64'),
    FARFETCHD_LAB_QEMU_IMG: exe('qemu-img'),
  };
  const added: Record<string, string> = {};
  for (const [name, value] of Object.entries(wanted)) {
    if (!env[name] && exists(value)) added[name] = value;
  }
  return added;
}
