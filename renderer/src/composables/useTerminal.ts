// xterm.js wired to the guest console: keystrokes out (in order, a long paste in pieces), console
// output in, batched per frame and acknowledged after xterm has taken it (the backend stops sending
// to this page when too much is unacknowledged, so `cat` of a large file neither freezes the UI nor
// drops bytes), and the size sent once it settles.
import { FitAddon } from '@xterm/addon-fit';
import { SearchAddon, type ISearchOptions } from '@xterm/addon-search';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { Terminal, type ITheme } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { ref } from 'vue';
import type { LabApi, LabEvent } from '../../../emulator/src/api.ts';
import type { LabConnection } from '../api/transport.ts';
import { OutputBatcher } from './batcher.ts';
import { InputQueue } from './inputQueue.ts';
import { LatestOnly } from './latest.ts';
import type { Theme } from './usePreferences.ts';
import { commandFor } from './useShortcuts.ts';
import { findHexLinks, nearestPid } from './walkView.ts';

export const THEMES: Record<Theme, ITheme> = {
  dark: {
    background: '#1e1e1e',
    foreground: '#d4d4d4',
    cursor: '#d4d4d4',
    selectionBackground: '#264f78',
  },
  light: {
    background: '#ffffff',
    foreground: '#1e1e1e',
    cursor: '#1e1e1e',
    selectionBackground: '#add6ff',
    // xterm's default yellows are unreadable on white (the guest's prompt is yellow).
    yellow: '#9a6700',
    brightYellow: '#7d4e00',
    brightWhite: '#3b3b3b',
  },
};

/** Search highlights that keep the text readable on each theme's background (#RRGGBB only). */
const SEARCH_DECORATIONS: Record<Theme, ISearchOptions['decorations']> = {
  dark: {
    matchBackground: '#515c6a',
    matchOverviewRuler: '#d18616',
    activeMatchBackground: '#a8620a',
    activeMatchColorOverviewRuler: '#ea5c00',
  },
  light: {
    matchBackground: '#fff0a8',
    matchOverviewRuler: '#d18616',
    activeMatchBackground: '#f9c74f',
    activeMatchColorOverviewRuler: '#ea5c00',
  },
};

/** A line of the lab's own between the guest's output (dimmed, on a fresh line). */
export function noteLine(text: string): string {
  return `\r\n\x1b[2m── ${text} ──\x1b[0m\r\n`;
}

/** "1.2 MB", "40 KB": how much output a page that fell behind missed, as people read it. */
export function sizeText(chars: number): string {
  if (chars >= 1e6) return `${(chars / 1e6).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(chars / 1e3))} KB`;
}

interface Size {
  cols: number;
  rows: number;
}

export interface TerminalOptions {
  theme: Theme;
  fontSize: number;
  screenReader: boolean;
  /** A hex address printed in the terminal was clicked: `pid` is the one printed nearest (or null). */
  onAddress?: (pid: number | null, addr: string) => void;
}

export interface SearchResults {
  index: number;
  count: number;
}

export function useTerminal(connection: LabConnection, options: TerminalOptions) {
  const api: LabApi = connection.api;
  const term = new Terminal({
    fontSize: options.fontSize,
    fontFamily: '"DejaVu Sans Mono", "Cascadia Mono", Menlo, Consolas, monospace',
    scrollback: 10_000,
    cursorBlink: true,
    allowProposedApi: true, // the search addon's match decorations
    screenReaderMode: options.screenReader,
    theme: THEMES[options.theme],
  });
  const fit = new FitAddon();
  const search = new SearchAddon();
  const results = ref<SearchResults | null>(null);
  term.loadAddon(fit);
  term.loadAddon(search);
  // Links open outside the app (Electron's main turns the new window into the system browser).
  term.loadAddon(new WebLinksAddon((_event, uri) => window.open(uri, '_blank', 'noopener,noreferrer')));
  const bufferLines = (): string[] => {
    const buffer = term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i)?.translateToString(true) ?? '');
    return lines;
  };
  // Hex addresses become links that open their page walk, with the `pid:` printed nearest.
  if (options.onAddress) {
    const onAddress = options.onAddress;
    term.registerLinkProvider({
      provideLinks(y, callback) {
        const line = term.buffer.active.getLine(y - 1)?.translateToString(true) ?? '';
        const links = findHexLinks(line).map((link) => ({
          range: { start: { x: link.start + 1, y }, end: { x: link.start + link.length, y } },
          text: link.addr,
          decorations: { pointerCursor: true, underline: true },
          activate: () => onAddress(nearestPid(bufferLines(), y - 1), link.addr),
        }));
        callback(links.length ? links : undefined);
      },
    });
  }
  search.onDidChangeResults(({ resultIndex, resultCount }) => {
    results.value = { index: resultIndex, count: resultCount };
  });

  const batcher = new OutputBatcher((data, guestChars) => {
    term.write(data, () => {
      if (guestChars > 0) api.consoleAck(guestChars).catch(() => undefined);
    });
  });
  const offEvent = connection.onEvent((event: LabEvent) => {
    if (event.type !== 'console') return;
    if (event.skipped) {
      batcher.push(noteLine(`${sizeText(event.skipped)} of output skipped: this page fell behind`), 0);
    }
    batcher.push(event.data);
  });

  const input = new InputQueue((data) => api.consoleInput(data));
  // What term.paste() produces (line ends as a terminal sends them, bracketed when the guest asked
  // for it) is caught here instead of being queued where the paste was not yet read.
  let caught: string[] | null = null;
  term.onData((data) => {
    if (caught) caught.push(data);
    else input.push(data);
  });
  const pasted = (text: string): string => {
    caught = [];
    try {
      term.paste(text);
      return caught.join('');
    } finally {
      caught = null;
    }
  };
  const resizer = new LatestOnly<Size>(
    ({ cols, rows }) => api.consoleResize(cols, rows),
    (a, b) => a.cols === b.cols && a.rows === b.rows,
  );
  term.onResize((size) => resizer.push(size));
  // The app's shortcuts are handled by the window; the terminal must not send them to the guest.
  term.attachCustomKeyEventHandler((e) => commandFor(e) === null);

  let opened = false;
  let theme: Theme = options.theme;
  let lastSearch = '';
  return {
    term,
    /** What the search last found (null before any search). */
    results,
    open(element: HTMLElement) {
      term.open(element);
      opened = true;
      this.fit();
      resizer.push({ cols: term.cols, rows: term.rows });
      resizer.flush(); // the guest learns the page's size at once
    },
    fit() {
      // An element that is not laid out (hidden, zero size) has no size to fit to.
      if (opened && term.element?.offsetParent !== null) fit.fit();
    },
    focus: () => term.focus(),
    setTheme(name: Theme) {
      theme = name;
      term.options.theme = THEMES[name];
      if (lastSearch) {
        // Highlights are drawn once per search: draw them again in the new theme's colours,
        // staying on the current match (incremental).
        search.clearDecorations();
        search.findNext(lastSearch, { decorations: SEARCH_DECORATIONS[theme], incremental: true });
      }
    },
    setFontSize(size: number) {
      term.options.fontSize = size;
      this.fit();
    },
    setScreenReaderMode(on: boolean) {
      term.options.screenReaderMode = on;
    },
    /** A line of the lab's own (dimmed) between the guest's output, e.g. where a new boot begins. */
    note(text: string) {
      // Not guest output, so not acknowledged. Starts on a fresh line whatever the guest left.
      term.write(noteLine(text));
    },
    findNext(text: string) {
      lastSearch = text;
      return search.findNext(text, { decorations: SEARCH_DECORATIONS[theme] });
    },
    findPrevious(text: string) {
      lastSearch = text;
      return search.findPrevious(text, { decorations: SEARCH_DECORATIONS[theme] });
    },
    clearSearch() {
      lastSearch = '';
      search.clearDecorations();
      results.value = null;
    },
    async copy(): Promise<void> {
      const selection = term.getSelection();
      if (selection) await navigator.clipboard.writeText(selection);
    },
    /**
     * Pastes the clipboard. Its place in the input is kept from now: keys pressed while the
     * clipboard is read go after the pasted text. Rejects when the clipboard cannot be read.
     */
    async paste(): Promise<void> {
      const text = navigator.clipboard.readText();
      input.push(text.then((t) => (t ? pasted(t) : '')));
      await text;
    },
    /** Types `text` into the terminal as a paste (bracketed when the guest asked for it); nothing is run. */
    insert(text: string) {
      input.push(pasted(text));
      term.focus();
    },
    /**
     * Where `text` is on the screen, lowest first (client pixels of the centre of its character
     * `at`), for tests that click what the terminal shows; null when it is not in view.
     */
    cellOf(text: string, at = 0): { x: number; y: number } | null {
      const buffer = term.buffer.active;
      const screen = term.element?.querySelector('.xterm-screen')?.getBoundingClientRect();
      if (!screen) return null;
      for (let row = term.rows - 1; row >= 0; row--) {
        const col =
          buffer
            .getLine(buffer.viewportY + row)
            ?.translateToString(true)
            .indexOf(text) ?? -1;
        if (col >= 0) {
          const w = screen.width / term.cols;
          const h = screen.height / term.rows;
          return { x: screen.left + (col + at + 0.5) * w, y: screen.top + (row + 0.5) * h };
        }
      }
      return null;
    },
    /** Resolves when all input so far has reached the backend. */
    inputIdle: () => input.idle(),
    /** The whole buffer as text (what a screen reader, or a test, reads). */
    text: (): string => bufferLines().join('\n'),
    dispose() {
      offEvent();
      resizer.dispose();
      term.dispose();
    },
  };
}

export type LabTerminal = ReturnType<typeof useTerminal>;
