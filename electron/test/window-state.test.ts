import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_WINDOW_STATE, parseWindowState } from '../window-state.ts';

test('a saved window state is restored as it was', () => {
  assert.deepEqual(parseWindowState('{"width":1400,"height":900,"x":10,"y":-20,"maximized":true}'), {
    width: 1400,
    height: 900,
    x: 10,
    y: -20,
    maximized: true,
  });
});

test('a missing, broken or absurd state falls back field by field', () => {
  assert.deepEqual(parseWindowState(null), DEFAULT_WINDOW_STATE);
  assert.deepEqual(parseWindowState('{not json'), DEFAULT_WINDOW_STATE);
  assert.deepEqual(parseWindowState('{"width":20,"height":"big","x":5}'), DEFAULT_WINDOW_STATE);
  assert.deepEqual(parseWindowState('{"width":1000,"height":700,"x":1.5,"y":3}'), {
    width: 1000,
    height: 700,
    maximized: false,
  });
});
