// What `serve` hands each WebSocket client instead of the backend itself: the same API, except that
// nothing the backend does can escape as an exception into the server's event handlers (where it
// would take the whole process down). A call that throws synchronously becomes a rejected promise,
// a rejection that is not an Error becomes one, and an event listener that throws is reported
// instead of unwinding into the backend's emitter.
import type { LabBackend, LabEvent } from './api.ts';
import { apiMethods } from './validate.ts';

/** Told about a failure that is a bug in the lab, not bad input: where it happened and what it was. */
export type ErrorReporter = (where: string, err: unknown) => void;

type Listener = (event: LabEvent) => void;

/** A rejection reason as an Error, whatever was thrown (null, a string, an object without toString). */
export function asError(err: unknown): Error {
  if (err instanceof Error) return err;
  let text: string;
  try {
    text = String(err);
  } catch {
    text = Object.prototype.toString.call(err);
  }
  return new Error(text);
}

/** Calls `fn`, turning a synchronous throw and a non-Error rejection into a rejected Error. */
function settleAsPromise(fn: () => unknown): Promise<unknown> {
  try {
    return Promise.resolve(fn()).catch((err: unknown) => Promise.reject(asError(err)));
  } catch (err) {
    return Promise.reject(asError(err));
  }
}

function guardListener(listener: Listener, report: ErrorReporter): Listener {
  return (event) => {
    try {
      listener(event);
    } catch (err) {
      report('event listener', err);
    }
  };
}

/** Calls `fn` for its side effect; what it throws is reported. */
function reportThrow(where: string, fn: () => void, report: ErrorReporter): void {
  try {
    fn();
  } catch (err) {
    report(where, err);
  }
}

/**
 * `api` with every API method (validate.ts's list) made unable to throw: each returns a promise
 * that resolves or rejects with an Error. Any other property is passed through as it is.
 */
export function guardApi<T extends object>(api: T): T {
  const target = api as Record<string, unknown>;
  const guarded = new Map<PropertyKey, unknown>();
  for (const method of apiMethods) {
    guarded.set(method, (...args: unknown[]) =>
      settleAsPromise(() => (target[method] as (...a: unknown[]) => unknown).apply(api, args)),
    );
  }
  return new Proxy(api, {
    get: (object, property, receiver) =>
      guarded.has(property) ? guarded.get(property) : (Reflect.get(object, property, receiver) as unknown),
  });
}

/**
 * The backend with its API guarded (guardApi), and its event listeners too: those given to
 * `onEvent`, and, for a backend that attaches each client with `connect(listener)` and hands it its
 * own `{api, close}`, that listener and that client's API. A `connect` that throws still throws:
 * such a client cannot be served, and its caller closes the socket.
 */
export function guardBackend(backend: LabBackend, report: ErrorReporter): LabBackend {
  const target = backend as unknown as Record<string, unknown>;
  const overrides = new Map<PropertyKey, unknown>();
  overrides.set('onEvent', (listener: Listener): (() => void) => {
    const onEvent = target.onEvent as (l: Listener) => () => void;
    let off: (() => void) | undefined;
    try {
      off = onEvent.call(backend, guardListener(listener, report));
    } catch (err) {
      report('onEvent', err);
    }
    return () => reportThrow('removing an event listener', () => off?.(), report);
  });
  if (typeof target.connect === 'function') {
    const connect = target.connect as (l: Listener) => { api: object; close(): void };
    overrides.set('connect', (listener: Listener) => {
      const client = connect.call(backend, guardListener(listener, report));
      return {
        api: guardApi(client.api),
        close: () => reportThrow('closing a client', () => client.close(), report),
      };
    });
  }
  const api = guardApi(backend);
  return new Proxy(backend, {
    get: (_object, property, receiver) =>
      overrides.has(property) ? overrides.get(property) : (Reflect.get(api, property, receiver) as unknown),
  });
}
