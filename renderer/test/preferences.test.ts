// The user's settings without a browser: stored preferences (checked, clamped, written back) and
// the keyboard shortcuts that are the lab's rather than the guest's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_PREFERENCES,
  parsePreferences,
  STORAGE_KEY,
  usePreferences,
} from '../src/composables/usePreferences.ts';
import { commandFor } from '../src/composables/useShortcuts.ts';

test('preferences: stored values are checked and clamped, and changes are written back', () => {
  assert.deepEqual(parsePreferences(null), DEFAULT_PREFERENCES);
  assert.deepEqual(parsePreferences('{oops'), DEFAULT_PREFERENCES);
  assert.deepEqual(parsePreferences('[1]').theme, 'dark');
  assert.deepEqual(
    parsePreferences(
      '{"theme":"light","fontSize":99,"screenReader":true,"panelOpen":false,"panelWidth":10,"exerciseOpen":false}',
    ),
    {
      theme: 'light',
      fontSize: 32,
      screenReader: true,
      panelOpen: false,
      panelWidth: 200,
      exerciseOpen: false,
    },
  );
  assert.deepEqual(
    parsePreferences('{"theme":"blue","fontSize":"big","screenReader":1}'),
    DEFAULT_PREFERENCES,
  );

  const store = new Map<string, string>([[STORAGE_KEY, '{"fontSize":31}']]);
  const storage = {
    getItem: (k: string) => store.get(k) ?? null,
    setItem: (k: string, v: string) => store.set(k, v),
  };
  const { prefs, zoom, toggleTheme } = usePreferences(storage);
  zoom(1);
  zoom(1);
  assert.equal(prefs.fontSize, 32);
  toggleTheme();
  assert.deepEqual(JSON.parse(store.get(STORAGE_KEY)!), {
    ...DEFAULT_PREFERENCES,
    theme: 'light',
    fontSize: 32,
  });
  zoom(0);
  assert.equal(JSON.parse(store.get(STORAGE_KEY)!).fontSize, DEFAULT_PREFERENCES.fontSize);
  const broken = {
    getItem: () => {
      throw new Error('denied');
    },
    setItem: () => {
      throw new Error('denied');
    },
  };
  const fallback = usePreferences(broken);
  fallback.toggleTheme();
  assert.equal(fallback.prefs.theme, 'light');
});

test('shortcuts: Ctrl+Shift+letter (Cmd+letter on macOS), F3, zoom; everything else goes to the guest', () => {
  const key = (k: Partial<KeyboardEvent>) =>
    commandFor({
      type: 'keydown',
      key: '',
      code: '',
      ctrlKey: false,
      shiftKey: false,
      altKey: false,
      metaKey: false,
      ...k,
    });
  assert.equal(key({ code: 'KeyF', key: 'F', ctrlKey: true, shiftKey: true }), 'find');
  assert.equal(key({ code: 'KeyF', key: 'f', metaKey: true }), 'find');
  assert.equal(key({ code: 'KeyC', key: 'C', ctrlKey: true, shiftKey: true }), 'copy');
  assert.equal(key({ code: 'KeyV', key: 'V', ctrlKey: true, shiftKey: true }), 'paste');
  assert.equal(key({ code: 'KeyB', key: 'B', ctrlKey: true, shiftKey: true }), 'togglePanel');
  assert.equal(key({ code: 'KeyL', key: 'L', ctrlKey: true, shiftKey: true }), 'toggleTheme');
  assert.equal(key({ key: 'F3' }), 'findNext');
  assert.equal(key({ key: 'F3', shiftKey: true }), 'findPrevious');
  assert.equal(key({ key: '=', ctrlKey: true }), 'zoomIn');
  assert.equal(key({ key: '+', ctrlKey: true, shiftKey: true }), 'zoomIn');
  assert.equal(key({ key: '-', ctrlKey: true }), 'zoomOut');
  assert.equal(key({ key: '0', ctrlKey: true }), 'zoomReset');
  // The guest keeps Ctrl+C, Ctrl+F, Ctrl+V, Alt+..., plain keys, and key releases.
  assert.equal(key({ code: 'KeyC', key: 'c', ctrlKey: true }), null);
  assert.equal(key({ code: 'KeyF', key: 'f', ctrlKey: true }), null);
  assert.equal(key({ code: 'KeyV', key: 'v', ctrlKey: true }), null);
  assert.equal(key({ code: 'KeyF', key: 'F', ctrlKey: true, shiftKey: true, altKey: true }), null);
  assert.equal(key({ code: 'KeyA', key: 'a' }), null);
  assert.equal(key({ type: 'keyup', code: 'KeyF', key: 'F', ctrlKey: true, shiftKey: true }), null);
});
