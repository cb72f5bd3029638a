// The components, mounted in happy-dom: what they show, what they emit.
import { mount } from '@vue/test-utils';
import { describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';
import type { LabApi, LabEvent, VmStatus } from '../../emulator/src/api.ts';
import type { LabConnection } from '../src/api/transport.ts';
import CrashBanner from '../src/components/CrashBanner.vue';
import SidePanel from '../src/components/SidePanel.vue';
import StatusBar from '../src/components/StatusBar.vue';
import TerminalPane from '../src/components/TerminalPane.vue';
import TerminalToolbar from '../src/components/TerminalToolbar.vue';
import { ACK_EVERYTHING, useTerminal } from '../src/composables/useTerminal.ts';

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
    expect(w.get('[data-testid=accelerator]').text()).toBe('TCG — no hardware acceleration: slower');
    expect(w.get('[data-testid=accelerator]').classes()).toContain('slow');
    expect(w.get('[data-testid=accelerator]').attributes('title')).toBe('KVM: /dev/kvm does not exist');
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
    expect(w.findAll('button').every((b) => b.attributes('disabled') !== undefined)).toBe(true);
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

describe('TerminalToolbar', () => {
  const base = {
    searchOpen: false,
    results: null,
    theme: 'dark' as const,
    fontSize: 15,
    screenReader: false,
    panelOpen: true,
  };

  it('searches as you type, Enter / Shift+Enter for next and previous, Esc closes', async () => {
    const w = mount(TerminalToolbar, { props: { ...base, searchOpen: true } });
    const input = w.get('[data-testid=search-input]');
    await input.setValue('farfetch');
    await input.trigger('keydown', { key: 'Enter' });
    await input.trigger('keydown', { key: 'Enter', shiftKey: true });
    expect(w.emitted('find')).toEqual([
      ['farfetch', false],
      ['farfetch', false],
      ['farfetch', true],
    ]);
    await w.setProps({ results: { index: 1, count: 3 } });
    expect(w.get('[data-testid=search-count]').text()).toBe('2 of 3');
    await w.setProps({ results: { index: -1, count: 0 } });
    expect(w.get('[data-testid=search-count]').text()).toBe('no results');
    await input.trigger('keydown', { key: 'Escape' });
    expect(w.emitted('close-search')).toHaveLength(1);
  });

  it('emits the terminal actions and shows the current settings', async () => {
    const w = mount(TerminalToolbar, { props: base });
    expect(w.get('[data-testid=font-size]').text()).toBe('15px');
    expect(w.get('[data-testid=toggle-theme]').text()).toBe('Light theme');
    await w.get('[data-testid=open-search]').trigger('click');
    await w.get('[aria-label="larger text"]').trigger('click');
    await w.get('[aria-label="smaller text"]').trigger('click');
    await w.get('[data-testid=toggle-theme]').trigger('click');
    await w.get('[data-testid=screen-reader]').trigger('change');
    await w.get('[data-testid=toggle-panel]').trigger('click');
    expect(w.emitted('open-search')).toHaveLength(1);
    expect(w.emitted('zoom')).toEqual([[1], [-1]]);
    expect(w.emitted('toggle-theme')).toHaveLength(1);
    expect(w.emitted('toggle-screen-reader')).toHaveLength(1);
    expect(w.emitted('toggle-panel')).toHaveLength(1);
    await w.setProps({ theme: 'light' });
    expect(w.get('[data-testid=toggle-theme]').text()).toBe('Dark theme');
  });
});

describe('SidePanel', () => {
  it('has room for the page-table and driver panels, switches tabs and closes', async () => {
    const w = mount(SidePanel, { props: { width: 320 } });
    expect(w.attributes('style')).toContain('width: 320px');
    expect(w.get('[role=tabpanel] h2').text()).toBe('Page tables');
    await w.get('[data-testid=tab-drivers]').trigger('click');
    expect(w.get('[role=tabpanel] h2').text()).toBe('Drivers');
    await w.get('[aria-label="hide the panels"]').trigger('click');
    expect(w.emitted('close')).toHaveLength(1);
  });
});

describe('TerminalPane with useTerminal', () => {
  function fakeConnection() {
    const calls: [string, ...unknown[]][] = [];
    let listener: (e: LabEvent) => void = () => undefined;
    const record =
      (name: string) =>
      async (...args: unknown[]) => {
        calls.push([name, ...args]);
      };
    const api = {
      consoleInput: record('consoleInput'),
      consoleResize: record('consoleResize'),
      consoleAck: record('consoleAck'),
    } as unknown as LabApi;
    const connection: LabConnection = {
      api,
      onEvent: (l) => {
        listener = l;
        return () => undefined;
      },
    };
    return { connection, calls, emit: (e: LabEvent) => listener(e) };
  }

  it('writes console output, acknowledges what xterm took, and sends keystrokes to the guest', async () => {
    vi.stubGlobal('requestAnimationFrame', (fn: () => void) => setTimeout(fn, 0));
    vi.stubGlobal(
      'ResizeObserver',
      class {
        observe() {}
        disconnect() {}
      },
    );
    const { connection, calls, emit } = fakeConnection();
    const terminal = useTerminal(connection, { theme: 'dark', fontSize: 15, screenReader: false });
    const w = mount(TerminalPane, { props: { terminal }, attachTo: document.body });
    expect(w.find('.xterm').exists()).toBe(true);
    const chunks = ['root@guest:~# ', 'uname -r\r\n6.12.117-farfetch\r\n'];
    for (const data of chunks) emit({ type: 'console', data });
    await vi.waitFor(() => expect(calls.filter((c) => c[0] === 'consoleAck')).toHaveLength(2));
    // Opening acknowledged everything before it; both chunks went to xterm in one write and were
    // acknowledged together.
    expect(calls.filter((c) => c[0] === 'consoleAck')).toEqual([
      ['consoleAck', ACK_EVERYTHING],
      ['consoleAck', chunks.join('').length],
    ]);
    expect(calls[0]).toEqual(['consoleResize', terminal.term.cols, terminal.term.rows]);
    expect(terminal.text()).toMatch(/^root@guest:~# uname -r\n6\.12\.117-farfetch\n/);
    terminal.note('the guest is booting');
    await vi.waitFor(() => expect(terminal.text()).toMatch(/\n── the guest is booting ──\n/));
    expect(calls.filter((c) => c[0] === 'consoleAck')).toHaveLength(2); // the note is not guest output
    terminal.term.input('ls\r');
    expect(calls.filter((c) => c[0] === 'consoleInput')).toEqual([['consoleInput', 'ls\r']]);
    terminal.setScreenReaderMode(true);
    await nextTick();
    expect(document.querySelector('.xterm-accessibility')).not.toBeNull();
    w.unmount();
    terminal.dispose();
    vi.unstubAllGlobals();
  });
});
