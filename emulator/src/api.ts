// The typed contract between any UI (Electron renderer, browser mode) and the backend.
// Types only: no Node imports, so the renderer and the preload can import it as is.
import type { ExerciseApi } from './api-exercise.ts';

export type * from './api-exercise.ts';

export type Accelerator = 'kvm' | 'hvf' | 'whpx' | 'tcg';

export type VmState = 'stopped' | 'booting' | 'ready' | 'crashed' | 'stopping' | 'suspending';

/** A boot step, in the order they happen. */
export type BootStep = 'qemu-started' | 'kernel-up' | 'init' | 'agent-ready' | 'module-loaded';

export type ModuleName = 'none' | 'p1' | 'p2' | 'p3';

export interface AcceleratorInfo {
  accel: Accelerator;
  /** e.g. "TCG — no hardware acceleration: slower" */
  label: string;
  /** Why a faster accelerator was not used, if one was probed and refused. */
  fallbackReason?: string;
  /** How this choice was reached (absent when a caller chose it, e.g. a test). */
  source?: AcceleratorSource;
}

export interface CrashInfo {
  /** "panic" | "oops" | "bug" | "pvpanic" */
  kind: string;
  /** The first line that showed the crash, e.g. "Kernel panic - not syncing: sysrq triggered crash". */
  headline: string;
  /** The console text around the crash (the oops/panic log). */
  log: string;
  at: string;
}

export interface VmStatus {
  state: VmState;
  bootSteps: { step: BootStep; atMs: number }[];
  accelerator?: AcceleratorInfo;
  /** Milliseconds since the guest became ready, or null. */
  uptimeMs: number | null;
  /**
   * The reference module loaded in the guest (the lab's buttons, or `modprobe` in the terminal), or
   * `none`; from `farfetchModules` once the guest has been read.
   */
  loadedModule: ModuleName;
  /**
   * Every farfetch module loaded in the guest, whoever loaded it (the buttons, Build & load, insmod
   * in the terminal) and whose build it is, as last read from /proc/modules (after a module
   * operation, a command typed in the terminal, a status request); absent until read on this machine.
   */
  farfetchModules?: GuestModule[];
  kernelRelease?: string;
  crash?: CrashInfo;
  /** Why the last boot failed. */
  error?: string;
  /**
   * Why the machine is `stopped` or `crashed` when nobody asked for it through the lab, in one
   * line for the status bar and the CLI: "the guest powered off", "QEMU exited (code 1)",
   * "QEMU was killed (SIGKILL)". Absent after a stop the user asked for.
   */
  stopReason?: string;
  /**
   * The machine this workspace saved with Suspend, while it waits to be resumed (shown next to
   * Start as "Resume"). Absent when there is none.
   */
  savedSession?: SavedSessionInfo;
}

/** A suspended machine on disk (saved-sessions.ts). */
export interface SavedSessionInfo {
  /** ISO time of the suspend. */
  savedAt: string;
  /** The reference module that was loaded. */
  module: ModuleName;
}

/**
 * A farfetch module in the guest. `reference`: the image's own build of it (/lib/modules/…/extra,
 * the same build id); `student`: any other build of it, the student's.
 */
export interface GuestModule {
  /** As /proc/modules names it, e.g. `farfetch_p3`. */
  name: string;
  origin: 'reference' | 'student';
  /** /proc/modules' state: Live, Loading, Unloading. */
  state: string;
  /**
   * The guest path of the .ko it was loaded from, when the lab can tell: the reference's, or the
   * workspace's .ko of the same build (`/root/work/farfetch_p3/farfetch_p3.ko`). Absent for a
   * student's build no .ko in the workspace matches (rebuilt since it was loaded, or made elsewhere).
   */
  ko?: string;
}

/** How the accelerator in use was chosen. */
export type AcceleratorSource = 'forced' | 'probe' | 'remembered' | 'watchdog';

/** One thing `farfetchd-lab doctor` and the System page report, with what to do when it is wrong. */
export interface SystemCheck {
  /** e.g. "QEMU", "guest image", "accelerator", "free disk", "cache" */
  name: string;
  ok: boolean;
  /** What was found, one line: a path and version, a hash, a verdict and its reason, a size. */
  detail: string;
  /**
   * What to do about it, one line: always when not ok; also for a working but slower choice
   * (TCG because the hardware accelerator is absent or did not boot the guest).
   */
  fix?: string;
}

/** What the lab found on this host: the data behind `farfetchd-lab doctor` and the System page. */
export interface SystemReport {
  qemu: { path?: string; version?: string };
  image: { dir: string; key?: string; kernelRelease?: string };
  /** Absent when it could not be decided (no QEMU or no guest image to probe with). */
  accelerator?: AcceleratorInfo & {
    source: AcceleratorSource;
    /** When the verdict was reached (ISO time), and how long its probe took. */
    decidedAt?: string;
    probeMs?: number;
  };
  /** Free space on the disk of the cache folder (the checks cover the other folders' disks too). */
  disk: { path: string; freeBytes: number };
  caches: { name: string; path: string; bytes: number }[];
  /**
   * The warm snapshots (`caches`' "warm snapshots" is their sum): the space of the live ones, of
   * those no image folder registered, and each file the next session removes (its image is gone,
   * a copy left unfinished, or an unregistered snapshot unused for 30 days).
   */
  warmSnapshots?: {
    liveBytes: number;
    /** Of images no folder registered: kept until unused for 30 days (then in `stale`). */
    unregisteredBytes: number;
    staleBytes: number;
    stale: {
      path: string;
      bytes: number;
      reason: 'image gone' | 'unfinished copy' | 'unregistered and old';
    }[];
  };
  checks: SystemCheck[];
}

/** The page-table levels, top down. With 4-level paging the p4d is folded into the pgd. */
export type WalkLevelName = 'pgd' | 'p4d' | 'pud' | 'pmd' | 'pte';

/** One level of a walk: the entry, where it is, what it says and where it leads. */
export interface WalkLevel {
  level: WalkLevelName;
  /** The 9-bit index of the entry in its table. */
  index: number;
  /** Physical address of the entry itself ("0x…"). */
  entryPhys: string;
  /** The entry's 64-bit value ("0x…"). */
  raw: string;
  /** Bit names as the hardware names them at this level (bit 7 is PS above the pte, PAT at it). */
  flags: Record<string, boolean>;
  /** Physical address of the next table, or null (a leaf, or an entry that is not present). */
  nextPhys: string | null;
}

/** A walk of one address in one process's page tables (the guest's or the host's). */
export interface PageWalk {
  pid: number;
  addr: string;
  /** 5 with LA57 on, else 4 (the p4d is then folded: no entry of its own). */
  levels: 4 | 5;
  /** Physical address of the top table (mm->pgd). */
  pgdPhys: string;
  walk: WalkLevel[];
  present: boolean;
  /** Physical address of `addr` (frame + offset), or null. */
  phys: string | null;
  /** Size of the page that maps `addr` (4096, 2 MiB at a pmd leaf, 1 GiB at a pud leaf), or null. */
  pageSize: number | null;
  /** Why the walk stopped before a frame ("not present at pmd"), or null. */
  stop: string | null;
}

/** The host's own walk of the same tables, from guest physical memory (QMP), and how it compares. */
export interface HostVerification {
  walk: PageWalk;
  /** True when every level's entry (address and value) and the physical address are the same. */
  verified: boolean;
  /** The first level where the two walks differ ("phys" for the final address), or null. */
  disagreeAt: WalkLevelName | 'phys' | 'levels' | null;
  /** What differs, in one line, or null. */
  difference: string | null;
  /** How the host read guest memory ("xp") and how long its walk took. */
  method: string;
  ms: number;
}

/** `/proc/PID/pagemap`'s word for the page of `addr` (read in the guest as root). */
export interface PagemapCheck {
  /** The 64-bit entry ("0x…"). */
  entry: string;
  present: boolean;
  /** The frame's physical address ("0x…", pfn << 12), or null when not present. */
  frame: string | null;
  /** Whether the walk's frame equals pagemap's (null when neither has one). */
  agrees: boolean | null;
}

export interface PageWalkResult {
  guest: PageWalk;
  host: HostVerification;
  pagemap: PagemapCheck;
  /** When it was walked (ISO time) and how long the guest's part took. */
  at: string;
  guestMs: number;
}

/** Where a module's `function+0xoff` is in its source (faddr2line on the module's .ko, in the guest). */
export interface SourceLocation {
  function: string;
  /** The source file, as the .ko's debug info names it (absolute in the guest). */
  file: string;
  line: number;
  /** The .ko it was resolved with. */
  ko: string;
}

/** A process the page-table panel can look into. */
export interface ProcessInfo {
  pid: number;
  user: string;
  command: string;
  /** One of the assignment's targets (mmap, malloc, strlit, fork, twecho, bag). */
  target: boolean;
}

/** One line of /proc/PID/maps. */
export interface Mapping {
  start: string;
  end: string;
  /** "rw-p" */
  perms: string;
  offset: string;
  dev: string;
  inode: number;
  /** Path, "[heap]", "[stack]", or "" for an anonymous mapping. */
  name: string;
}

/** A major from /proc/devices. */
export interface DeviceMajor {
  kind: 'char' | 'block';
  major: number;
  name: string;
}

/** A node in /dev. */
export interface DeviceNode {
  path: string;
  /** "char", "block", "file", "directory", "symlink", "other" */
  type: string;
  major: number | null;
  minor: number | null;
  /** Permission bits in octal, e.g. "0666". */
  mode: string;
}

/** A line of /proc/modules. */
export interface LoadedModule {
  name: string;
  size: number;
  refcount: number;
  state: string;
  /** For a farfetch module: whose build it is (GuestModule's origin), when the lab could tell. */
  origin?: GuestModule['origin'];
}

/** One step of the farfetch registration chain. */
export interface ChainStep {
  name: string;
  ok: boolean;
  detail: string;
}

export interface DriverReport {
  majors: DeviceMajor[];
  nodes: DeviceNode[];
  modules: LoadedModule[];
  /** module loaded → major N in /proc/devices → /dev/farfetch exists → char node with major N → mode 0666 */
  chain: ChainStep[];
  /** The farfetch character major, or null when /proc/devices has none. */
  farfetchMajor: number | null;
  /** What makes the node right, when it is missing or stale: the lines to type, else null. */
  fix: { explanation: string; commands: string[] } | null;
}

/** Errors cross every boundary (IPC, WebSocket) in this shape. */
export interface ApiError {
  code: string;
  message: string;
}

/** Requests from a UI to the backend: one method per message. */
export interface LabApi extends ExerciseApi {
  status(): Promise<VmStatus>;
  start(): Promise<VmStatus>;
  stop(): Promise<VmStatus>;
  /** A clean guest: the warm snapshot loaded into the same QEMU where it can, else a new machine. */
  reset(): Promise<VmStatus>;
  loadModule(module: ModuleName): Promise<VmStatus>;
  /**
   * Saves the whole running machine (processes, module, shells and their history) and stops it.
   * Refused, with the machine left as it was, when something holds the workspace share: the
   * error (code ESUSPEND) names each program and says what to do.
   */
  suspend(): Promise<VmStatus>;
  /** Brings back the machine saved by suspend() (from `status().savedSession`), instead of start(). */
  resume(): Promise<VmStatus>;
  /** Keystrokes for the guest console. */
  consoleInput(data: string): Promise<void>;
  consoleResize(cols: number, rows: number): Promise<void>;
  /** Acknowledges this many characters of console output this client has rendered (flow control). */
  consoleAck(bytes: number): Promise<void>;
  /** What the lab found on this host (the System page). */
  systemReport(): Promise<SystemReport>;
  /** Probes the accelerator again (forgetting the remembered verdict) and reports what it found. */
  probeAccelerator(): Promise<SystemReport>;
  /** The guest's user processes (the page-table panel's list). */
  processes(): Promise<ProcessInfo[]>;
  /** /proc/PID/maps of a guest process, as a table. */
  mappings(pid: number): Promise<Mapping[]>;
  /**
   * The walk of `addr` ("0x…" or decimal) in `pid`'s page tables: the guest's (lab-ptwalk), the
   * host's own re-walk of guest memory compared with it, and pagemap's frame.
   */
  pageWalk(pid: number, addr: string): Promise<PageWalkResult>;
  /** Majors, /dev nodes, loaded modules and the farfetch registration chain. */
  drivers(): Promise<DriverReport>;
  /**
   * The recent kernel log as the kernel's own console printed it (hvc0, read by the host: errors
   * and worse, the guest runs with `quiet`), empty before a boot.
   */
  kernelLog(): Promise<string>;
  /**
   * `function+0xoff/0xlen` in a loaded module (as an oops prints it, `[module]` after it) → its
   * file:line, with faddr2line on the module's .ko in the guest; null when the .ko has no line
   * for it (built without debug info).
   */
  resolveKernelAddress(module: string, symbolOffset: string): Promise<SourceLocation | null>;
}

/** Pushed from the backend to a UI. */
export type LabEvent =
  | { type: 'status'; status: VmStatus }
  /**
   * Console output for this client, in order, each character once. `skipped`: this many characters
   * came before `data` that this client will never get (it fell further behind than the backend's
   * scrollback).
   */
  | { type: 'console'; data: string; skipped?: number }
  | { type: 'crash'; crash: CrashInfo };

/** One attached UI (a browser tab, an Electron window): its own API handle and event stream. */
export interface LabClient {
  /** The API as this client calls it (consoleAck counts for this client only). */
  api: LabApi;
  /** The client went away: its events stop and it no longer holds the console back. */
  close(): void;
}

/**
 * What a transport (Electron IPC, WebSocket) serves. Each client it attaches gets the machine's
 * status, then the recent console history, then live events.
 */
export interface LabBackend {
  connect(listener: (event: LabEvent) => void): LabClient;
  dispose(): Promise<void>;
}

/** One check of `farfetchd-lab check` (the `--json` contract of issue 11). */
export interface CheckResult {
  /** Stable snake_case name, e.g. `kernel_address_is_efault`. */
  name: string;
  status: 'pass' | 'fail' | 'skip';
  points: number;
  maxPoints: number;
  /** Expected vs got (errno names, GOOD/BAD bytes) and the hint; why it was skipped. */
  message: string;
}

/** What `farfetchd-lab check --json` prints: one object on stdout. */
export interface CheckReport {
  part: 1 | 2 | 3;
  score: number;
  maxScore: number;
  tests: CheckResult[];
}
