// Guest shell scripts that load and unload the reference modules (run through the agent).
import type { ModuleName } from './api.ts';

export const moduleNames: readonly ModuleName[] = ['none', 'p1', 'p2', 'p3'];

export function isModuleName(value: unknown): value is ModuleName {
  return typeof value === 'string' && (moduleNames as readonly string[]).includes(value);
}

export function kernelModuleOf(module: Exclude<ModuleName, 'none'>): string {
  return `farfetch_${module}`;
}

/**
 * Loads a reference module. For p3 it then does what the handout asks of the student: read the
 * dynamically allocated major from /proc/devices and create /dev/farfetch with mknod.
 */
export function moduleLoadScript(module: Exclude<ModuleName, 'none'>): string {
  const name = kernelModuleOf(module);
  const lines = ['set -e', `modprobe ${name}`];
  if (module === 'p3') {
    lines.push(
      'major=$(awk \'$2 == "farfetch" { print $1 }\' /proc/devices)',
      '[ -n "$major" ] || { echo "farfetch is not in /proc/devices" >&2; exit 1; }',
      'rm -f /dev/farfetch',
      'mknod -m 0666 /dev/farfetch c "$major" 0',
    );
  }
  return lines.join('\n');
}

export function moduleUnloadScript(module: Exclude<ModuleName, 'none'>): string {
  const lines = ['set -e', `rmmod ${kernelModuleOf(module)}`];
  if (module === 'p3') lines.push('rm -f /dev/farfetch');
  return lines.join('\n');
}
