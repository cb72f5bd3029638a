// Keyboard shortcuts: one table, used by the window's key listener and by the terminal (which lets
// these keys through instead of sending them to the guest; plain Ctrl+C still interrupts there).
import { onBeforeUnmount, onMounted } from 'vue';

export type Command =
  | 'find'
  | 'findNext'
  | 'findPrevious'
  | 'copy'
  | 'paste'
  | 'zoomIn'
  | 'zoomOut'
  | 'zoomReset'
  | 'togglePanel'
  | 'toggleTheme';

type KeyLike = Pick<KeyboardEvent, 'type' | 'key' | 'code' | 'ctrlKey' | 'shiftKey' | 'altKey' | 'metaKey'>;

/** Shown to the student (the hint line and button titles). */
export const SHORTCUT_LABELS: Record<Command, string> = {
  find: 'Ctrl+Shift+F',
  findNext: 'F3',
  findPrevious: 'Shift+F3',
  copy: 'Ctrl+Shift+C',
  paste: 'Ctrl+Shift+V',
  zoomIn: 'Ctrl+=',
  zoomOut: 'Ctrl+-',
  zoomReset: 'Ctrl+0',
  togglePanel: 'Ctrl+Shift+B',
  toggleTheme: 'Ctrl+Shift+L',
};

const LETTERS: Record<string, Command> = {
  KeyF: 'find',
  KeyC: 'copy',
  KeyV: 'paste',
  KeyB: 'togglePanel',
  KeyL: 'toggleTheme',
};

/**
 * The command a key press means, or null (the key then goes to the terminal as usual).
 * Ctrl+Shift+letter as in Linux terminals; Cmd+letter on macOS.
 */
export function commandFor(e: KeyLike): Command | null {
  if (e.type !== 'keydown' || e.altKey) return null;
  if (e.key === 'F3' && !e.ctrlKey && !e.metaKey) return e.shiftKey ? 'findPrevious' : 'findNext';
  const letter = LETTERS[e.code];
  if (letter && ((e.ctrlKey && e.shiftKey && !e.metaKey) || (e.metaKey && !e.ctrlKey && !e.shiftKey))) {
    return letter;
  }
  if ((e.ctrlKey || e.metaKey) && !(e.ctrlKey && e.metaKey)) {
    if (e.key === '=' || e.key === '+') return 'zoomIn';
    if (e.key === '-' && !e.shiftKey) return 'zoomOut';
    if (e.key === '0' && !e.shiftKey) return 'zoomReset';
  }
  return null;
}

/** A handler returns false when the key should go on to the terminal after all. */
export type ShortcutHandlers = Partial<Record<Command, () => boolean | void>>;

/** Runs the handler of a shortcut pressed anywhere in the window, before the terminal sees it. */
export function handleShortcut(e: KeyboardEvent, handlers: ShortcutHandlers): boolean {
  const command = commandFor(e);
  const handler = command ? handlers[command] : undefined;
  if (!handler || handler() === false) return false;
  e.preventDefault();
  e.stopPropagation();
  return true;
}

export function useShortcuts(handlers: ShortcutHandlers, target: Window = window) {
  const onKey = (e: KeyboardEvent) => void handleShortcut(e, handlers);
  onMounted(() => target.addEventListener('keydown', onKey, { capture: true }));
  onBeforeUnmount(() => target.removeEventListener('keydown', onKey, { capture: true }));
}
