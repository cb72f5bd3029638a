// The driver panel's facts: /proc/devices and /proc/modules parsed (/dev's nodes:
// guest-listings.ts), the farfetch registration chain judged step by step, and ioctl request
// numbers decoded. Pure.
import type { ChainStep, DeviceMajor, DeviceNode, DriverReport, LoadedModule } from './api.ts';
import { GuestOutputError } from './guest-parse.ts';

export const FARFETCH_NODE = '/dev/farfetch';

/** /proc/devices: "Character devices:" then "  1 mem" lines, a blank line, "Block devices:" … */
export function parseDevices(text: string): DeviceMajor[] {
  const majors: DeviceMajor[] = [];
  let kind: DeviceMajor['kind'] | null = null;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('Character devices:')) kind = 'char';
    else if (line.startsWith('Block devices:')) kind = 'block';
    else {
      const m = /^\s*(\d+)\s+(\S.*?)\s*$/.exec(line);
      if (!m || !kind) throw new GuestOutputError(`not a /proc/devices line: ${line.slice(0, 120)}`);
      majors.push({ kind, major: Number(m[1]), name: m[2]! });
    }
  }
  return majors;
}

/** /proc/modules: "name size refcount users state address [taints]". */
export function parseModules(text: string): LoadedModule[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const m = /^(\S+) (\d+) (-?\d+) \S+ (\S+)/.exec(line);
      if (!m) throw new GuestOutputError(`not a /proc/modules line: ${line.slice(0, 120)}`);
      return { name: m[1]!, size: Number(m[2]), refcount: Number(m[3]), state: m[4]! };
    });
}

/** "the reference build, " or "your build, " when the lab could tell whose build it is. */
function buildWord(m: LoadedModule): string {
  return m.origin === 'reference' ? 'the reference build, ' : m.origin === 'student' ? 'your build, ' : '';
}

/** The line that makes /dev/farfetch right for major `major` (the handout's own command). */
export function mknodLine(major: number): string {
  return `mknod -m 0666 ${FARFETCH_NODE} c ${major} 0`;
}

/**
 * module loaded → major N in /proc/devices → /dev/farfetch exists → a character node with
 * major N → mode 0666, each ✔ or ✘ with its reason; and, for a missing or stale node, the
 * commands that fix it (to be pasted into the terminal by the student, never run for them).
 */
export function registrationChain(
  majors: DeviceMajor[],
  modules: LoadedModule[],
  node: DeviceNode | null,
): Pick<DriverReport, 'chain' | 'farfetchMajor' | 'fix'> {
  const loaded = modules.filter((m) => m.name.includes('farfetch'));
  const major = majors.find((m) => m.kind === 'char' && m.name === 'farfetch')?.major ?? null;
  const chain: ChainStep[] = [
    {
      name: 'module loaded',
      ok: loaded.length > 0,
      detail: loaded.length
        ? `${loaded.map((m) => `${m.name} (${buildWord(m)}${m.state})`).join(', ')} in /proc/modules`
        : 'no farfetch module in /proc/modules: load one (p3, or insmod yours)',
    },
    {
      name: 'major in /proc/devices',
      ok: major !== null,
      detail:
        major !== null
          ? `farfetch has character major ${major}`
          : 'no "farfetch" under Character devices: the module did not register_chrdev',
    },
    {
      name: `${FARFETCH_NODE} exists`,
      ok: node !== null,
      detail: node ? `${node.path} is there` : `there is no ${FARFETCH_NODE}`,
    },
  ];
  const isChar = node?.type === 'char';
  const rightMajor = isChar && major !== null && node?.major === major;
  chain.push({
    name: `character node with major ${major ?? 'N'}`,
    ok: rightMajor,
    detail: !node
      ? 'no node to look at'
      : !isChar
        ? `${node.path} is a ${node.type}, not a character device`
        : major === null
          ? `${node.path} is c ${node.major}:${node.minor}, but no farfetch major is registered`
          : rightMajor
            ? `c ${node.major}:${node.minor}`
            : `stale: c ${node.major}:${node.minor}, but farfetch has major ${major} (left from an earlier load?)`,
  });
  const modeOk = node?.mode === '0666';
  chain.push({
    name: 'mode 0666',
    ok: modeOk,
    detail: node ? `mode ${node.mode}` : 'no node to look at',
  });
  let fix: DriverReport['fix'] = null;
  if (major !== null && !node) {
    fix = { explanation: `${FARFETCH_NODE} is missing: create it`, commands: [mknodLine(major)] };
  } else if (major !== null && node && !rightMajor) {
    fix = {
      explanation: `${FARFETCH_NODE} is stale: remove it and create it with major ${major}`,
      commands: [`rm ${FARFETCH_NODE}`, mknodLine(major)],
    };
  } else if (major !== null && node && !modeOk) {
    fix = {
      explanation: `${FARFETCH_NODE} has mode ${node.mode}`,
      commands: [`chmod 0666 ${FARFETCH_NODE}`],
    };
  }
  return { chain, farfetchMajor: major, fix };
}

export interface IoctlFields {
  /** "none", "write" (_IOW: user → kernel), "read" (_IOR), "read/write" (_IOWR) */
  direction: 'none' | 'write' | 'read' | 'read/write';
  /** The type ("magic") byte, and as a character when printable. */
  type: number;
  typeChar: string | null;
  nr: number;
  size: number;
  /** How it is written with the kernel's macros, e.g. "_IOWR('f', 1, 24 bytes)". */
  macro: string;
}

const DIRECTIONS: IoctlFields['direction'][] = ['none', 'write', 'read', 'read/write'];
const MACROS = ['_IO', '_IOW', '_IOR', '_IOWR'];

/**
 * x86's `_IOC` layout (include/uapi/asm-generic/ioctl.h): nr bits 0..7, type 8..15, size 16..29,
 * direction 30..31 (1 write, 2 read). `text` is hex (0x…) or decimal; a reason when it is not.
 */
export function decodeIoctl(text: string): IoctlFields | string {
  const t = text.trim();
  if (!/^(0[xX][0-9a-fA-F]{1,8}|[0-9]{1,10})$/.test(t)) {
    return `"${text}" is not a request number: type it in hex (0xc0186601) or decimal`;
  }
  const value = Number(t);
  if (value > 0xffffffff) return `${t} is beyond 32 bits: ioctl request numbers are 32-bit`;
  const dir = (value >>> 30) & 3;
  const type = (value >>> 8) & 0xff;
  const nr = value & 0xff;
  const size = (value >>> 16) & 0x3fff;
  const typeChar = type >= 0x20 && type < 0x7f ? String.fromCharCode(type) : null;
  const typeText = typeChar ? `'${typeChar}'` : `0x${type.toString(16)}`;
  return {
    direction: DIRECTIONS[dir]!,
    type,
    typeChar,
    nr,
    size,
    macro: dir === 0 ? `_IO(${typeText}, ${nr})` : `${MACROS[dir]}(${typeText}, ${nr}, ${size} bytes)`,
  };
}
