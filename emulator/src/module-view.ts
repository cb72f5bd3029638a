// The session's view of the farfetch modules loaded in its guest, whoever loaded them: the lab's
// buttons (loadModule), Build & load, or insmod typed in the terminal. Read through the agent's
// file calls (no guest process): /proc/modules, each farfetch module's build id in sysfs, and the
// image's reference .ko (once per machine); the workspace's .ko files are read on the host, where
// they live. Reads run one after the other; a read asked for while one runs is done after it,
// and one asked for while that waits shares it, so the last answer always comes from a read that
// began after the last change. A read of a machine that has since gone is dropped.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { GuestModule, ModuleName, VmStatus } from './api.ts';
import { GUEST_WORKSPACE } from './build-diagnostics.ts';
import { parseModules } from './drivers.ts';
import { readGuestBytes, readGuestFile, type AgentSession } from './guest-files.ts';
import {
  buildIdFile,
  classifyModule,
  elfBuildId,
  isFarfetchModule,
  noteBuildId,
  referenceKo,
  referenceLoaded,
  sameModules,
  type ModuleFacts,
  type WorkspaceBuild,
} from './guest-modules.ts';

export interface ModuleViewOptions {
  /** The workspace's folder on the host (shared at /root/work), if the session has one. */
  workspace: () => string | undefined;
  /** The view changed: the session's status has news. */
  changed: () => void;
  debug?: (message: string) => void;
}

export class ModuleView {
  /** What the lab's own buttons loaded last on this machine (what status says before a read). */
  private lab: ModuleName = 'none';
  /** Counts the lab's loads, so that a read begun before one does not undo what it said. */
  private labLoads = 0;
  private modules: GuestModule[] | null = null;
  private machine = 0;
  /** Per module name, the image's reference build (read once per machine). */
  private readonly references = new Map<string, Promise<ModuleFacts['reference']>>();
  private readonly builds = new Map<string, { stamp: string; buildId: string | null }>();
  private tail: Promise<void> = Promise.resolve();
  private queued: Promise<void> | null = null;

  constructor(
    private readonly session: AgentSession,
    private readonly opts: ModuleViewOptions,
  ) {}

  /** The status's fields: the reference module loaded, and every farfetch module once read. */
  status(): Pick<VmStatus, 'loadedModule' | 'farfetchModules'> {
    if (!this.modules) return { loadedModule: this.lab };
    return { loadedModule: referenceLoaded(this.modules), farfetchModules: this.modules };
  }

  /** A new machine (or none): nothing is known of it, nothing was loaded by the lab. */
  forget(): void {
    this.machine++;
    this.lab = 'none';
    this.modules = null;
    this.references.clear();
  }

  /** The lab loaded `module` (after unloading every farfetch module): said at once, then read. */
  async loaded(module: ModuleName): Promise<void> {
    this.lab = module;
    this.labLoads++;
    this.opts.changed();
    await this.refresh();
  }

  /** A machine brought back with `module` loaded by the lab (a resume): said, read once it is ready. */
  assume(module: ModuleName): void {
    this.lab = module;
    this.labLoads++;
    this.opts.changed();
  }

  /** The modules as a read that began now finds them (null when the guest could not be read). */
  async current(): Promise<GuestModule[] | null> {
    await this.refresh();
    return this.modules;
  }

  /** Reads the guest again; a change is a status event. Never throws: a guest that is gone says nothing. */
  refresh(): Promise<void> {
    if (this.queued) return this.queued;
    const read = this.tail.then(async () => {
      this.queued = null;
      await this.readOnce();
    });
    this.queued = read;
    this.tail = read;
    return read;
  }

  private async readOnce(): Promise<void> {
    const machine = this.machine;
    const loads = this.labLoads;
    let modules: GuestModule[];
    try {
      modules = await this.readGuest(machine);
    } catch (err) {
      this.opts.debug?.(`module view: ${(err as Error).message}`);
      return;
    }
    if (machine !== this.machine) return;
    // The lab's module is gone (rmmod in the terminal): what comes next is not the lab's doing.
    const labName = `farfetch_${this.lab}`;
    if (loads === this.labLoads && this.lab !== 'none' && !modules.some((m) => m.name === labName)) {
      this.lab = 'none';
    }
    if (sameModules(modules, this.modules)) return;
    this.modules = modules;
    this.opts.changed();
  }

  private async readGuest(machine: number): Promise<GuestModule[]> {
    const loaded = parseModules(await readGuestFile(this.session, '/proc/modules')).filter((m) =>
      isFarfetchModule(m.name),
    );
    if (loaded.length === 0) return [];
    const release = (await readGuestFile(this.session, '/proc/sys/kernel/osrelease')).trim();
    const workspace = await this.workspaceBuilds();
    const facts = await Promise.all(
      loaded.map(async (module) => ({
        module,
        buildId: await this.loadedBuildId(module.name),
        reference: await this.reference(machine, release, module.name),
        labLoaded: module.name === `farfetch_${this.lab}`,
      })),
    );
    return facts.map((f) => classifyModule(f, workspace));
  }

  private async loadedBuildId(name: string): Promise<string | null> {
    try {
      return noteBuildId(await readGuestBytes(this.session, buildIdFile(name), 4096));
    } catch {
      return null; // no notes (yet): a module still loading, or one built without a build id
    }
  }

  private reference(machine: number, release: string, name: string): Promise<ModuleFacts['reference']> {
    const key = `${release}/${name}`;
    let ref = this.references.get(key);
    if (!ref) {
      const ko = referenceKo(release, name);
      ref = readGuestBytes(this.session, ko, 16 << 20).then(
        (bytes) => ({ ko, buildId: elfBuildId(bytes) }),
        (err: Error) => {
          if (/No such file/i.test(err.message)) return null; // the image has no module of that name
          if (machine === this.machine) this.references.delete(key); // ask again next time
          throw err;
        },
      );
      this.references.set(key, ref);
    }
    return ref;
  }

  /** Every .ko one folder down in the workspace (farfetch_p3/farfetch_p3.ko …), by build id. */
  private async workspaceBuilds(): Promise<WorkspaceBuild[]> {
    const root = this.opts.workspace();
    if (!root) return [];
    const builds: WorkspaceBuild[] = [];
    const folders = await readdir(root, { withFileTypes: true }).catch(() => []);
    for (const folder of folders.filter((f) => f.isDirectory() && !f.name.startsWith('.'))) {
      const files = await readdir(path.join(root, folder.name)).catch(() => [] as string[]);
      for (const file of files.filter((f) => f.endsWith('.ko'))) {
        const buildId = await this.hostBuildId(path.join(root, folder.name, file));
        if (buildId) builds.push({ ko: `${GUEST_WORKSPACE}/${folder.name}/${file}`, buildId });
      }
    }
    return builds;
  }

  /** A host .ko's build id, read again only when the file changed. */
  private async hostBuildId(file: string): Promise<string | null> {
    try {
      const info = await stat(file);
      const stamp = `${info.size}:${info.mtimeMs}`;
      const known = this.builds.get(file);
      if (known?.stamp === stamp) return known.buildId;
      const buildId = elfBuildId(await readFile(file));
      this.builds.set(file, { stamp, buildId });
      return buildId;
    } catch {
      return null; // gone meanwhile (a make clean)
    }
  }
}
