// How the page-table panel puts a walk into words and colours (pure, tested): level names and
// colours, the diff of two walks of the same address, the text export, and the terminal's
// address links (a hex address and the pid printed nearest to it).
import type { PageWalkResult, WalkLevel, WalkLevelName } from '../../../emulator/src/api.ts';
import { flagNames, levelNames, splitAddress } from '../../../emulator/src/pagewalk.ts';

export const LEVEL_TITLES: Record<WalkLevelName | 'offset', string> = {
  pgd: 'PGD',
  p4d: 'P4D',
  pud: 'PUD',
  pmd: 'PMD',
  pte: 'PTE',
  offset: 'offset',
};

/** One colour per level, the same in the address split and in the level's box. */
export const LEVEL_COLOURS: Record<WalkLevelName | 'offset', string> = {
  pgd: '#e06c75',
  p4d: '#d19a66',
  pud: '#c9a227',
  pmd: '#4fa34f',
  pte: '#3d8fd6',
  offset: '#b267d1',
};

export function pageSizeText(bytes: number | null): string {
  if (bytes === null) return '';
  if (bytes >= 2 ** 30) return `${bytes / 2 ** 30} GiB page`;
  if (bytes >= 2 ** 20) return `${bytes / 2 ** 20} MiB page`;
  return `${bytes / 1024} KiB page`;
}

/** The names of the bits that are set, in the hardware's order for the level. */
export function setFlags(level: WalkLevel): string[] {
  return flagNames(level.level).filter((name) => level.flags[name]);
}

/** What changed in a level since the previous walk of the same address. */
export interface LevelChange {
  raw?: { before: string; after: string };
  /** Bits that went from clear to set (+A) or set to clear (−D). */
  bits: string[];
  nextPhys?: { before: string | null; after: string | null };
  /** The level was not reached before (or is not now). */
  appeared?: boolean;
}

/** Per level, what is different between two walks of the same pid and address; and the frame. */
export function diffWalks(
  before: PageWalkResult,
  after: PageWalkResult,
): {
  levels: Partial<Record<WalkLevelName, LevelChange>>;
  phys: { before: string | null; after: string | null } | null;
} {
  const levels: Partial<Record<WalkLevelName, LevelChange>> = {};
  for (const level of levelNames(after.guest.levels)) {
    const a = before.guest.walk.find((l) => l.level === level);
    const b = after.guest.walk.find((l) => l.level === level);
    if (!a && !b) continue;
    if (!a || !b) {
      levels[level] = { bits: [], appeared: true };
      continue;
    }
    if (a.raw === b.raw) continue;
    const bits = flagNames(level).flatMap((name) =>
      a.flags[name] === b.flags[name] ? [] : [`${b.flags[name] ? '+' : '−'}${name}`],
    );
    const change: LevelChange = { raw: { before: a.raw, after: b.raw }, bits };
    if (a.nextPhys !== b.nextPhys) change.nextPhys = { before: a.nextPhys, after: b.nextPhys };
    levels[level] = change;
  }
  const phys =
    before.guest.phys === after.guest.phys ? null : { before: before.guest.phys, after: after.guest.phys };
  return { levels, phys };
}

/** The host's verdict in the panel's words. */
export function verificationText(result: PageWalkResult): string {
  const host = result.host;
  if (host.verified) return 'verified by the host';
  const where =
    host.disagreeAt === 'phys'
      ? 'the physical address'
      : (LEVEL_TITLES[host.disagreeAt as WalkLevelName] ?? host.disagreeAt);
  return `the host disagrees at ${where}: ${host.difference}`;
}

export function pagemapText(result: PageWalkResult): string {
  const p = result.pagemap;
  if (p.agrees === null) return `pagemap: not present (entry ${p.entry}), as the walk says`;
  if (p.agrees) return `pagemap: frame ${p.frame}, the same as the walk's`;
  return `pagemap MISMATCH: pagemap says ${p.present ? `frame ${p.frame}` : 'not present'} (entry ${p.entry}), the walk ${result.guest.phys ?? 'not present'}`;
}

/** A walk as plain text for a lab report. */
export function walkToText(result: PageWalkResult): string {
  const g = result.guest;
  const addr = BigInt(g.addr);
  const lines = [
    `Page walk of ${g.addr} in pid ${g.pid} (${g.levels}-level paging${g.levels === 4 ? ', P4D folded' : ''}), ${result.at}`,
    `pgd physical address (CR3): ${g.pgdPhys}`,
    'address: ' +
      splitAddress(addr, g.levels)
        .map(
          (p) =>
            `${LEVEL_TITLES[p.level]} ${p.level === 'offset' ? `0x${p.value.toString(16)}` : p.value} (bits ${p.bits[0]}..${p.bits[1]})`,
        )
        .join(' | '),
  ];
  for (const l of g.walk) {
    const next = l.nextPhys ? ` -> table ${l.nextPhys}` : '';
    lines.push(
      `${LEVEL_TITLES[l.level].padEnd(3)} [${String(l.index).padStart(3)}] entry at ${l.entryPhys} = ${l.raw}  ${setFlags(l).join(' ') || '(none)'}${next}`,
    );
  }
  lines.push(
    g.present ? `Physical address ${g.phys} (${pageSizeText(g.pageSize)})` : `The walk stops: ${g.stop}`,
    `Host re-walk (${result.host.method}): ${verificationText(result)}`,
    pagemapText(result),
  );
  return lines.join('\n') + '\n';
}

export interface HexLink {
  /** 0-based column of the first character, and the length. */
  start: number;
  length: number;
  addr: string;
}

/** Hex addresses in a terminal line (0x and 4..16 digits, not inside a longer word). */
export function findHexLinks(line: string): HexLink[] {
  const links: HexLink[] = [];
  for (const m of line.matchAll(/(?<![0-9A-Za-z_])0x[0-9a-fA-F]{4,16}(?![0-9A-Za-z_])/g)) {
    links.push({ start: m.index, length: m[0].length, addr: m[0].toLowerCase() });
  }
  return links;
}

/** The pid of the `pid: N` line nearest to `row` (above first when equally near), or null. */
export function nearestPid(lines: string[], row: number): number | null {
  for (let distance = 0; distance < lines.length; distance++) {
    for (const r of [row - distance, row + distance]) {
      const m = r >= 0 && r < lines.length ? /(?:^|\s)pid: (\d+)/.exec(lines[r]!) : null;
      if (m) return Number(m[1]);
    }
  }
  return null;
}
