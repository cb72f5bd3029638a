// Checks every message that crosses a process boundary (WebSocket in browser mode, IPC in
// Electron) before it reaches the backend. Pure, shared by both transports.
import type { LabApi, ModuleName } from './api.ts';
import { isModuleName } from './modules.ts';
import { MODULE_NAME, SYMBOL_OFFSET } from './oops-address.ts';
import { checkWorkspacePath, MAX_FILE_BYTES } from './workspace-files.ts';

export type ApiMethod = keyof LabApi;

export interface ValidCall {
  method: ApiMethod;
  params: unknown[];
}

export class ValidationError extends Error {
  readonly code = 'EINVAL';
  override name = 'ValidationError';
}

/** The most characters one consoleInput may carry (the renderer sends a long paste in pieces). */
export const MAX_INPUT_CHARS = 64 * 1024;

function int(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(`${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

function str(value: unknown, name: string, max: number): string {
  if (typeof value !== 'string' || value.length > max) {
    throw new ValidationError(`${name} must be a string of at most ${max} characters`);
  }
  return value;
}

/** Linux's largest pid (PID_MAX_LIMIT on 64-bit). */
export const MAX_PID = 4_194_304;

/** A pid as the first of exactly `count` parameters. */
function pid(params: unknown[], method: ApiMethod, count: number): number {
  if (params.length !== count) {
    throw new ValidationError(`${method} takes ${count === 1 ? 'a pid' : 'a pid and an address'}`);
  }
  return int(params[0], 'pid', 1, MAX_PID);
}

/** An address as the guest command takes it: "0x" and 1..16 hex digits, or a decimal below 2^64. */
function address(value: unknown): string {
  if (
    typeof value !== 'string' ||
    !/^(0x[0-9a-fA-F]{1,16}|[0-9]{1,20})$/.test(value) ||
    BigInt(value) >= 1n << 64n
  ) {
    throw new ValidationError('addr must be a string: 0x and up to 16 hex digits, or a decimal below 2^64');
  }
  return value;
}

/** A workspace-relative file path (workspace-files.ts's rule), as the only or first parameter. */
function file(params: unknown[], method: ApiMethod, count: number): string {
  if (params.length !== count) {
    throw new ValidationError(`${method} takes ${count === 1 ? 'a file path' : 'a file path and its text'}`);
  }
  try {
    return checkWorkspacePath(params[0]);
  } catch (err) {
    throw new ValidationError((err as Error).message);
  }
}

/** A step id as step files name it (exercise-steps.ts). */
function stepId(value: unknown): string {
  if (typeof value !== 'string' || !/^[a-z0-9][a-z0-9-]{0,63}$/.test(value)) {
    throw new ValidationError('stepId must be a step id: lowercase letters, digits and -');
  }
  return value;
}

function part(params: unknown[]): 1 | 2 | 3 {
  if (params.length !== 1 || (params[0] !== 1 && params[0] !== 2 && params[0] !== 3)) {
    throw new ValidationError('part must be 1, 2 or 3');
  }
  return params[0];
}

function bool(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new ValidationError(`${name} must be true or false`);
  return value;
}

/** For a method that takes nothing: anything given is a mistake worth saying. */
function none(method: ApiMethod): (params: unknown[]) => unknown[] {
  return (params) => {
    if (params.length > 0) throw new ValidationError(`${method} takes no parameters`);
    return [];
  };
}

/**
 * What each method takes; a method that is not here does not exist. There is no general command
 * runner for a page: what panels need is a typed query here. That keeps the API from adding power,
 * it does not take any away: through consoleInput a compromised page can do whatever the terminal
 * can (type into the guest's root shell, which has the host workspace mounted at /root/work), and
 * nothing more through the typed methods. The boundary is who may connect: serve's token and its
 * Host/Origin checks (and Electron's own window).
 */
const validators: Record<ApiMethod, (params: unknown[]) => unknown[]> = {
  status: none('status'),
  start: none('start'),
  stop: none('stop'),
  reset: none('reset'),
  suspend: none('suspend'),
  resume: none('resume'),
  loadModule: ([module]) => {
    if (!isModuleName(module)) throw new ValidationError('module must be one of none, p1, p2, p3');
    return [module as ModuleName];
  },
  consoleInput: ([data]) => [str(data, 'data', MAX_INPUT_CHARS)],
  consoleResize: ([cols, rows]) => [int(cols, 'cols', 1, 1000), int(rows, 'rows', 1, 1000)],
  consoleAck: ([bytes]) => [int(bytes, 'bytes', 0, 2 ** 31)],
  systemReport: none('systemReport'),
  probeAccelerator: none('probeAccelerator'),
  processes: none('processes'),
  mappings: (params) => [pid(params, 'mappings', 1)],
  pageWalk: (params) => [pid(params, 'pageWalk', 2), address(params[1])],
  drivers: none('drivers'),
  kernelLog: none('kernelLog'),
  resolveKernelAddress: (params) => {
    const [module, symbolOffset] = params;
    if (params.length !== 2 || typeof module !== 'string' || !MODULE_NAME.test(module)) {
      throw new ValidationError(
        'resolveKernelAddress takes a module name (letters, digits, _ or -) and function+0xoff',
      );
    }
    if (typeof symbolOffset !== 'string' || !SYMBOL_OFFSET.test(symbolOffset)) {
      throw new ValidationError(
        'symbolOffset must be function+0xoff or function+0xoff/0xlen, as an oops prints it',
      );
    }
    return [module, symbolOffset];
  },
  exercise: none('exercise'),
  workspaceFiles: none('workspaceFiles'),
  readWorkspaceFile: (params) => [file(params, 'readWorkspaceFile', 1)],
  writeWorkspaceFile: (params) => [
    file(params, 'writeWorkspaceFile', 2),
    str(params[1], 'text', MAX_FILE_BYTES),
  ],
  openInEditor: (params) => [file(params, 'openInEditor', 1)],
  buildAndLoad: (params) => [part(params)],
  grade: (params) => {
    if (params.length !== 1) throw new ValidationError('grade takes a step id');
    return [stepId(params[0])];
  },
  setStepDone: (params) => {
    if (params.length !== 2) throw new ValidationError('setStepDone takes a step id and true or false');
    return [stepId(params[0]), bool(params[1], 'done')];
  },
  setWelcomeSeen: (params) => {
    if (params.length !== 1) throw new ValidationError('setWelcomeSeen takes true or false');
    return [bool(params[0], 'seen')];
  },
};

/** Every method of the API, in one list (the Electron preload and main register one each). */
export const apiMethods = Object.keys(validators) as ApiMethod[];

export function validateCall(method: unknown, params: unknown): ValidCall {
  if (typeof method !== 'string' || !Object.hasOwn(validators, method)) {
    throw new ValidationError(`unknown method ${JSON.stringify(method)}`);
  }
  const list = params === undefined ? [] : params;
  if (!Array.isArray(list)) throw new ValidationError('params must be an array');
  const validator = validators[method as ApiMethod];
  return { method: method as ApiMethod, params: validator(list) };
}

export type RequestId = number | string;

/** The id a reply must carry: the request's own when it is usable, else null. */
export function requestId(message: unknown): RequestId | null {
  if (typeof message !== 'object' || message === null) return null;
  const id = (message as { id?: unknown }).id;
  if (typeof id === 'number' && Number.isSafeInteger(id)) return id;
  if (typeof id === 'string' && id.length <= 64) return id;
  return null;
}

/** A WebSocket request `{id, method, params}`, checked whole. */
export function validateRequest(message: unknown): ValidCall {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    throw new ValidationError('a request must be an object {id, method, params}');
  }
  if (requestId(message) === null) throw new ValidationError('id must be an integer or a short string');
  const { method, params } = message as Record<string, unknown>;
  return validateCall(method, params);
}

/** Calls the validated method on the backend. */
export function dispatch(api: LabApi, call: ValidCall): Promise<unknown> {
  const fn = api[call.method] as (...args: unknown[]) => Promise<unknown>;
  return fn.apply(api, call.params);
}
