// The window's size and place, remembered between runs (a JSON file in Electron's userData).
export interface WindowState {
  width: number;
  height: number;
  x?: number;
  y?: number;
  maximized: boolean;
}

export const DEFAULT_WINDOW_STATE: WindowState = { width: 1280, height: 800, maximized: false };

const inRange = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/** Whatever the file holds (or nothing), a usable state: bad or missing fields fall back. */
export function parseWindowState(text: string | null): WindowState {
  let raw: Record<string, unknown>;
  try {
    raw = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    return { ...DEFAULT_WINDOW_STATE };
  }
  const state: WindowState = {
    width: inRange(raw.width, 640, 10000) ? raw.width : DEFAULT_WINDOW_STATE.width,
    height: inRange(raw.height, 400, 10000) ? raw.height : DEFAULT_WINDOW_STATE.height,
    maximized: raw.maximized === true,
  };
  if (inRange(raw.x, -10000, 10000) && inRange(raw.y, -10000, 10000)) {
    state.x = raw.x;
    state.y = raw.y;
  }
  return state;
}
