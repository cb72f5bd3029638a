// Console text as a person reads it outside a terminal: no colour or mode escapes, no carriage
// returns, no other control characters (the crash banner shows the log in a <pre>).

/* eslint-disable no-control-regex -- removing control characters is the point */
const OSC = /\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g;
const CSI = /\x1b\[[0-?]*[ -/]*[@-~]/g;
const ESC = /\x1b[@-_]/g;
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/g;
/* eslint-enable no-control-regex */

export function plainText(text: string): string {
  return text.replace(OSC, '').replace(CSI, '').replace(ESC, '').replace(/\r+\n/g, '\n').replace(CONTROL, '');
}
