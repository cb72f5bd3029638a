// The typed contract between any UI (Electron renderer, browser mode) and the backend.
// Types only: no Node imports, so the renderer and the preload can import it as is.

export type Accelerator = 'kvm' | 'hvf' | 'whpx' | 'tcg';

export type VmState = 'stopped' | 'booting' | 'ready' | 'crashed' | 'stopping';

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
  loadedModule: ModuleName;
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
  checks: SystemCheck[];
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Errors cross every boundary (IPC, WebSocket) in this shape. */
export interface ApiError {
  code: string;
  message: string;
}

/** Requests from a UI to the backend: one method per message. */
export interface LabApi {
  status(): Promise<VmStatus>;
  start(): Promise<VmStatus>;
  stop(): Promise<VmStatus>;
  /** Throws away the guest's disk overlay and boots a clean guest. */
  reset(): Promise<VmStatus>;
  loadModule(module: ModuleName): Promise<VmStatus>;
  /** Keystrokes for the guest console. */
  consoleInput(data: string): Promise<void>;
  consoleResize(cols: number, rows: number): Promise<void>;
  /** Runs a command in the guest through the agent (not the console). */
  exec(command: string, args: string[]): Promise<ExecResult>;
  /** Acknowledges console output the UI has rendered (flow control). */
  consoleAck(bytes: number): Promise<void>;
}

/** Pushed from the backend to a UI. */
export type LabEvent =
  | { type: 'status'; status: VmStatus }
  | { type: 'console'; data: string }
  | { type: 'crash'; crash: CrashInfo };

/** What a transport (Electron IPC, WebSocket) serves: the API plus a stream of events. */
export interface LabBackend extends LabApi {
  /** Returns a function that removes the listener. */
  onEvent(listener: (event: LabEvent) => void): () => void;
  dispose(): Promise<void>;
}
