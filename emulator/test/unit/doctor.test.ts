// `farfetchd-lab doctor`: the report's words (pure), what it finds with fake QEMUs and a fake
// image, and its exit status.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import type { SystemReport } from '../../src/api.ts';
import { main } from '../../src/cli.ts';
import { spareFolder } from '../../src/run-folders.ts';
import {
  acceleratorCheck,
  collectSystemReport,
  doctorExitCode,
  formatBytes,
  formatSystemReport,
  formatWarmSnapshots,
  warmSnapshotSpace,
} from '../../src/doctor.ts';
import { registerImageFolder } from '../../src/run-folders.ts';

const report: SystemReport = {
  qemu: { path: '/usr/bin/qemu-system-x86_64', version: 'QEMU emulator version 7.2.22' },
  image: { dir: '/cache/out/image', key: 'ea7e0642c39158f3', kernelRelease: '6.12.117-farfetch' },
  accelerator: {
    accel: 'tcg',
    label: 'TCG — KVM did not boot the guest on this machine: no console output in 3 s',
    fallbackReason: 'KVM did not boot the guest on this machine: no console output in 3 s',
    source: 'probe',
    decidedAt: '2026-12-01T07:46:53.695Z',
    probeMs: 3012,
  },
  disk: { path: '/cache', freeBytes: 5 * 1024 ** 3 },
  caches: [
    { name: 'build output', path: '/cache/out', bytes: 810 * 1024 ** 2 },
    { name: 'warm snapshots', path: '/cache', bytes: 0 },
    { name: 'accelerator verdicts', path: '/cache/accel-verdicts.json', bytes: 4096 },
  ],
  checks: [
    { name: 'QEMU', ok: true, detail: '/usr/bin/qemu-system-x86_64 (QEMU emulator version 7.2.22)' },
    {
      name: 'guest image',
      ok: true,
      detail: 'ea7e0642c39158f3 at /cache/out/image, kernel 6.12.117-farfetch',
    },
    {
      name: 'accelerator',
      ok: true,
      detail: 'TCG — KVM did not boot the guest on this machine: no console output in 3 s; probed now',
      fix: 'nothing to fix',
    },
    { name: 'free disk', ok: true, detail: '5.0 GiB free at /cache' },
  ],
};

test('formatSystemReport: one line per check, what to do under it, the caches, the verdict', () => {
  assert.equal(
    formatSystemReport(report),
    `Farfetch'd Lab doctor
  ok    QEMU         /usr/bin/qemu-system-x86_64 (QEMU emulator version 7.2.22)
  ok    guest image  ea7e0642c39158f3 at /cache/out/image, kernel 6.12.117-farfetch
  ok    accelerator  TCG — KVM did not boot the guest on this machine: no console output in 3 s; probed now
                     → nothing to fix
  ok    free disk    5.0 GiB free at /cache
Cache folders:
  build output          /cache/out                   810.0 MiB
  warm snapshots        /cache                             0 B
  accelerator verdicts  /cache/accel-verdicts.json     4.0 KiB
Everything the lab needs is here.
`,
  );
  assert.equal(doctorExitCode(report), 0);
});

test('formatSystemReport with problems: FAIL lines and their count', () => {
  const broken: SystemReport = {
    ...report,
    checks: [
      {
        name: 'QEMU',
        ok: false,
        detail: 'qemu-system-x86_64 was not found',
        fix: 'sudo apt-get install qemu-system-x86',
      },
      { name: 'free disk', ok: false, detail: '0.5 GiB free at /cache', fix: 'free at least 2.0 GiB' },
      { name: 'cache folder', ok: true, detail: '/cache (writable)' },
    ],
  };
  assert.equal(
    formatSystemReport(broken).split('Cache folders:')[0],
    `Farfetch'd Lab doctor
  FAIL  QEMU          qemu-system-x86_64 was not found
                      → sudo apt-get install qemu-system-x86
  FAIL  free disk     0.5 GiB free at /cache
                      → free at least 2.0 GiB
  ok    cache folder  /cache (writable)
`,
  );
  assert.match(
    formatSystemReport(broken),
    /\n2 problems: see the FAIL lines above and what to do under each\.\n$/,
  );
  assert.equal(doctorExitCode(broken), 1);
});

test('the accelerator line says how the verdict was reached, and what to do about TCG', () => {
  const tcgAfterProbe = acceleratorCheck(report.accelerator!);
  assert.deepEqual(tcgAfterProbe, {
    name: 'accelerator',
    ok: true,
    detail:
      'TCG — KVM did not boot the guest on this machine: no console output in 3 s; probed now by booting the guest kernel (3012 ms)',
    fix: 'nothing to fix: the lab works under TCG, only slower; after a change to this host (QEMU, nested virtualization), farfetchd-lab doctor probes again',
  });
  assert.deepEqual(
    acceleratorCheck({
      accel: 'kvm',
      label: 'KVM — hardware acceleration',
      source: 'remembered',
      decidedAt: '2026-12-01T07:00:00.000Z',
      probeMs: 41,
    }),
    {
      name: 'accelerator',
      ok: true,
      detail: 'KVM — hardware acceleration; remembered from a probe at 2026-12-01T07:00:00.000Z (41 ms)',
    },
  );
  assert.equal(
    acceleratorCheck({ ...report.accelerator!, source: 'remembered', probeMs: undefined }).detail,
    'TCG — KVM did not boot the guest on this machine: no console output in 3 s; remembered from a failed boot at 2026-12-01T07:46:53.695Z',
  );
  assert.deepEqual(
    acceleratorCheck({
      accel: 'tcg',
      label: 'TCG — no hardware acceleration: slower',
      fallbackReason:
        'KVM is not usable: /dev/kvm cannot be opened for reading and writing (EACCES): add your user to the "kvm" group',
      source: 'probe',
    }),
    {
      name: 'accelerator',
      ok: true,
      detail:
        'TCG — no hardware acceleration: slower (KVM is not usable: /dev/kvm cannot be opened for reading and writing (EACCES): add your user to the "kvm" group); checked now',
      fix: 'sudo usermod -aG kvm "$USER", then log out and in again; the lab works under TCG meanwhile',
    },
  );
  const busy =
    'KVM could not be started: ioctl(KVM_CREATE_VM) failed: 16 Device or resource busy (QEMU exited with code 1)';
  assert.deepEqual(
    acceleratorCheck({ accel: 'tcg', label: `TCG — ${busy}`, fallbackReason: busy, source: 'probe' }),
    {
      name: 'accelerator',
      ok: true,
      detail: `TCG — ${busy}; checked now`,
      fix: 'another hypervisor (VirtualBox, VMware) holds the virtualization extensions: close it, then farfetchd-lab doctor probes again; the lab works under TCG meanwhile',
    },
  );
  const slow =
    'KVM did not boot the guest this time: no console output in 3 s (its probe boots the guest kernel; the next start tries KVM again)';
  assert.deepEqual(
    acceleratorCheck({ accel: 'tcg', label: `TCG — ${slow}`, fallbackReason: slow, source: 'watchdog' }),
    {
      name: 'accelerator',
      ok: true,
      detail: `TCG — ${slow}; a boot showed no sign of life in time and was redone under TCG, and the accelerator probed again`,
      fix: 'nothing to fix now: the next start tries the hardware accelerator again; if boots keep falling back, the host is too loaded for it',
    },
  );
  assert.deepEqual(
    acceleratorCheck({
      accel: 'tcg',
      label: 'TCG — no hardware acceleration: slower (set by FARFETCHD_LAB_ACCEL)',
      source: 'forced',
    }),
    {
      name: 'accelerator',
      ok: true,
      detail:
        'TCG — no hardware acceleration: slower (set by FARFETCHD_LAB_ACCEL); forced by FARFETCHD_LAB_ACCEL',
    },
  );
});

test('formatBytes', () => {
  assert.deepEqual([0, 1023, 1024, 1536, 5 * 1024 ** 3].map(formatBytes), [
    '0 B',
    '1023 B',
    '1.0 KiB',
    '1.5 KiB',
    '5.0 GiB',
  ]);
});

let dir: string;
let env: NodeJS.ProcessEnv;
let qemuLog: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'doctor-test-'));
  const qemu = path.join(dir, 'qemu-system-x86_64');
  qemuLog = `${qemu}.log`;
  await writeFile(
    qemu,
    `#!/bin/sh
echo "$1" >> '${qemuLog}'
if [ "$1" = --version ]; then echo 'QEMU emulator version 9.9.9 (fake)'; exit 0; fi
if [ "$1" = -machine ] && [ "$2" = none ]; then exit 0; fi
printf 'Linux version 6.12.117-farfetch (fake)\\n'; exec sleep 30
`,
  );
  await chmod(qemu, 0o755);
  await writeFile(path.join(dir, 'qemu-img'), '#!/bin/sh\n');
  await chmod(path.join(dir, 'qemu-img'), 0o755);
  const image = path.join(dir, 'out', 'image');
  await mkdir(image, { recursive: true });
  const manifest = {
    key: 'feedc0de',
    kernelKey: 'k1',
    kernelRelease: '6.12.117-farfetch',
    kernel: 'bzImage',
    disk: 'rootfs.qcow2',
  };
  await writeFile(path.join(image, 'manifest.json'), JSON.stringify(manifest));
  await writeFile(path.join(image, 'bzImage'), 'kernel');
  await writeFile(path.join(image, 'rootfs.qcow2'), 'disk');
  await writeFile(path.join(dir, 'kvm'), '');
  env = {
    PATH: '/nonexistent',
    FARFETCHD_LAB_QEMU: qemu,
    FARFETCHD_LAB_QEMU_IMG: path.join(dir, 'qemu-img'),
    FARFETCHD_LAB_OUT: path.join(dir, 'out'),
    FARFETCHD_LAB_CACHE: path.join(dir, 'cache'),
  };
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const probes = async () =>
  (await readFile(qemuLog, 'utf8')).split('\n').filter((l) => l === '-nodefaults').length;

test('collectSystemReport: what it finds, and reprobe forgets the remembered verdict', async () => {
  const kvmDevice = path.join(dir, 'kvm');
  const first = await collectSystemReport({ env, kvmDevice });
  assert.deepEqual(first.qemu, {
    path: env.FARFETCHD_LAB_QEMU,
    version: 'QEMU emulator version 9.9.9 (fake)',
  });
  assert.deepEqual(first.image, {
    dir: path.join(dir, 'out', 'image'),
    key: 'feedc0de',
    kernelRelease: '6.12.117-farfetch',
  });
  assert.deepEqual(Object.keys(first.disk), ['path', 'freeBytes']);
  assert.equal(first.disk.path, path.join(dir, 'cache'));
  assert.equal(first.accelerator?.accel, 'kvm');
  assert.equal(first.accelerator?.source, 'probe');
  assert.deepEqual(
    first.checks.map((c) => [c.name, c.ok]),
    [
      ['QEMU', true],
      ['qemu-img', true],
      ['guest image', true],
      ['accelerator', true],
      ...first.checks.filter((c) => c.name === 'free disk').map((c) => [c.name, c.ok]),
      ['cache folder', true],
      ['disk I/O', true],
    ],
  );
  // The io_uring probe QEMU (the fake quits at once, so io_uring works here).
  assert.equal(first.checks.at(-1)!.detail, 'io_uring (a probe QEMU could use it here)');
  assert.deepEqual(
    first.caches.map((c) => [c.name, c.path]),
    [
      ['build output', path.join(dir, 'out')],
      ['warm snapshots', path.join(dir, 'cache')],
      ['saved sessions', path.join(dir, 'cache', 'sessions')],
      ['accelerator verdicts', path.join(dir, 'cache', 'accel-verdicts.json')],
      ['spare warm-start disks', spareFolder()],
    ],
  );
  assert.equal(first.caches[2]!.bytes, 0, 'nothing suspended yet');
  assert.ok(first.caches[0]!.bytes > 0 && first.caches[3]!.bytes > 0);
  assert.equal(await probes(), 1);

  const remembered = await collectSystemReport({ env, kvmDevice });
  assert.equal(remembered.accelerator?.source, 'remembered');
  assert.equal(remembered.accelerator?.decidedAt, first.accelerator?.decidedAt);
  assert.equal(await probes(), 1);

  const again = await collectSystemReport({ env, kvmDevice, reprobe: true });
  assert.equal(again.accelerator?.source, 'probe');
  assert.equal(await probes(), 2);
});

function capture() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  stdout.on('data', (d) => (out += d));
  return { io: { stdout, stderr }, out: () => out };
}

async function doctorWith(
  overrides: NodeJS.ProcessEnv,
  argv: string[],
): Promise<{ code: number; out: string }> {
  const saved = { ...process.env };
  Object.assign(process.env, env, overrides);
  try {
    const { io, out } = capture();
    const code = await main(['doctor', ...argv], io);
    return { code, out: out() };
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

test('doctor exits 1 on a problem, names it and says what to do', async () => {
  const { code, out } = await doctorWith({ FARFETCHD_LAB_IMAGE: path.join(dir, 'no-image') }, []);
  assert.equal(code, 1);
  assert.ok(
    out.includes(
      `  FAIL  guest image   no guest image at ${path.join(dir, 'no-image')}\n                      → build it: npx farfetchd-lab image\n`,
    ),
    out,
  );
  assert.ok(
    out.includes('  FAIL  accelerator   not probed: the probe boots the guest kernel with QEMU\n'),
    out,
  );
});

test('doctor --json prints the SystemReport; exit 0 when every check is ok', async () => {
  const { code, out } = await doctorWith({}, ['--json']);
  const parsed = JSON.parse(out) as SystemReport;
  assert.equal(parsed.image.key, 'feedc0de');
  // doctor probes again: KVM when this host's /dev/kvm opens (the fake kernel boots), else the
  // cheap check's TCG — decided now either way.
  assert.equal(parsed.accelerator?.source, 'probe');
  assert.ok(
    parsed.checks.every((c) => c.ok),
    JSON.stringify(parsed.checks),
  );
  assert.equal(code, 0);
});

test('warm snapshots: the live ones apart from those of images that are gone, each named', async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'doctor-warm-'));
  try {
    const image = path.join(root, 'image');
    const cache = path.join(root, 'cache');
    await mkdir(image, { recursive: true });
    await mkdir(cache, { recursive: true });
    await writeFile(path.join(image, 'manifest.json'), JSON.stringify({ key: 'aaaa0000' }));
    await registerImageFolder(cache, image);
    await writeFile(path.join(image, 'manifest.json'), JSON.stringify({ key: 'bbbb1111' })); // rebuilt in place
    await writeFile(path.join(cache, 'warm-aaaa0000-d7c1b21f-tcg-512-2-ws.qcow2'), Buffer.alloc(3 * 4096, 1));
    await writeFile(path.join(cache, 'warm-bbbb1111-d7c1b21f-tcg-512-2-ws.qcow2'), Buffer.alloc(2 * 4096, 1));
    // Made by a lab from before sidecars: nothing proves its image gone.
    await writeFile(path.join(cache, 'warm-cccc2222-d7c1b21f-tcg-512-2-ws.qcow2'), Buffer.alloc(4096, 1));
    const space = await warmSnapshotSpace(cache, 'bbbb1111');
    assert.equal(space.liveBytes, 2 * 4096);
    assert.equal(space.unregisteredBytes, 4096);
    const gone = space.stale.filter((f) => f.path.endsWith('.qcow2'));
    assert.deepEqual(gone, [
      {
        path: path.join(cache, 'warm-aaaa0000-d7c1b21f-tcg-512-2-ws.qcow2'),
        bytes: 3 * 4096,
        reason: 'image gone',
      },
    ]);
    const sidecar = space.stale.find((f) => f.path.endsWith('.image'))!;
    assert.equal(sidecar.reason, 'image gone');
    assert.equal(space.staleBytes, 3 * 4096 + sidecar.bytes);
    assert.deepEqual(
      formatWarmSnapshots({
        liveBytes: 2 * 4096,
        unregisteredBytes: 4096,
        staleBytes: 3 * 4096,
        stale: [{ path: gone[0]!.path, bytes: 3 * 4096, reason: 'image gone' }],
      }),
      [
        'Warm snapshots: 8.0 KiB live; 4.0 KiB of images no folder registered (removed once unused for 30 days); 12.0 KiB of images that are gone, removed at the next start:',
        '  warm-aaaa0000-d7c1b21f-tcg-512-2-ws.qcow2  12.0 KiB  (its image is gone)',
      ],
    );
    assert.deepEqual(formatWarmSnapshots({ liveBytes: 0, unregisteredBytes: 0, staleBytes: 0, stale: [] }), [
      'Warm snapshots: 0 B live; 0 B of images that are gone.',
    ]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
