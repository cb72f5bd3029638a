// The page-table and driver panels, mounted in happy-dom: the names outside checks use, the
// verdicts, the stale-node fix and its paste.
import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import type { DriverReport, LabApi } from '../../emulator/src/api.ts';
import { parseDevices, parseModules, registrationChain } from '../../emulator/src/drivers.ts';
import DriverPanel from '../src/components/DriverPanel.vue';
import WalkView from '../src/components/WalkView.vue';
import { useDrivers } from '../src/composables/useDrivers.ts';
import { walkResult } from './walk-fixture.ts';

describe('WalkView', () => {
  it('names the five levels, shows the physical address and the host verdict, exports', async () => {
    const result = await walkResult();
    const w = mount(WalkView, { props: { result, previous: null, roundTripMs: 45 } });
    expect(w.findAll('section[aria-label]').map((s) => s.attributes('aria-label'))).toEqual([
      'PGD',
      'P4D',
      'PUD',
      'PMD',
      'PTE',
    ]);
    expect(w.get('[data-testid=level-pte]').text()).toContain('0x8000000123456025');
    expect(w.get('.phys').text()).toMatch(/^Physical address 0x123456abc/);
    expect(w.get('[data-testid=walk-verdict]').text()).toContain('✔ verified by the host');
    expect(w.get('[data-testid=walk-pagemap]').text()).toContain("frame 0x123456000, the same as the walk's");
    expect(w.text()).toContain('read-only');
    await w.findAll('button')[0]!.trigger('click');
    expect(w.emitted('exportJson')).toHaveLength(1);
  });

  it('shows a 4-level walk with the P4D folded, and a changed pte after a re-walk', async () => {
    const result = await walkResult();
    const four = {
      ...result,
      guest: {
        ...result.guest,
        levels: 4 as const,
        walk: result.guest.walk.filter((l) => l.level !== 'p4d'),
      },
    };
    const w = mount(WalkView, { props: { result: four, previous: null, roundTripMs: null } });
    expect(w.get('[data-testid=level-p4d]').text()).toContain('folded into the PGD');
    const changed = structuredClone(result);
    changed.guest.walk[4]!.raw = '0x8000000123456065';
    changed.guest.walk[4]!.flags.D = true;
    const d = mount(WalkView, { props: { result: changed, previous: result, roundTripMs: null } });
    expect(d.get('[data-testid=level-change]').text()).toContain(
      '0x8000000123456025 → 0x8000000123456065 +D',
    );
  });
});

describe('DriverPanel', () => {
  it('flags a stale node with the exact mknod line and pastes the fix, never running it', async () => {
    const majors = parseDevices('Character devices:\n  1 mem\n246 farfetch\n');
    const modules = parseModules('farfetch_p3 16384 0 - Live 0xffffffffc0200000 (O)\n');
    const node = { path: '/dev/farfetch', type: 'char', major: 1, minor: 3, mode: '0644' };
    const report: DriverReport = {
      majors,
      modules,
      nodes: [node],
      ...registrationChain(majors, modules, node),
    };
    const drivers = useDrivers({ drivers: async () => report } as unknown as LabApi);
    await drivers.refresh();
    const w = mount(DriverPanel, { props: { drivers, ready: true } });
    expect(w.get('[data-testid=farfetch-major]').text()).toBe('farfetch: major 246');
    expect(w.findAll('[data-testid=chain] li .mark').map((m) => m.text())).toEqual(['✔', '✔', '✔', '✘', '✘']);
    expect(
      w
        .get('[data-testid=chain-fix]')
        .findAll('pre')
        .map((p) => p.text()),
    ).toEqual(['rm /dev/farfetch', 'mknod -m 0666 /dev/farfetch c 246 0']);
    await w.get('[data-testid=paste-fix]').trigger('click');
    expect(w.emitted('paste')).toEqual([['rm /dev/farfetch && mknod -m 0666 /dev/farfetch c 246 0']]);
    await w.get('[data-testid=ioctl-input]').setValue('0xc0186601');
    expect(w.get('[data-testid=ioctl-result]').text()).toContain("_IOWR('f', 1, 24 bytes)");
  });
});
