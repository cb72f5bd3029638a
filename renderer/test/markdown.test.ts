// The step files' Markdown reader: blocks and inline pieces as data, and nothing a step file says
// becomes markup or a script link.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseInline, parseMarkdown } from '../src/composables/markdown.ts';

test('blocks: headings, paragraphs joined, bullet and numbered lists with continued items, fenced code', () => {
  assert.deepEqual(
    parseMarkdown('# Title\n\nOne\ntwo.\n\n- a\n- b\n  more\n\n1. x\n2. y\n\n```\n<b>\tcode\n```\nafter'),
    [
      { kind: 'heading', level: 1, inlines: [{ kind: 'text', text: 'Title' }] },
      { kind: 'paragraph', inlines: [{ kind: 'text', text: 'One two.' }] },
      {
        kind: 'list',
        ordered: false,
        items: [[{ kind: 'text', text: 'a' }], [{ kind: 'text', text: 'b more' }]],
      },
      { kind: 'list', ordered: true, items: [[{ kind: 'text', text: 'x' }], [{ kind: 'text', text: 'y' }]] },
      { kind: 'code', text: '<b>\tcode' },
      { kind: 'paragraph', inlines: [{ kind: 'text', text: 'after' }] },
    ],
  );
});

test('inline: code, strong, emphasis, web links; other links and HTML stay plain text', () => {
  assert.deepEqual(parseInline('run `make` **now**, *then* [docs](https://kernel.org/doc)'), [
    { kind: 'text', text: 'run ' },
    { kind: 'code', text: 'make' },
    { kind: 'text', text: ' ' },
    { kind: 'strong', text: 'now' },
    { kind: 'text', text: ', ' },
    { kind: 'em', text: 'then' },
    { kind: 'text', text: ' ' },
    { kind: 'link', text: 'docs', href: 'https://kernel.org/doc' },
  ]);
  assert.deepEqual(parseInline('[x](javascript:alert(1)) <img src=x onerror=alert(1)>'), [
    { kind: 'text', text: '[x](javascript:alert(1)) <img src=x onerror=alert(1)>' },
  ]);
  assert.deepEqual(parseInline('[x](data:text/html,hi)'), [{ kind: 'text', text: '[x](data:text/html,hi)' }]);
  assert.deepEqual(parseInline('a * b * c'), [{ kind: 'text', text: 'a * b * c' }]);
});
