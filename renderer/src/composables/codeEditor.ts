// The exercise editor's CodeMirror 6 setup: C highlighting and kernel style (real tabs, shown 8
// wide), line numbers, history, search, and a Ctrl/Cmd+S that saves. Kept apart from the component
// so the setup is tested without a page.
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { cpp } from '@codemirror/lang-cpp';
import { bracketMatching, defaultHighlightStyle, indentUnit, syntaxHighlighting } from '@codemirror/language';
import { highlightSelectionMatches, searchKeymap } from '@codemirror/search';
import { EditorSelection, EditorState, type Extension } from '@codemirror/state';
import {
  drawSelection,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
} from '@codemirror/view';

/** Kernel coding style: indentation is one real tab, and a tab is 8 columns. */
export const KERNEL_TAB_SIZE = 8;

export function editorExtensions(opts: {
  onChange: (text: string) => void;
  onSave: () => void;
}): Extension[] {
  return [
    lineNumbers(),
    highlightActiveLineGutter(),
    highlightSpecialChars(),
    history(),
    drawSelection(),
    bracketMatching(),
    highlightActiveLine(),
    highlightSelectionMatches(),
    cpp(),
    syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
    EditorState.tabSize.of(KERNEL_TAB_SIZE),
    indentUnit.of('\t'),
    keymap.of([
      { key: 'Mod-s', preventDefault: true, run: () => (opts.onSave(), true) },
      indentWithTab,
      ...defaultKeymap,
      ...historyKeymap,
      ...searchKeymap,
    ]),
    EditorView.updateListener.of((update) => {
      if (update.docChanged) opts.onChange(update.state.doc.toString());
    }),
    EditorView.contentAttributes.of({ 'aria-label': 'source file' }),
  ];
}

/** Puts the cursor at `line` (1-based, clamped to the file), `column` (1-based) and scrolls it into view. */
export function goToLine(view: EditorView, line: number, column: number | null): void {
  const doc = view.state.doc;
  const at = doc.line(Math.min(Math.max(1, line), doc.lines));
  const pos = Math.min(at.from + Math.max(0, (column ?? 1) - 1), at.to);
  view.dispatch({ selection: EditorSelection.cursor(pos), scrollIntoView: true });
  view.focus();
}
