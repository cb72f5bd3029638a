import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { main, parsePut, parseTimeout, UsageError } from '../../src/cli.ts';

function capture() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  return { io: { stdout, stderr }, text: () => ({ out, err }) };
}

test('--put HOST defaults to /root/<name>; GUEST may be a folder or a relative path', () => {
  assert.deepEqual(parsePut('./bin/hello'), { host: './bin/hello', guest: '/root/hello' });
  assert.deepEqual(parsePut('a.out:/tmp/'), { host: 'a.out', guest: '/tmp/a.out' });
  assert.deepEqual(parsePut('a.out:/usr/local/bin/x'), { host: 'a.out', guest: '/usr/local/bin/x' });
  assert.deepEqual(parsePut('a.out:sub/x'), { host: 'a.out', guest: '/root/sub/x' });
  assert.throws(() => parsePut(':/tmp/x'), UsageError);
});

test('--timeout takes positive seconds and defaults to 120', () => {
  assert.equal(parseTimeout(undefined), 120);
  assert.equal(parseTimeout('2.5'), 2.5);
  for (const bad of ['0', '-1', 'abc', '1e3', '']) {
    assert.throws(() => parseTimeout(bad), /--timeout must be a positive number of seconds/);
  }
});

test('bad arguments exit 2 and name the argument', async () => {
  const cases: [string[], RegExp][] = [
    [
      ['exec', '--module', 'p9', '--', 'true'],
      /farfetchd-lab exec: --module must be one of none, p1, p2, p3 \(got 'p9'\)/,
    ],
    [
      ['exec', '--timeout', 'soon', '--', 'true'],
      /--timeout must be a positive number of seconds \(got 'soon'\)/,
    ],
    [['exec', '--frobnicate', '--', 'true'], /Unknown option '--frobnicate'/],
    [['exec', '--module', 'p1'], /no command: farfetchd-lab exec \[options\] -- CMD/],
    [['exec', 'uname', '--', 'x'], /put the command after '--' \(got 'uname' before it\)/],
    [['exec', '--put', '/nonexistent/file', '--', 'true'], /--put \/nonexistent\/file: ENOENT/],
    [['check', '--part', '4'], /--part must be 1, 2 or 3 \(got '4'\)/],
    [['check'], /--part is required/],
    [['check', '--part', '1'], /--src is required: --src DIR, your module's folder/],
    [
      ['check', '--part', '1', '--src', '.', '--format', 'moodle'],
      /--format must be gradescope or prairielearn \(got 'moodle'\)/,
    ],
    [
      ['check', '--part', '1', '--src', '.', '--json', '--format', 'gradescope'],
      /--json and --format each choose the output: give one/,
    ],
    [
      ['check', '--part', '2', '--src', '/nonexistent/p2'],
      /farfetchd-lab check: \/nonexistent\/p2 is not a folder: --src must be your module's folder/,
    ],
    [
      ['check', '--part', '2', '--src', '.', '--checks', '/nonexistent/checks'],
      /farfetchd-lab check: --checks \/nonexistent\/checks: ENOENT: give a folder of \.json check files/,
    ],
    [['serve', '--port', '70000'], /--port must be a port number from 1 to 65535 \(got '70000'\)/],
    [['teleport'], /unknown command 'teleport'/],
    [['doctor', '--fix'], /farfetchd-lab doctor: Unknown option '--fix'/],
  ];
  for (const [argv, message] of cases) {
    const { io, text } = capture();
    assert.equal(await main(argv, io), 2, argv.join(' '));
    assert.match(text().err, message);
  }
});

test('--help prints each command usage and exits 0', async () => {
  for (const command of ['image', 'run', 'exec', 'serve', 'check', 'bench', 'doctor']) {
    const { io, text } = capture();
    assert.equal(await main([command, '--help'], io), 0);
    assert.ok(text().out.startsWith(`Usage: farfetchd-lab ${command}`), text().out);
  }
  const { io, text } = capture();
  assert.equal(await main(['--help'], io), 0);
  assert.match(
    text().out,
    /exec \[--module M\] \[--put HOST\[:GUEST\]\]\.\.\. \[--timeout SEC\] -- CMD \[ARG\.\.\.\]/,
  );
  assert.match(
    text().out,
    /\n {2}doctor \[--json\] {19}what the lab finds on this machine and what to do about each problem\n/,
  );
});

test('exec with a missing image exits 125 with a one-line reason', async () => {
  process.env.FARFETCHD_LAB_IMAGE = '/nonexistent/image';
  try {
    const { io, text } = capture();
    assert.equal(await main(['exec', '--', 'true'], io), 125);
    assert.equal(
      text().err,
      'farfetchd-lab: lab failure: the guest did not boot: no guest image at /nonexistent/image: build it with ' +
        '`npx farfetchd-lab image` (or `npm test`, which builds it)\n',
    );
  } finally {
    delete process.env.FARFETCHD_LAB_IMAGE;
  }
});
