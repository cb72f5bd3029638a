// A small Markdown reader for the step files: headings, paragraphs, lists, fenced code, and inline
// code, **strong**, *emphasis* and [links](https://…). It produces data, not HTML: the view renders
// every piece as text through Vue, so nothing in a step file can inject markup or script.

export type Inline =
  { kind: 'text' | 'code' | 'strong' | 'em'; text: string } | { kind: 'link'; text: string; href: string };

export type Block =
  | { kind: 'heading'; level: 1 | 2 | 3; inlines: Inline[] }
  | { kind: 'paragraph'; inlines: Inline[] }
  | { kind: 'list'; ordered: boolean; items: Inline[][] }
  | { kind: 'code'; text: string };

const INLINE = /`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|\[([^\]]+)\]\(([^)\s]+)\)/g;

/** Only web links are links; anything else (javascript:, data:, a relative path) stays text. */
function safeHref(href: string): string | null {
  return /^https?:\/\/[^\s]+$/i.test(href) ? href : null;
}

export function parseInline(text: string): Inline[] {
  const out: Inline[] = [];
  let last = 0;
  const push = (piece: Inline) => {
    const prev = out[out.length - 1];
    if (piece.kind === 'text' && prev?.kind === 'text') prev.text += piece.text;
    else if (piece.kind !== 'text' || piece.text) out.push(piece);
  };
  for (const m of text.matchAll(INLINE)) {
    push({ kind: 'text', text: text.slice(last, m.index) });
    if (m[1] !== undefined) push({ kind: 'code', text: m[1] });
    else if (m[2] !== undefined) push({ kind: 'strong', text: m[2] });
    else if (m[3] !== undefined) push({ kind: 'em', text: m[3] });
    else {
      const href = safeHref(m[5]!);
      push(href ? { kind: 'link', text: m[4]!, href } : { kind: 'text', text: m[0] });
    }
    last = m.index + m[0].length;
  }
  push({ kind: 'text', text: text.slice(last) });
  return out;
}

const BULLET = /^\s*[-*] (.*)$/;
const NUMBERED = /^\s*\d+\. (.*)$/;

export function parseMarkdown(source: string): Block[] {
  const lines = source.replace(/\r\n/g, '\n').split('\n');
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (!line.trim()) {
      i++;
      continue;
    }
    if (line.startsWith('```')) {
      const code: string[] = [];
      for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) code.push(lines[i]!);
      i++;
      blocks.push({ kind: 'code', text: code.join('\n') });
      continue;
    }
    const heading = /^(#{1,3}) (.*)$/.exec(line);
    if (heading) {
      blocks.push({
        kind: 'heading',
        level: heading[1]!.length as 1 | 2 | 3,
        inlines: parseInline(heading[2]!),
      });
      i++;
      continue;
    }
    const ordered = NUMBERED.test(line);
    if (ordered || BULLET.test(line)) {
      const marker = ordered ? NUMBERED : BULLET;
      const items: string[] = [];
      while (i < lines.length && lines[i]!.trim()) {
        const m = marker.exec(lines[i]!);
        if (m) items.push(m[1]!);
        else if (items.length > 0) items[items.length - 1] += ' ' + lines[i]!.trim();
        i++;
      }
      blocks.push({ kind: 'list', ordered, items: items.map(parseInline) });
      continue;
    }
    const para: string[] = [];
    while (
      i < lines.length &&
      lines[i]!.trim() &&
      !/^(```|#{1,3} )/.test(lines[i]!) &&
      !BULLET.test(lines[i]!) &&
      !NUMBERED.test(lines[i]!)
    ) {
      para.push(lines[i]!.trim());
      i++;
    }
    blocks.push({ kind: 'paragraph', inlines: parseInline(para.join(' ')) });
  }
  return blocks;
}
