// One part's folder of a student workspace, generated from the reference module: its own
// Makefile and sources, the shared headers it includes copied in beside them (kernel-module/
// common/ is not there in a student's folder), every marked solution stripped (skeleton) or its
// markers removed (solution). Pure over the file texts; readPartSources does the reading.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { renderExercise, type RenderMode } from './exercise-markers.ts';
import { isModuleSource } from './lab-data.ts';

export type Part = 1 | 2 | 3;

/** A file of a generated folder: its path relative to the folder, its text, its mode. */
export interface GeneratedFile {
  path: string;
  text: string;
  mode: number;
}

/** The reference texts a part is made from: its own folder's files and the shared headers. */
export interface PartSources {
  part: Part;
  /** kernel-module/farfetch_pN/: name → text (Makefile, .c, .h). */
  own: Record<string, string>;
  /** kernel-module/common/: name → text (headers, and module.mk for the Makefile). */
  common: Record<string, string>;
}

export const partFolder = (part: Part): string => `farfetch_p${part}`;

const COMMON_INCLUDE = /^ccflags-y\s*\+?=\s*-I\$\(src\)\/\.\.\/common\s*$/;
/** `include` of a make file in common/ (module.mk: the folder's own `make`). */
const COMMON_MAKE_INCLUDE =
  /^include \$\(dir \$\(lastword \$\(MAKEFILE_LIST\)\)\)\.\.\/common\/([\w.-]+)\s*$/;
const LOCAL_INCLUDE = /^\s*#\s*include\s+"([^"]+)"/gm;

/**
 * The Makefile of a self-contained folder: the reference's, without its ../common include path,
 * and with the make files it includes from common/ copied in where they were included.
 */
export function selfContainedMakefile(
  makefile: string,
  folder: string,
  common: Record<string, string> = {},
): string {
  const kept = makefile.split('\n').flatMap((line) => {
    if (COMMON_INCLUDE.test(line)) return [];
    const included = COMMON_MAKE_INCLUDE.exec(line)?.[1];
    if (included === undefined) return [line];
    const text = common[included];
    if (text === undefined) {
      throw new Error(`${folder}/Makefile includes ${included}, which is not in kernel-module/common`);
    }
    return text.replace(/\n$/, '').split('\n');
  });
  const outside = kept.find((line) => line.includes('../'));
  if (outside !== undefined) {
    throw new Error(
      `${folder}/Makefile still reaches outside its folder ('${outside.trim()}'): make it self-contained`,
    );
  }
  return kept.join('\n');
}

/**
 * The part's folder: Makefile, its sources and the shared headers they include (transitively),
 * each .c and .h rendered in `mode`. Throws a MarkerError for a bad marker, or an Error for an
 * include found neither in the part's folder nor in common/.
 */
export function assemblePart(sources: PartSources, mode: RenderMode): GeneratedFile[] {
  const folder = partFolder(sources.part);
  const makefile = sources.own['Makefile'];
  if (makefile === undefined) throw new Error(`kernel-module/${folder} has no Makefile`);
  const files: GeneratedFile[] = [
    { path: 'Makefile', text: selfContainedMakefile(makefile, folder, sources.common), mode: 0o644 },
  ];
  const origin = new Map<string, string>();
  const pending = Object.keys(sources.own).filter((name) => /\.[ch]$/.test(name));
  for (const name of pending) origin.set(name, `kernel-module/${folder}/${name}`);
  while (pending.length) {
    const name = pending.shift()!;
    const text = sources.own[name] ?? sources.common[name]!;
    for (const [, included] of text.matchAll(LOCAL_INCLUDE)) {
      if (origin.has(included!)) continue;
      if (sources.own[included!] === undefined && sources.common[included!] === undefined) {
        throw new Error(
          `${origin.get(name)} includes "${included}", which is neither in kernel-module/${folder} nor in kernel-module/common`,
        );
      }
      origin.set(
        included!,
        sources.own[included!] !== undefined
          ? `kernel-module/${folder}/${included}`
          : `kernel-module/common/${included}`,
      );
      pending.push(included!);
    }
    files.push({ path: name, text: renderExercise(text, mode, origin.get(name)), mode: 0o644 });
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

async function readTexts(dir: string, keep: (name: string) => boolean): Promise<Record<string, string>> {
  const texts: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isFile() && keep(entry.name))
      texts[entry.name] = await readFile(path.join(dir, entry.name), 'utf8');
  }
  return texts;
}

/** The reference texts of a part from a kernel-module/ folder. */
export async function readPartSources(moduleDir: string, part: Part): Promise<PartSources> {
  return {
    part,
    own: await readTexts(path.join(moduleDir, partFolder(part)), isModuleSource),
    common: await readTexts(path.join(moduleDir, 'common'), (name) => /\.(h|mk)$/.test(name)),
  };
}
