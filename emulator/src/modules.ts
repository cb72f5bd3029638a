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
 * Unloads every farfetch module, whoever loaded it (the lab, Build & load, insmod in the terminal):
 * in /proc/modules' order, the newest first, so stacked modules go in reverse load order. If one
 * of them had registered the farfetch device, its /dev/farfetch goes too (its major is free now).
 */
export function unloadFarfetchLines(): string[] {
  return [
    'had_device=$(awk \'$2 == "farfetch" { print $1 }\' /proc/devices)',
    'for m in $(awk \'$1 ~ /farfetch/ { print $1 }\' /proc/modules); do rmmod "$m"; done',
    '[ -z "$had_device" ] || rm -f /dev/farfetch',
  ];
}

/**
 * Unloads every farfetch module, then loads a reference module (`none`: nothing). For p3 it then
 * does what the handout asks of the student: read the dynamically allocated major from
 * /proc/devices and create /dev/farfetch with mknod.
 */
export function moduleSwapScript(module: ModuleName): string {
  const lines = ['set -e', ...unloadFarfetchLines()];
  if (module === 'none') return lines.join('\n');
  lines.push(`modprobe ${kernelModuleOf(module)}`);
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
