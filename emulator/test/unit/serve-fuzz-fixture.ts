// What the serve fuzz tests share (serve-fuzz-http.test.ts, serve-fuzz-websocket.test.ts): a
// seeded source of inputs, a small fake backend that fails in every way a backend can, and a
// `serve` on loopback that watches for uncaught exceptions, with the closing check that it still
// answers. The backend is a fake: these test the protocol layer, not the guest.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { LabBackend, LabEvent, VmStatus } from '../../src/api.ts';
import { startServer, type RunningServer } from '../../src/serve.ts';
import { apiMethods } from '../../src/validate.ts';
import { apiClient, prng } from './loopback-wire.ts';

export const SEED = 0x5eed;
/** A safety net, not a speed check: a handler that never answers fails the test instead of hanging it. */
export const BOUND = { timeout: 30_000 };

export const stopped: VmStatus = { state: 'stopped', bootSteps: [], uptimeMs: null, loadedModule: 'none' };

/** Inputs drawn from a fixed seed: the same ones every run. */
export function seededInputs(seed: number) {
  const random = prng(seed);
  const randomInt = (max: number): number => Math.floor(random() * max);
  return {
    random,
    randomInt,
    pick: <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)],
    randomBuffer: (length: number): Buffer => Buffer.from(Array.from({ length }, () => randomInt(256))),
  };
}

/**
 * What the fake's loadModule does per module: fail in every way a backend can (a synchronous
 * throw, rejections that are no Error, a result JSON cannot carry), and the reply each gets.
 */
export const LOAD_MODULE: Record<string, { act: () => unknown; reply: unknown }> = {
  p1: {
    act: () => {
      throw new Error('sync failure');
    },
    reply: { error: { code: 'ELAB', message: 'sync failure' } },
  },
  p2: {
    act: () => Promise.reject(null as unknown as Error),
    reply: { error: { code: 'ELAB', message: 'null' } },
  },
  p3: {
    act: () => Promise.reject(Object.create(null) as Error),
    reply: { error: { code: 'ELAB', message: '[object Object]' } },
  },
  none: {
    act: () => Promise.resolve({ state: 1n }),
    reply: { error: { code: 'TypeError', message: 'Do not know how to serialize a BigInt' } },
  },
};

/** The reply the fake backend's answer to a valid call becomes. */
export function fakeReply(id: unknown, method: string, params: unknown[]): unknown {
  if (method === 'loadModule') return { id, ...(LOAD_MODULE[params[0] as string]!.reply as object) };
  return { id, result: method.startsWith('console') ? null : stopped };
}

/**
 * The fake backend: every API method (validate.ts's list) answers at once, loadModule fails as
 * LOAD_MODULE says. Events reach listeners given to onEvent or to connect (a backend that
 * attaches each client with its own handle).
 */
export function fakeBackend() {
  const calls: unknown[][] = [];
  const listeners = new Set<(e: LabEvent) => void>();
  const api: Record<string, unknown> = {};
  for (const method of apiMethods) {
    api[method] = (...args: unknown[]) => {
      calls.push([method, ...args]);
      if (method === 'loadModule') return LOAD_MODULE[args[0] as string]!.act();
      return Promise.resolve(method.startsWith('console') ? undefined : stopped);
    };
  }
  const listen = (listener: (e: LabEvent) => void) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  };
  const backend = {
    ...api,
    onEvent: listen,
    connect: (listener: (e: LabEvent) => void) => ({ api, close: listen(listener) }),
    dispose: async () => undefined,
  } as unknown as LabBackend;
  return { backend, calls, emit: (event: unknown) => listeners.forEach((l) => l(event as LabEvent)) };
}

/** The server under fuzz, filled in by its `before` hook. */
export interface FuzzedServer {
  fake: ReturnType<typeof fakeBackend>;
  server: RunningServer;
  port: number;
  /** The API's WebSocket URL with the right token. */
  apiUrl: string;
  /** What serve reported through onError. */
  reported: string[];
  /** Uncaught exceptions and unhandled rejections seen while the file ran. */
  escaped: unknown[];
}

/**
 * Starts `serve` with the fake backend before the file's tests (a static folder with index.html
 * and app.js) and closes it after; uncaught exceptions and rejections are collected meanwhile.
 */
export function fuzzedServer(): FuzzedServer {
  const fuzzed = { fake: fakeBackend(), reported: [], escaped: [] } as unknown as FuzzedServer;
  const onUncaught = (err: unknown) => fuzzed.escaped.push(err);
  before(async () => {
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'serve-fuzz-'));
    writeFileSync(path.join(dir, 'index.html'), '<p>lab</p>');
    writeFileSync(path.join(dir, 'app.js'), 'x');
    fuzzed.server = await startServer({
      backend: fuzzed.fake.backend,
      staticDir: dir,
      onError: (where, err) => fuzzed.reported.push(`${where}: ${(err as Error).message}`),
    });
    fuzzed.port = Number(new URL(fuzzed.server.url).port);
    fuzzed.apiUrl = `ws://127.0.0.1:${fuzzed.port}/api?token=${fuzzed.server.token}`;
  });
  after(async () => {
    await fuzzed.server.close();
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  });
  return fuzzed;
}

/**
 * The closing test of a fuzz file: the server still serves its page and answers `status`, nothing
 * escaped as an uncaught exception, and serve reported exactly `reported`.
 */
export function testStillAnswers(fuzzed: FuzzedServer, reported: string[]): void {
  test('afterwards serve still answers, and nothing escaped as an uncaught exception', BOUND, async () => {
    const page = await fetch(fuzzed.server.url);
    assert.equal(page.status, 200);
    assert.equal(await page.text(), '<p>lab</p>');
    const client = await apiClient(fuzzed.apiUrl);
    try {
      assert.deepEqual(await client.call(JSON.stringify({ id: 1, method: 'status' })), {
        id: 1,
        result: stopped,
      });
    } finally {
      client.close();
    }
    assert.deepEqual(fuzzed.escaped, []);
    assert.deepEqual(fuzzed.reported, reported);
  });
}
