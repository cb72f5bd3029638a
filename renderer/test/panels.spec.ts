// The side panel and its System page (vitest + happy-dom): tabs, what the lab found on this
// computer, failed checks with their fixes, and "Probe again".
import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import type { SystemReport } from '../../emulator/src/api.ts';
import SidePanel from '../src/components/SidePanel.vue';
import SystemPage from '../src/components/SystemPage.vue';

describe('SidePanel', () => {
  it('has room for the page-table and driver panels and the System page, switches tabs and closes', async () => {
    const w = mount(SidePanel, {
      props: { width: 320, tab: 'page-tables' },
      slots: { system: '<p class="from-parent">the report</p>' },
    });
    expect(w.attributes('style')).toContain('width: 320px');
    expect(w.findAll('[role=tab]').map((t) => t.text())).toEqual([
      'Page tables',
      'Drivers',
      'Kernel log',
      'System',
    ]);
    expect(w.get('[role=tabpanel] h2').text()).toBe('Page tables');
    await w.get('[data-testid=tab-drivers]').trigger('click');
    await w.get('[data-testid=tab-system]').trigger('click');
    expect(w.emitted('select')).toEqual([['drivers'], ['system']]);
    await w.setProps({ tab: 'system' });
    expect(w.get('[role=tabpanel] h2').text()).toBe('System');
    expect(w.get('[role=tabpanel]').attributes('aria-labelledby')).toBe('tab-system');
    expect(w.get('[data-testid=tab-system]').attributes('aria-selected')).toBe('true');
    expect(w.get('.from-parent').text()).toBe('the report');
    await w.get('[aria-label="hide the panels"]').trigger('click');
    expect(w.emitted('close')).toHaveLength(1);
  });
});

describe('SystemPage', () => {
  const report: SystemReport = {
    qemu: { path: '/usr/bin/qemu-system-x86_64', version: '7.2.19' },
    image: { dir: '/var/cache/farfetchd-lab/out/image', key: 'ab12cd34', kernelRelease: '6.12.117-farfetch' },
    accelerator: {
      accel: 'tcg',
      label: 'TCG — KVM did not boot the guest on this machine: no console output in 3 s',
      fallbackReason: 'KVM did not boot the guest on this machine: no console output in 3 s',
      source: 'remembered',
      decidedAt: '2026-12-01T07:50:12.000Z',
      probeMs: 3120,
    },
    disk: { path: '/var/cache/farfetchd-lab', freeBytes: 12_345_678_901 },
    caches: [
      { name: 'warm snapshots', path: '/var/cache/farfetchd-lab/warm', bytes: 48_300_000 },
      { name: 'accelerator verdicts', path: '/var/cache/farfetchd-lab/accel', bytes: 412 },
    ],
    checks: [
      { name: 'QEMU', ok: true, detail: '/usr/bin/qemu-system-x86_64 7.2.19' },
      {
        name: 'accelerator',
        ok: true,
        detail: 'KVM did not boot the guest on this machine: no console output in 3 s',
        fix: 'nothing to fix: the lab works under TCG, only slower',
      },
      {
        name: 'cache folder',
        ok: false,
        detail: '/var/cache/farfetchd-lab is not writable',
        fix: 'make it writable, or set FARFETCHD_LAB_CACHE',
      },
      { name: 'free disk', ok: false, detail: '1.2 GB free on /tmp' },
    ],
  };

  it('shows what the lab found, each failed check with its fix, and probes again', async () => {
    const w = mount(SystemPage, { props: { report, busy: null, error: null } });
    expect(w.get('[data-testid=system-qemu]').text()).toBe('/usr/bin/qemu-system-x86_64 · 7.2.19');
    expect(w.findAll('[data-testid=system-image] div').map((d) => d.text())).toEqual([
      '/var/cache/farfetchd-lab/out/image',
      'hash ab12cd34',
      'kernel 6.12.117-farfetch',
    ]);
    expect(w.get('[data-testid=system-accelerator]').text()).toBe(
      'TCG — KVM did not boot the guest on this machine: no console output in 3 s' +
        'remembered from an earlier probe on 2026-12-01 07:50 UTC (the probe took 3.1 s)',
    );
    expect(w.get('[data-testid=system-disk]').text()).toBe('12 GB on /var/cache/farfetchd-lab');
    expect(w.findAll('[data-testid=system-caches] li').map((li) => li.text())).toEqual([
      'warm snapshots: 48 MB /var/cache/farfetchd-lab/warm',
      'accelerator verdicts: 412 B /var/cache/farfetchd-lab/accel',
    ]);
    expect(w.findAll('[data-testid=system-problems] li').map((li) => li.text())).toEqual([
      'cache folder: /var/cache/farfetchd-lab is not writable Fix: make it writable, or set FARFETCHD_LAB_CACHE',
      'free disk: 1.2 GB free on /tmp',
    ]);
    expect(w.findAll('[data-testid=system-advice] li').map((li) => li.text())).toEqual([
      'accelerator: nothing to fix: the lab works under TCG, only slower',
    ]);
    const probe = w.get('[data-testid=probe-again]');
    expect(probe.attributes('aria-label')).toBe('Probe again');
    await probe.trigger('click');
    expect(w.emitted('probe')).toHaveLength(1);
    await w.setProps({ busy: 'probing' });
    expect(probe.text()).toBe('Probing…');
    expect(probe.attributes('disabled')).toBeDefined();
    expect(probe.attributes('aria-busy')).toBe('true');
  });

  it('says when nothing failed, when QEMU is missing, and what went wrong asking', () => {
    const fine: SystemReport = {
      ...report,
      qemu: {},
      accelerator: undefined,
      caches: [],
      checks: [{ name: 'accelerator', ok: false, detail: 'not probed: QEMU was not found' }],
    };
    const w = mount(SystemPage, { props: { report: fine, busy: null, error: 'the lab backend failed' } });
    expect(w.get('[data-testid=system-qemu]').text()).toBe('not found');
    expect(w.get('[data-testid=system-accelerator]').text()).toBe('not probed: QEMU was not found');
    expect(w.find('[data-testid=system-advice]').exists()).toBe(false);
    const none = mount(SystemPage, {
      props: {
        report: { ...fine, checks: [{ name: 'QEMU', ok: true, detail: 'x' }] },
        busy: null,
        error: null,
      },
    });
    expect(none.get('[data-testid=system-problems]').text()).toBe('None found.');
    expect(none.get('[data-testid=system-accelerator]').text()).toBe('not probed');
    expect(w.get('[data-testid=system-caches]').text()).toBe('none yet');
    expect(w.get('[data-testid=system-error]').text()).toBe('the lab backend failed');
    const loading = mount(SystemPage, { props: { report: null, busy: 'loading', error: null } });
    expect(loading.text()).toContain('Looking at this computer…');
    expect(loading.get('[data-testid=probe-again]').attributes('disabled')).toBeDefined();
  });
});
