// The components, mounted in happy-dom: what they show, what they emit.
import { mount } from '@vue/test-utils';
import { describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';
import type { LabApi, LabEvent, SystemReport, VmStatus } from '../../emulator/src/api.ts';
import type { LabConnection } from '../src/api/transport.ts';
import CrashBanner from '../src/components/CrashBanner.vue';
import SidePanel from '../src/components/SidePanel.vue';
import StatusBar from '../src/components/StatusBar.vue';
import TerminalPane from '../src/components/TerminalPane.vue';
import SystemPage from '../src/components/SystemPage.vue';
import TerminalToolbar from '../src/components/TerminalToolbar.vue';
import { INPUT_CHUNK_CHARS } from '../src/composables/inputQueue.ts';
import { useTerminal } from '../src/composables/useTerminal.ts';

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

  it('shows what is being done instead of the state while busy, with the buttons off', () => {
    const w = mount(StatusBar, { props: { status: ready, busy: 'Loading p2', uptimeMs: 1 } });
    expect(w.get('[data-testid=vm-state]').text()).toBe('Loading p2');
    const actions = w.findAll('button').filter((b) => b.attributes('data-testid') !== 'accelerator');
    expect(actions).toHaveLength(6);
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

  it('a click on a button or the checkbox leaves the keyboard where it was; the search box takes it', async () => {
    const w = mount(TerminalToolbar, { props: { ...base, searchOpen: true }, attachTo: document.body });
    const pressed = (el: Element) => {
      const down = new MouseEvent('mousedown', { bubbles: true, cancelable: true });
      el.dispatchEvent(down);
      return down.defaultPrevented;
    };
    const paste = w.findAll('button').find((b) => b.text() === 'Paste')!;
    expect(pressed(paste.element)).toBe(true);
    expect(pressed(w.get('[aria-label="larger text"]').element)).toBe(true);
    expect(pressed(w.get('[data-testid=screen-reader]').element)).toBe(true);
    expect(pressed(w.get('[data-testid=search-input]').element)).toBe(false);
    w.unmount();
  });
});

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

  function mountTerminal() {
    vi.stubGlobal('requestAnimationFrame', (fn: () => void) => setTimeout(fn, 0));
    vi.stubGlobal(
      'ResizeObserver',
      class {
        observe() {}
        disconnect() {}
      },
    );
    const fake = fakeConnection();
    const terminal = useTerminal(fake.connection, { theme: 'dark', fontSize: 15, screenReader: false });
    const w = mount(TerminalPane, { props: { terminal }, attachTo: document.body });
    const cleanup = () => {
      w.unmount();
      terminal.dispose();
      vi.unstubAllGlobals();
    };
    return { ...fake, terminal, w, cleanup };
  }
  const of = (calls: [string, ...unknown[]][], name: string) => calls.filter((c) => c[0] === name);

  it('writes console output, acknowledges what xterm took, and sends keystrokes to the guest', async () => {
    const { calls, emit, terminal, cleanup } = mountTerminal();
    expect(document.querySelector('.xterm')).not.toBeNull();
    const chunks = ['root@guest:~# ', 'uname -r\r\n6.12.117-farfetch\r\n'];
    for (const data of chunks) emit({ type: 'console', data });
    await vi.waitFor(() => expect(of(calls, 'consoleAck')).toHaveLength(1));
    // Both chunks went to xterm in one write and were acknowledged together.
    expect(of(calls, 'consoleAck')).toEqual([['consoleAck', chunks.join('').length]]);
    expect(calls[0]).toEqual(['consoleResize', terminal.term.cols, terminal.term.rows]);
    expect(terminal.text()).toMatch(/^root@guest:~# uname -r\n6\.12\.117-farfetch\n/);
    terminal.note('the guest is booting');
    await vi.waitFor(() => expect(terminal.text()).toMatch(/\n── the guest is booting ──\n/));
    expect(of(calls, 'consoleAck')).toHaveLength(1); // the note is not guest output
    terminal.term.input('ls\r');
    await terminal.inputIdle();
    expect(of(calls, 'consoleInput')).toEqual([['consoleInput', 'ls\r']]);
    terminal.setScreenReaderMode(true);
    await nextTick();
    expect(document.querySelector('.xterm-accessibility')).not.toBeNull();
    cleanup();
  });

  it('says where output was skipped for a page that fell behind, and acknowledges only the guest’s', async () => {
    const { calls, emit, terminal, cleanup } = mountTerminal();
    emit({ type: 'console', data: 'line 1\r\n' });
    emit({ type: 'console', data: 'line 900\r\n', skipped: 1_234_567 });
    await vi.waitFor(() => expect(of(calls, 'consoleAck')).toHaveLength(1));
    expect(of(calls, 'consoleAck')).toEqual([['consoleAck', 'line 1\r\nline 900\r\n'.length]]);
    expect(terminal.text()).toMatch(
      /^line 1\n\n── 1\.2 MB of output skipped: this page fell behind ──\nline 900\n/,
    );
    cleanup();
  });

  it('pastes any length whole and in order, in pieces, before keys pressed while it was read', async () => {
    const { calls, terminal, cleanup } = mountTerminal();
    let give: (text: string) => void = () => undefined;
    const clipboard = { readText: () => new Promise<string>((resolve) => (give = resolve)) };
    Object.defineProperty(navigator, 'clipboard', { value: clipboard, configurable: true });
    const lines = Array.from({ length: 4000 }, (_, i) => `echo line ${i}\n`).join(''); // ≈ 60 000
    const pasting = terminal.paste();
    terminal.term.input('\x04'); // Ctrl-D pressed before the clipboard answered
    give(lines);
    await pasting;
    await terminal.inputIdle();
    const sent = of(calls, 'consoleInput').map((c) => c[1] as string);
    expect(sent.join('')).toBe(lines.replace(/\n/g, '\r') + '\x04');
    expect(sent.every((piece) => piece.length <= INPUT_CHUNK_CHARS)).toBe(true);
    expect(sent.length).toBe(Math.ceil(lines.length / INPUT_CHUNK_CHARS) + 1);
    // The guest asked for bracketed paste (bash at its prompt does): the paste says where it ends.
    terminal.term.write('\x1b[?2004h');
    await new Promise((r) => terminal.term.write('', () => r(undefined)));
    const short = terminal.paste();
    give('ls');
    await short;
    await terminal.inputIdle();
    expect(of(calls, 'consoleInput').at(-1)).toEqual(['consoleInput', '\x1b[200~ls\x1b[201~']);
    cleanup();
  });

  it('sends the size once it settles, not for every step of a resize', async () => {
    const { calls, terminal, cleanup } = mountTerminal();
    const first = of(calls, 'consoleResize');
    expect(first).toEqual([['consoleResize', terminal.term.cols, terminal.term.rows]]);
    for (let cols = 60; cols <= 90; cols += 5) terminal.term.resize(cols, 30);
    await vi.waitFor(() => expect(of(calls, 'consoleResize')).toHaveLength(2));
    await new Promise((r) => setTimeout(r, 150));
    expect(of(calls, 'consoleResize')).toEqual([...first, ['consoleResize', 90, 30]]);
    cleanup();
  });
});
