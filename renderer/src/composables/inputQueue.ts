// Keystrokes and pastes reach the guest in the order they were made, whole: a paste of any length
// goes in pieces the API accepts (consoleInput takes at most 64 KiB), each piece sent only after
// the one before it was taken, and a paste whose text is still on its way from the clipboard
// keeps its place (what is typed after it goes after it).

/** Characters per consoleInput: well under the API's 64 KiB, so typing is never stuck behind much. */
export const INPUT_CHUNK_CHARS = 16 * 1024;

/** The first piece of `text` of at most `max` characters, never splitting a surrogate pair. */
export function firstPiece(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  const end = code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
  return text.slice(0, end);
}

export class InputQueue {
  private items: (string | Promise<string>)[] = [];
  private draining: Promise<void> | null = null;

  constructor(
    private readonly send: (data: string) => Promise<void>,
    private readonly chunkChars = INPUT_CHUNK_CHARS,
    /** A piece the backend refused: the rest of that input is dropped (later input still goes). */
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  /** Queues input; a promise holds its place until it resolves (a rejected one is skipped). */
  push(item: string | Promise<string>): void {
    if (typeof item !== 'string') item.catch(() => undefined); // seen by drain(), never unhandled
    this.items.push(item);
    this.draining ??= this.drain().finally(() => (this.draining = null));
  }

  /** Resolves when everything queued so far has been sent (or dropped). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    while (this.items.length > 0) {
      let data: string;
      try {
        data = await this.items.shift()!;
      } catch {
        continue; // a paste whose clipboard could not be read: nothing to send
      }
      // Keystrokes typed meanwhile travel with it, up to a piece's size.
      while (typeof this.items[0] === 'string' && data.length < this.chunkChars) {
        data += this.items.shift() as string;
      }
      try {
        while (data.length > 0) {
          const piece = firstPiece(data, this.chunkChars);
          await this.send(piece);
          data = data.slice(piece.length);
        }
      } catch (err) {
        this.onError(err);
      }
    }
  }
}
