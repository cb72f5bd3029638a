// Whose build each loaded farfetch module is, from what the guest and the workspace hold: a loaded
// module's GNU build id (/sys/module/NAME/notes/.note.gnu.build-id, which the kernel makes from the
// .ko's SHF_ALLOC note sections) compared with the image's reference .ko and the workspace's .ko
// files. The linker hashes the whole module into the build id, so two builds of one source by two
// compilers, or in two folders, differ: the same id means the same build. Pure, and free of Node (the renderer words the status with it).
import type { GuestModule, LoadedModule, ModuleName } from './api.ts';

/** A module the lab counts as a farfetch module (the driver panel's rule too). */
export function isFarfetchModule(name: string): boolean {
  return name.includes('farfetch');
}

/** The sysfs file with a loaded module's build id note. */
export function buildIdFile(name: string): string {
  return `/sys/module/${name}/notes/.note.gnu.build-id`;
}

/** Where the image keeps its reference build of `name` (build/build-guest.sh installs them there). */
export function referenceKo(release: string, name: string): string {
  return `/lib/modules/${release}/extra/${name}.ko`;
}

const NT_GNU_BUILD_ID = 3;
const SHT_NOTE = 7;

const align4 = (n: number) => (n + 3) & ~3;

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const dataView = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** The GNU build id (hex) among ELF notes (a note section's bytes, or sysfs's notes file), or null. */
export function noteBuildId(notes: Uint8Array): string | null {
  const view = dataView(notes);
  for (let at = 0; at + 12 <= notes.length;) {
    const nameSize = view.getUint32(at, true);
    const descSize = view.getUint32(at + 4, true);
    const type = view.getUint32(at + 8, true);
    const name = at + 12;
    const desc = name + align4(nameSize);
    if (desc + descSize > notes.length) return null;
    const owner = String.fromCharCode(...notes.subarray(name, name + nameSize));
    if (type === NT_GNU_BUILD_ID && owner === 'GNU\0') {
      return descSize > 0 ? hex(notes.subarray(desc, desc + descSize)) : null;
    }
    at = desc + align4(descSize);
  }
  return null;
}

/** The GNU build id of a 64-bit little-endian ELF file (a .ko), from its note sections; or null. */
export function elfBuildId(elf: Uint8Array): string | null {
  const view = dataView(elf);
  const magic = elf.length >= 64 && view.getUint32(0) === 0x7f454c46;
  if (!magic || elf[4] !== 2 || elf[5] !== 1) return null;
  const shoff = Number(view.getBigUint64(0x28, true));
  const shentsize = view.getUint16(0x3a, true);
  const shnum = view.getUint16(0x3c, true);
  for (let i = 0; i < shnum; i++) {
    const sh = shoff + i * shentsize;
    if (sh + 64 > elf.length) return null;
    if (view.getUint32(sh + 4, true) !== SHT_NOTE) continue;
    const offset = Number(view.getBigUint64(sh + 24, true));
    const size = Number(view.getBigUint64(sh + 32, true));
    if (offset + size > elf.length) return null;
    const id = noteBuildId(elf.subarray(offset, offset + size));
    if (id) return id;
  }
  return null;
}

/** A .ko of the workspace: its guest path and build id. */
export interface WorkspaceBuild {
  ko: string;
  buildId: string;
}

/** What the lab read about one loaded farfetch module. */
export interface ModuleFacts {
  module: LoadedModule;
  /** Its build id as loaded, or null (no notes in sysfs: the module is still loading, say). */
  buildId: string | null;
  /** The image's reference build of a module of that name: its path and build id, or null (none). */
  reference: { ko: string; buildId: string | null } | null;
  /** Whether the lab's own buttons loaded it (and no read has seen it gone since). */
  labLoaded: boolean;
}

/**
 * Whose build a loaded module is: the reference's when the build ids are equal, else the student's.
 * The reference's source built in the guest by the same compiler is the same build (a workspace
 * made with the solutions, a student who pasted them): then the lab's own loading says which it was.
 */
export function classifyModule(facts: ModuleFacts, workspace: WorkspaceBuild[]): GuestModule {
  const { module, buildId, reference } = facts;
  const base = { name: module.name, state: module.state };
  const own = buildId === null ? undefined : workspace.find((w) => w.buildId === buildId);
  const isReference = buildId !== null && reference !== null && reference.buildId === buildId;
  if (isReference && (!own || facts.labLoaded)) return { ...base, origin: 'reference', ko: reference.ko };
  return own ? { ...base, origin: 'student', ko: own.ko } : { ...base, origin: 'student' };
}

/** The reference module among the loaded ones, as the lab's buttons name it (`none` if none). */
export function referenceLoaded(modules: GuestModule[]): ModuleName {
  const ref = modules.find((m) => m.origin === 'reference' && /^farfetch_p[123]$/.test(m.name));
  return ref ? (ref.name.slice('farfetch_'.length) as ModuleName) : 'none';
}

/** The status bar's words for the loaded farfetch modules: "p3 (reference)", "farfetch_p3 (yours)". */
export function describeModules(modules: GuestModule[]): string {
  if (modules.length === 0) return 'none';
  return modules
    .map((m) =>
      m.origin === 'reference' ? `${m.name.replace(/^farfetch_/, '')} (reference)` : `${m.name} (yours)`,
    )
    .join(', ');
}

/** Whether two reads of the guest say the same (so a new read is no news). */
export function sameModules(a: GuestModule[] | null, b: GuestModule[] | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
