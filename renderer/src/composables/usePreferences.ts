// What the student set up stays set up: theme, font size, screen-reader mode and the side panel,
// kept in localStorage (one JSON entry; anything unreadable falls back to the default).
import { reactive, watch } from 'vue';

export type Theme = 'dark' | 'light';

export interface Preferences {
  theme: Theme;
  fontSize: number;
  screenReader: boolean;
  panelOpen: boolean;
  panelWidth: number;
  /** The exercise pane beside the terminal. */
  exerciseOpen: boolean;
}

export const STORAGE_KEY = 'farfetchd-lab.preferences';
export const FONT_SIZES = { min: 9, max: 32, default: 15 } as const;
export const PANEL_WIDTHS = { min: 200, max: 800, default: 320 } as const;

export const DEFAULT_PREFERENCES: Preferences = {
  theme: 'dark',
  fontSize: FONT_SIZES.default,
  screenReader: false,
  panelOpen: true,
  panelWidth: PANEL_WIDTHS.default,
  exerciseOpen: true,
};

function clampInt(value: unknown, min: number, max: number, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value)
    ? Math.min(max, Math.max(min, Math.round(value)))
    : fallback;
}

/** Preferences from their stored text; missing or bad fields take their default. */
export function parsePreferences(text: string | null): Preferences {
  let raw: Record<string, unknown> = {};
  try {
    const parsed: unknown = text ? JSON.parse(text) : {};
    if (typeof parsed === 'object' && parsed !== null) raw = parsed as Record<string, unknown>;
  } catch {
    // keep the defaults
  }
  const d = DEFAULT_PREFERENCES;
  return {
    theme: raw.theme === 'light' || raw.theme === 'dark' ? raw.theme : d.theme,
    fontSize: clampInt(raw.fontSize, FONT_SIZES.min, FONT_SIZES.max, d.fontSize),
    screenReader: typeof raw.screenReader === 'boolean' ? raw.screenReader : d.screenReader,
    panelOpen: typeof raw.panelOpen === 'boolean' ? raw.panelOpen : d.panelOpen,
    panelWidth: clampInt(raw.panelWidth, PANEL_WIDTHS.min, PANEL_WIDTHS.max, d.panelWidth),
    exerciseOpen: typeof raw.exerciseOpen === 'boolean' ? raw.exerciseOpen : d.exerciseOpen,
  };
}

type StorageLike = Pick<Storage, 'getItem' | 'setItem'>;

/** Reactive preferences, written back on every change. */
export function usePreferences(storage: StorageLike = localStorage) {
  let stored: string | null = null;
  try {
    stored = storage.getItem(STORAGE_KEY);
  } catch {
    // storage disabled: preferences last for this page only
  }
  const prefs = reactive<Preferences>(parsePreferences(stored));
  watch(
    prefs,
    (value) => {
      try {
        storage.setItem(STORAGE_KEY, JSON.stringify(value));
      } catch {
        // as above
      }
    },
    { deep: true, flush: 'sync' },
  );
  return {
    prefs,
    zoom(step: -1 | 0 | 1) {
      prefs.fontSize =
        step === 0
          ? FONT_SIZES.default
          : clampInt(prefs.fontSize + step, FONT_SIZES.min, FONT_SIZES.max, FONT_SIZES.default);
    },
    toggleTheme() {
      prefs.theme = prefs.theme === 'dark' ? 'light' : 'dark';
    },
  };
}
