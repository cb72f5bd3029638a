// The terminal in the window (vitest + happy-dom): its toolbar (search, actions, settings, focus)
// and the pane with useTerminal (output and acknowledgements, keystrokes, pastes, resizes).
import { mount } from '@vue/test-utils';
import { describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';
import type { LabApi, LabEvent } from '../../emulator/src/api.ts';
import type { LabConnection } from '../src/api/transport.ts';
import TerminalPane from '../src/components/TerminalPane.vue';
import TerminalToolbar from '../src/components/TerminalToolbar.vue';
import { INPUT_CHUNK_CHARS } from '../src/composables/inputQueue.ts';
import { useTerminal } from '../src/composables/useTerminal.ts';

describe('TerminalToolbar', () => {
  const base = {
    searchOpen: false,
    results: null,
    theme: 'dark' as const,
    fontSize: 15,
    screenReader: false,
    panelOpen: true,
    exerciseOpen: true,
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
