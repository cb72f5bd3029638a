// What `serve` hands each WebSocket client instead of the backend itself: the same API, except that
// nothing the backend does can escape as an exception into the server's event handlers (where it
// would take the whole process down). A call that throws synchronously becomes a rejected promise,
// a rejection that is not an Error becomes one, and an event listener that throws is reported
// instead of unwinding into the backend's emitter.
import type { LabApi, LabBackend, LabEvent } from './api.ts';
import { apiMethods } from './validate.ts';

/** Told about a failure that is a bug in the lab, not bad input: where it happened and what it was. */
export type ErrorReporter = (where: string, err: unknown) => void;

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

/**
 * The backend with every API method (validate.ts's list) and onEvent guarded. Any other property
 * (a method a newer backend adds) is passed through as it is.
 */
export function guardBackend(backend: LabBackend, report: ErrorReporter): LabBackend {
  const guarded = new Map<PropertyKey, unknown>();
  for (const method of apiMethods) {
    guarded.set(method, (...args: unknown[]) =>
      settleAsPromise(() => (backend[method] as (...a: unknown[]) => unknown).apply(backend, args)),
    );
  }
  guarded.set('onEvent', (listener: (event: LabEvent) => void): (() => void) => {
    const safeListener = (event: LabEvent): void => {
      try {
        listener(event);
      } catch (err) {
        report('event listener', err);
      }
    };
    let off: unknown;
    try {
      off = backend.onEvent(safeListener);
    } catch (err) {
      report('onEvent', err);
    }
    return () => {
      try {
        if (typeof off === 'function') off();
      } catch (err) {
        report('removing an event listener', err);
      }
    };
  });
  return new Proxy(backend, {
    get(target, property, receiver) {
      if (guarded.has(property)) return guarded.get(property);
      return Reflect.get(target, property, receiver) as unknown;
    },
  }) satisfies LabApi;
}
