// GuestAgent's run and file calls against a fake qemu-ga (fake-guest-agent.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FILE_WRITE_CHUNK, GuestAgentError, GuestAgentTimeoutError } from '../../src/guest-agent.ts';
import { TIMEOUT_MS, setup } from './fake-guest-agent.ts';

test(
  'exec sends path, arg, env, input-data (base64) and capture-output',
  { timeout: TIMEOUT_MS },
  async () => {
    const { agent, client, done } = await setup((a) => a.reply({ return: { pid: 321 } }));
    assert.equal(
      await client.exec('/bin/cat', ['-n'], { env: ['PATH=/bin', 'LANG=C'], inputData: Buffer.from('hi\n') }),
      321,
    );
    assert.equal(await client.exec('/bin/true', [], { env: { HOME: '/root' }, captureOutput: false }), 321);
    assert.deepEqual(agent.commands('guest-exec'), [
      {
        path: '/bin/cat',
        arg: ['-n'],
        'capture-output': true,
        env: ['PATH=/bin', 'LANG=C'],
        'input-data': 'aGkK',
      },
      { path: '/bin/true', arg: [], 'capture-output': false, env: ['HOME=/root'] },
    ]);
    await done();
  },
);

test(
  'run polls guest-exec-status until the program exits and decodes its output',
  { timeout: TIMEOUT_MS },
  async () => {
    let polls = 0;
    const { agent, client, done } = await setup((a, command) => {
      if (command === 'guest-exec') a.reply({ return: { pid: 77 } });
      else if (++polls < 4) a.reply({ return: { exited: false } });
      else
        a.reply({
          return: {
            exited: true,
            exitcode: 3,
            'out-data': Buffer.from('out\n').toString('base64'),
            'err-data': Buffer.from([0xff, 0x00, 0x41]).toString('base64'),
            'out-truncated': false,
            'err-truncated': false,
          },
        });
    });
    const started = Date.now();
    const result = await client.run('/bin/sh', ['-c', 'exit 3'], {
      timeoutMs: 5000,
      input: Buffer.from('x'),
    });
    assert.deepEqual(result, {
      exitCode: 3,
      stdout: Buffer.from('out\n'),
      stderr: Buffer.from([0xff, 0x00, 0x41]),
    });
    assert.equal(polls, 4);
    // Backoff 2, 4, 8 ms between the four polls: quick, but not a busy loop.
    assert.ok(Date.now() - started >= 14, `took ${Date.now() - started} ms`);
    assert.deepEqual(agent.commands('guest-exec-status'), [
      { pid: 77 },
      { pid: 77 },
      { pid: 77 },
      { pid: 77 },
    ]);
    assert.equal(agent.commands('guest-exec')[0]?.['input-data'], 'eA==');
    await done();
  },
);

test('run reports a signal as 128 + signal, and truncated output', { timeout: TIMEOUT_MS }, async () => {
  const { client, done } = await setup((a, command) => {
    if (command === 'guest-exec') a.reply({ return: { pid: 5 } });
    else
      a.reply({
        return: { exited: true, signal: 9, 'out-data': '', 'out-truncated': true, 'err-truncated': false },
      });
  });
  const result = await client.run('/bin/yes', [], { timeoutMs: 1000 });
  assert.deepEqual(result, {
    exitCode: 137,
    signal: 9,
    stdout: Buffer.alloc(0),
    stderr: Buffer.alloc(0),
    truncated: true,
  });
  await done();
});

test(
  'run past its timeout kills the program tree and throws GuestAgentTimeoutError with the pid',
  { timeout: TIMEOUT_MS },
  async () => {
    const statuses = new Map<number, number>();
    const { agent, client, done } = await setup((a, command, args) => {
      if (command === 'guest-exec') {
        a.reply({ return: { pid: args.path === '/bin/sleep' ? 100 : 200 } });
      } else {
        const pid = Number(args.pid);
        const n = (statuses.get(pid) ?? 0) + 1;
        statuses.set(pid, n);
        // The sleeper runs until the killer (pid 200) has been started.
        const killed = agent.commands('guest-exec').length === 2;
        a.reply({ return: killed ? { exited: true, signal: 9 } : { exited: false } });
      }
    });
    const started = Date.now();
    await assert.rejects(client.run('/bin/sleep', ['60'], { timeoutMs: 100 }), (err: Error) => {
      assert.ok(err instanceof GuestAgentTimeoutError);
      assert.equal(err.pid, 100);
      assert.equal(err.message, '/bin/sleep (guest pid 100) ran longer than 100 ms; it was killed');
      return true;
    });
    assert.ok(Date.now() - started >= 100);
    const killer = agent.commands('guest-exec')[1];
    assert.equal(killer?.path, '/bin/sh');
    assert.equal((killer?.arg as string[])[0], '-c');
    assert.match((killer?.arg as string[])[1] ?? '', /kill -KILL/);
    assert.equal((killer?.arg as string[])[2], '100');
    // Both exec records were collected from the agent.
    assert.ok((statuses.get(200) ?? 0) >= 1);
    await done();
  },
);

test('run with killOnTimeout false leaves the program alone', { timeout: TIMEOUT_MS }, async () => {
  const { agent, client, done } = await setup((a, command) =>
    a.reply({ return: command === 'guest-exec' ? { pid: 9 } : { exited: false } }),
  );
  await assert.rejects(
    client.run('/bin/sleep', ['60'], { timeoutMs: 60, killOnTimeout: false }),
    /\/bin\/sleep \(guest pid 9\) ran longer than 60 ms; it is still running/,
  );
  assert.equal(agent.commands('guest-exec').length, 1);
  await done();
});

test(
  'writeFile writes 48 KiB chunks, closes the handle, then applies the mode with chmod',
  { timeout: TIMEOUT_MS },
  async () => {
    const written: Buffer[] = [];
    const { agent, client, done } = await setup((a, command, args) => {
      switch (command) {
        case 'guest-file-open':
          a.reply({ return: 1000 });
          break;
        case 'guest-file-write': {
          const data = Buffer.from(String(args['buf-b64']), 'base64');
          written.push(data);
          a.reply({ return: { count: data.length, eof: false } });
          break;
        }
        case 'guest-file-close':
          a.reply({ return: {} });
          break;
        case 'guest-exec':
          a.reply({ return: { pid: 55 } });
          break;
        case 'guest-exec-status':
          a.reply({ return: { exited: true, exitcode: 0 } });
          break;
      }
    });
    const data = Buffer.alloc(2 * FILE_WRITE_CHUNK + 4096);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    await client.writeFile('/root/prog', data, 0o755);
    assert.equal(FILE_WRITE_CHUNK, 49152);
    assert.deepEqual(
      written.map((b) => b.length),
      [49152, 49152, 4096],
    );
    assert.ok(Buffer.concat(written).equals(data));
    assert.deepEqual(
      agent.received.filter((r) => r.command !== 'guest-sync-delimited').map((r) => r.command),
      [
        'guest-file-open',
        'guest-file-write',
        'guest-file-write',
        'guest-file-write',
        'guest-file-close',
        'guest-exec',
        'guest-exec-status',
      ],
    );
    assert.deepEqual(agent.commands('guest-file-open'), [{ path: '/root/prog', mode: 'w' }]);
    assert.deepEqual(agent.commands('guest-file-close'), [{ handle: 1000 }]);
    assert.deepEqual(agent.commands('guest-exec')[0], {
      path: '/bin/chmod',
      arg: ['0755', '/root/prog'],
      'capture-output': true,
    });
    await done();
  },
);

test(
  'writeFile of an empty buffer opens and closes (creates or truncates) the file',
  { timeout: TIMEOUT_MS },
  async () => {
    const { agent, client, done } = await setup((a, command) =>
      a.reply({ return: command === 'guest-file-open' ? 7 : {} }),
    );
    await client.writeFile('/tmp/empty', Buffer.alloc(0));
    assert.deepEqual(
      agent.received.map((r) => r.command),
      ['guest-sync-delimited', 'guest-file-open', 'guest-file-close'],
    );
    await done();
  },
);

test(
  'writeFile closes the handle when a write fails, and reports the write error',
  { timeout: TIMEOUT_MS },
  async () => {
    const { agent, client, done } = await setup((a, command) => {
      if (command === 'guest-file-open') a.reply({ return: 3 });
      else if (command === 'guest-file-write')
        a.reply({ error: { class: 'GenericError', desc: 'No space left on device' } });
      else a.reply({ return: {} });
    });
    await assert.rejects(client.writeFile('/root/big', Buffer.alloc(10)), (err: Error) => {
      assert.ok(err instanceof GuestAgentError);
      assert.equal(err.desc, 'No space left on device');
      return true;
    });
    assert.deepEqual(agent.commands('guest-file-close'), [{ handle: 3 }]);
    await done();
  },
);

test('readFile reads until eof and closes the handle', { timeout: TIMEOUT_MS }, async () => {
  const parts = [Buffer.from('first part, '), Buffer.from('second ü part')];
  let reads = 0;
  const { agent, client, done } = await setup((a, command) => {
    if (command === 'guest-file-open') a.reply({ return: 9 });
    else if (command === 'guest-file-read') {
      const part = parts[reads++] ?? Buffer.alloc(0);
      a.reply({
        return: { count: part.length, 'buf-b64': part.toString('base64'), eof: reads >= parts.length },
      });
    } else a.reply({ return: {} });
  });
  assert.equal((await client.readFile('/proc/devices')).toString(), 'first part, second ü part');
  assert.deepEqual(agent.commands('guest-file-open'), [{ path: '/proc/devices', mode: 'r' }]);
  assert.deepEqual(agent.commands('guest-file-read'), [
    { handle: 9, count: 1048576 },
    { handle: 9, count: 1048576 },
  ]);
  assert.deepEqual(agent.commands('guest-file-close'), [{ handle: 9 }]);
  await done();
});
