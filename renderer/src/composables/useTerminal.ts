// xterm.js wired to the guest console: keystrokes out, console output in, batched per frame and
// acknowledged after xterm has rendered it (the backend pauses the guest console when too much
// is unacknowledged, so `cat` of a large file neither freezes the UI nor drops bytes).
import { FitAddon } from '@xterm/addon-fit';
import { SearchAddon } from '@xterm/addon-search';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { Terminal, type ITheme } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import type { LabApi, LabEvent } from '../../../emulator/src/api.ts';
import type { LabConnection } from '../api/transport.ts';
import { OutputBatcher } from './batcher.ts';

export const THEMES: Record<'dark' | 'light', ITheme> = {
  dark: { background: '#1e1e1e', foreground: '#d4d4d4', cursor: '#d4d4d4', selectionBackground: '#264f78' },
  light: {
    background: '#ffffff',
    foreground: '#1e1e1e',
    cursor: '#1e1e1e',
    selectionBackground: '#add6ff',
    yellow: '#9a6700',
    brightYellow: '#7d4e00',
  },
};

export function useTerminal(connection: LabConnection) {
  const api: LabApi = connection.api;
  const term = new Terminal({
    fontSize: 15,
    fontFamily: '"DejaVu Sans Mono", "Cascadia Mono", Menlo, monospace',
    scrollback: 10000,
    cursorBlink: true,
    allowProposedApi: true,
    theme: THEMES.dark,
  });
  const fit = new FitAddon();
  const search = new SearchAddon();
  term.loadAddon(fit);
  term.loadAddon(search);
  term.loadAddon(new WebLinksAddon());

  const batcher = new OutputBatcher((data) => {
    term.write(data, () => {
      api.consoleAck(data.length).catch(() => undefined);
    });
  });
  connection.onEvent((event: LabEvent) => {
    if (event.type === 'console') batcher.push(event.data);
  });
  term.onData((data) => {
    api.consoleInput(data).catch(() => undefined);
  });
  term.onResize(({ cols, rows }) => {
    api.consoleResize(cols, rows).catch(() => undefined);
  });
  // Copy on Ctrl+Shift+C, paste on Ctrl+Shift+V, as terminals do (Ctrl+C goes to the guest).
  term.attachCustomKeyEventHandler((e) => {
    if (e.type !== 'keydown' || !e.ctrlKey || !e.shiftKey) return true;
    if (e.code === 'KeyC') {
      navigator.clipboard?.writeText(term.getSelection()).catch(() => undefined);
      return false;
    }
    if (e.code === 'KeyV') {
      navigator.clipboard
        ?.readText()
        .then((text) => term.paste(text))
        .catch(() => undefined);
      return false;
    }
    return true;
  });

  return {
    term,
    open(element: HTMLElement) {
      term.open(element);
      fit.fit();
      api.consoleResize(term.cols, term.rows).catch(() => undefined);
    },
    fit: () => fit.fit(),
    setTheme: (name: 'dark' | 'light') => {
      term.options.theme = THEMES[name];
    },
    setScreenReaderMode: (on: boolean) => {
      term.options.screenReaderMode = on;
    },
    find: (text: string) => search.findNext(text),
    /** The whole buffer as text (what a screen reader, or a test, reads). */
    text(): string {
      const buffer = term.buffer.active;
      const lines: string[] = [];
      for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i)?.translateToString(true) ?? '');
      return lines.join('\n');
    },
  };
}
