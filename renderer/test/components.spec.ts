// The status bar and the crash banner, mounted in happy-dom: what they show, what they emit.
import { mount } from '@vue/test-utils';
import { describe, expect, it, vi } from 'vitest';
import type { VmStatus } from '../../emulator/src/api.ts';
import CrashBanner from '../src/components/CrashBanner.vue';
import StatusBar from '../src/components/StatusBar.vue';

const booting: VmStatus = {
  state: 'booting',
  bootSteps: [
    { step: 'qemu-started', atMs: 120 },
    { step: 'kernel-up', atMs: 1500 },
  ],
  uptimeMs: null,
  loadedModule: 'none',
  accelerator: {
    accel: 'tcg',
    label: 'TCG — no hardware acceleration: slower',
    fallbackReason: 'KVM: /dev/kvm does not exist',
  },
};
const ready: VmStatus = {
  ...booting,
  state: 'ready',
  bootSteps: [],
  uptimeMs: 3_725_000,
  loadedModule: 'p3',
};

describe('StatusBar', () => {
  it('shows the boot steps, the accelerator and why a faster one was not used', () => {
    const w = mount(StatusBar, { props: { status: booting, busy: null } });
    expect(w.get('[data-testid=vm-state]').text()).toBe('booting');
    expect(w.get('[data-testid=boot-steps]').text()).toBe('QEMU started 0.1 s → kernel up 1.5 s');
    expect(w.get('[data-testid=accelerator]').text()).toBe('TCG — no hardware acceleration: slower');
    expect(w.get('[data-testid=accelerator]').attributes('title')).toBe('KVM: /dev/kvm does not exist');
    expect(w.get('[data-testid=module-select]').attributes('disabled')).toBeDefined();
  });

  it('shows uptime and module when ready, and emits load, stop and a confirmed reset', async () => {
    const w = mount(StatusBar, { props: { status: ready, busy: null } });
    expect(w.text()).toContain('up 1:02:05');
    expect(w.get('[data-testid=loaded-module]').text()).toBe('module: p3');
    await w.get('[data-testid=module-select]').setValue('p1');
    expect(w.emitted('load')).toEqual([['p1']]);
    await w.get('button').trigger('click');
    expect(w.emitted('stop')).toHaveLength(1);
    const confirm = vi.spyOn(window, 'confirm').mockReturnValueOnce(false).mockReturnValueOnce(true);
    await w.get('[data-testid=reset]').trigger('click');
    expect(w.emitted('reset')).toBeUndefined();
    await w.get('[data-testid=reset]').trigger('click');
    expect(w.emitted('reset')).toHaveLength(1);
    expect(confirm).toHaveBeenCalledTimes(2);
  });

  it('shows what is being done instead of the state while busy, with the buttons off', () => {
    const w = mount(StatusBar, { props: { status: ready, busy: 'Loading p2' } });
    expect(w.get('[data-testid=vm-state]').text()).toBe('Loading p2');
    expect(w.findAll('button').every((b) => b.attributes('disabled') !== undefined)).toBe(true);
  });
});

describe('CrashBanner', () => {
  it('shows the headline and the log, and its one button resets', async () => {
    const crash = {
      kind: 'panic',
      headline: 'Kernel panic - not syncing: sysrq triggered crash',
      log: '[ 1.0] Call Trace:',
      at: 'x',
    };
    const w = mount(CrashBanner, { props: { crash, busy: null } });
    expect(w.get('[data-testid=crash-headline]').text()).toBe(crash.headline);
    expect(w.get('[data-testid=crash-log]').text()).toBe('[ 1.0] Call Trace:');
    await w.get('[data-testid=crash-reset]').trigger('click');
    expect(w.emitted('reset')).toHaveLength(1);
  });
});
