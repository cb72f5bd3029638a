// The machine's state in the window (vitest + happy-dom): the status bar (boot steps, the
// accelerator and why not a faster one, uptime, module, the buttons) and the crash banner.
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
  bootSteps: [...booting.bootSteps, { step: 'init', atMs: 1600 }, { step: 'agent-ready', atMs: 2300 }],
  uptimeMs: 3_725_000,
  loadedModule: 'p3',
};

describe('StatusBar', () => {
  it('shows every boot step (done ones with their time), the accelerator and why not a faster one', () => {
    const w = mount(StatusBar, { props: { status: booting, busy: null, uptimeMs: null } });
    expect(w.get('[data-testid=vm-state]').text()).toBe('booting');
    const steps = w.findAll('[data-testid=boot-steps] li');
    expect(steps.map((s) => s.text())).toEqual([
      'QEMU started 0.1 s',
      'kernel up 1.5 s',
      'init',
      'agent ready',
    ]);
    expect(steps.map((s) => s.classes('done'))).toEqual([true, true, false, false]);
    expect(w.get('[data-testid=accelerator]').text()).toBe('TCG — KVM: /dev/kvm does not exist');
    expect(w.get('[data-testid=accelerator]').classes()).toContain('slow');
    expect(w.get('[data-testid=accelerator]').attributes('title')).toBe(
      'TCG — no hardware acceleration: slower (KVM: /dev/kvm does not exist). ' +
        'What the lab found on this computer: the System page',
    );
    expect(w.get('[data-testid=load-p1]').attributes('disabled')).toBeDefined();
    expect(w.get('[data-testid=stop]').attributes('disabled')).toBeUndefined();
  });

  it('shows uptime and module when ready; load, unload, stop and a confirmed reset are emitted', async () => {
    const w = mount(StatusBar, { props: { status: ready, busy: null, uptimeMs: ready.uptimeMs } });
    expect(w.get('[data-testid=uptime]').text()).toBe('up 1:02:05');
    expect(w.get('[data-testid=loaded-module]').text()).toBe('module: p3');
    expect(w.get('[data-testid=vm-state]').attributes('title')).toBe('booted in 2.3 s');
    expect(w.find('[data-testid=boot-steps]').exists()).toBe(false);
    expect(w.get('[data-testid=load-p3]').attributes('aria-pressed')).toBe('true');
    expect(w.get('[data-testid=load-p1]').attributes('aria-pressed')).toBe('false');
    await w.get('[data-testid=load-p1]').trigger('click');
    await w.get('[data-testid=unload]').trigger('click');
    expect(w.emitted('load')).toEqual([['p1'], ['none']]);
    await w.get('[data-testid=stop]').trigger('click');
    expect(w.emitted('stop')).toHaveLength(1);
    const confirm = vi.spyOn(window, 'confirm').mockReturnValueOnce(false).mockReturnValueOnce(true);
    await w.get('[data-testid=reset]').trigger('click');
    expect(w.emitted('reset')).toBeUndefined();
    await w.get('[data-testid=reset]').trigger('click');
    expect(w.emitted('reset')).toHaveLength(1);
    expect(confirm).toHaveBeenCalledTimes(2);
    expect(confirm.mock.calls[0][0]).toMatch(/clean disk.*\/root\/work/s);
  });

  it('offers Suspend only while ready, and Resume next to Start when a machine is saved', async () => {
    const w = mount(StatusBar, { props: { status: ready, busy: null, uptimeMs: ready.uptimeMs } });
    const suspend = w.get('[data-testid=suspend]');
    expect(suspend.text()).toBe('Suspend');
    expect(suspend.attributes('disabled')).toBeUndefined();
    await suspend.trigger('click');
    expect(w.emitted('suspend')).toHaveLength(1);
    expect(w.find('[data-testid=resume]').exists()).toBe(false);
    await w.setProps({ status: booting });
    expect(w.get('[data-testid=suspend]').attributes('disabled')).toBeDefined();
    await w.setProps({ status: { ...ready, state: 'suspending' } });
    expect(w.get('[data-testid=suspend]').attributes('disabled')).toBeDefined();
    expect(w.find('[data-testid=start]').exists()).toBe(false);

    const saved: VmStatus = {
      state: 'stopped',
      bootSteps: [],
      uptimeMs: null,
      loadedModule: 'none',
      savedSession: { savedAt: '2026-12-01T13:40:00.000Z', module: 'p3' },
    };
    await w.setProps({ status: saved });
    expect(w.find('[data-testid=suspend]').exists()).toBe(false);
    const buttons = w.findAll('button').map((b) => b.text());
    expect(buttons.slice(buttons.indexOf('Resume'), buttons.indexOf('Resume') + 2)).toEqual([
      'Resume',
      'Start',
    ]);
    await w.get('[data-testid=resume]').trigger('click');
    expect(w.emitted('resume')).toHaveLength(1);
    await w.setProps({ status: { ...saved, savedSession: undefined } });
    expect(w.find('[data-testid=resume]').exists()).toBe(false);
  });

  it("says whose module the guest runs: the student's (with its .ko), the reference, none", () => {
    const yours: VmStatus = {
      ...ready,
      loadedModule: 'none',
      farfetchModules: [
        {
          name: 'farfetch_p3',
          origin: 'student',
          state: 'Live',
          ko: '/root/work/farfetch_p3/farfetch_p3.ko',
        },
      ],
    };
    const w = mount(StatusBar, { props: { status: yours, busy: null, uptimeMs: 1 } });
    const module = w.get('[data-testid=loaded-module]');
    expect(module.text()).toBe('module: farfetch_p3 (yours)');
    expect(module.attributes('title')).toBe(
      'farfetch_p3: your build, loaded from /root/work/farfetch_p3/farfetch_p3.ko',
    );
    expect(w.get('[data-testid=load-p3]').attributes('aria-pressed')).toBe('false');
    // Unload takes the student's module out too.
    expect(w.get('[data-testid=unload]').attributes('disabled')).toBeUndefined();
    const reference: VmStatus = {
      ...ready,
      farfetchModules: [{ name: 'farfetch_p3', origin: 'reference', state: 'Live', ko: '/lib/x.ko' }],
    };
    const r = mount(StatusBar, { props: { status: reference, busy: null, uptimeMs: 1 } });
    expect(r.get('[data-testid=loaded-module]').text()).toBe('module: p3 (reference)');
    const none: VmStatus = { ...ready, loadedModule: 'none', farfetchModules: [] };
    const n = mount(StatusBar, { props: { status: none, busy: null, uptimeMs: 1 } });
    expect(n.get('[data-testid=loaded-module]').text()).toBe('module: none');
    expect(n.get('[data-testid=unload]').attributes('disabled')).toBeDefined();
  });

  it('offers Start when stopped, and no unload without a module', async () => {
    const stopped: VmStatus = { state: 'stopped', bootSteps: [], uptimeMs: null, loadedModule: 'none' };
    const w = mount(StatusBar, { props: { status: stopped, busy: null, uptimeMs: null } });
    expect(w.get('[data-testid=uptime]').text()).toBe('up —');
    expect(w.get('[data-testid=accelerator]').text()).toBe('accelerator: not yet probed');
    expect(w.get('[data-testid=reset]').attributes('disabled')).toBeDefined();
    await w.setProps({ status: { ...ready, loadedModule: 'none' } });
    expect(w.get('[data-testid=unload]').attributes('disabled')).toBeDefined();
    await w.setProps({ status: stopped });
    await w.get('[data-testid=start]').trigger('click');
    expect(w.emitted('start')).toHaveLength(1);
  });

  it('says why the machine stopped or crashed when nobody asked for it', async () => {
    const off: VmStatus = {
      state: 'stopped',
      bootSteps: [],
      uptimeMs: null,
      loadedModule: 'none',
      stopReason: 'the guest powered off',
    };
    const w = mount(StatusBar, { props: { status: off, busy: null, uptimeMs: null } });
    expect(w.get('[data-testid=vm-state]').text()).toBe('stopped');
    expect(w.get('[data-testid=stop-reason]').text()).toBe('the guest powered off');
    await w.setProps({ status: { ...off, state: 'crashed', stopReason: 'QEMU was killed (SIGKILL)' } });
    expect(w.get('[data-testid=stop-reason]').text()).toBe('QEMU was killed (SIGKILL)');
    await w.setProps({ status: { ...off, stopReason: undefined } });
    expect(w.find('[data-testid=stop-reason]').exists()).toBe(false);
  });

  it('shows what is being done instead of the state while busy, with the buttons off', () => {
    const w = mount(StatusBar, { props: { status: ready, busy: 'Loading p2', uptimeMs: 1 } });
    expect(w.get('[data-testid=vm-state]').text()).toBe('Loading p2');
    const actions = w.findAll('button').filter((b) => b.attributes('data-testid') !== 'accelerator');
    expect(actions).toHaveLength(7); // p1, p2, p3, Unload, Stop, Suspend, Reset;
    expect(actions.every((b) => b.attributes('disabled') !== undefined)).toBe(true);
  });

  it('shows a watchdog fallback with its reason once, and opens the System page', async () => {
    const reason = 'KVM did not boot the guest on this machine: no console output in 3 s';
    const status: VmStatus = {
      ...ready,
      accelerator: { accel: 'tcg', label: `TCG — ${reason}`, fallbackReason: reason },
    };
    const w = mount(StatusBar, { props: { status, busy: 'Resetting', uptimeMs: 1 } });
    const accel = w.get('[data-testid=accelerator]');
    expect(accel.text()).toBe(`TCG — ${reason}`);
    expect(accel.attributes('title')).toBe(
      `TCG — ${reason}. What the lab found on this computer: the System page`,
    );
    await accel.trigger('click');
    expect(w.emitted('show-system')).toHaveLength(1);
  });
});

describe('CrashBanner', () => {
  it('shows the headline and the log, and its one button resets', async () => {
    const crash = {
      kind: 'panic',
      headline: 'Kernel panic - not syncing: sysrq triggered crash',
      log: '\x1b[?2004l\r\x1b[1;33m[guest]\x1b[0m # echo c\r\r\n[ 1.0] Call Trace:\x07\r\n',
      at: 'x',
    };
    const w = mount(CrashBanner, { props: { crash, busy: null } });
    expect(w.get('[data-testid=crash-headline]').text()).toBe(crash.headline);
    expect(w.get('[data-testid=crash-log]').text()).toBe('[guest] # echo c\n[ 1.0] Call Trace:');
    expect(w.get('details').attributes('open')).toBeDefined();
    expect(w.findAll('button')).toHaveLength(1);
    await w.get('[data-testid=crash-reset]').trigger('click');
    expect(w.emitted('reset')).toHaveLength(1);
    await w.setProps({ busy: 'Resetting' });
    expect(w.get('[data-testid=crash-reset]').attributes('disabled')).toBeDefined();
  });
});
