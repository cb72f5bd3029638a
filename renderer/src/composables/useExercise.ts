// The exercise view's state: the steps and where the student stands, the file open in the editor,
// the last Build & load and the grades. One store for the view; the backend keeps the progress.
import { computed, reactive } from 'vue';
import type {
  BuildDiagnostic,
  BuildResult,
  CheckReport,
  ExerciseState,
  ExerciseStep,
  LabApi,
} from '../../../emulator/src/api.ts';

/** Where the editor should put its cursor next (a new `seq` each time, so the same line again moves too). */
export interface EditorTarget {
  line: number;
  column: number | null;
  seq: number;
}

/** The main file of a part's folder, e.g. "farfetch_p3/farfetch_p3.c". */
export function partFile(part: 1 | 2 | 3): string {
  return `farfetch_p${part}/farfetch_p${part}.c`;
}

/** How many steps are done, of how many. */
export function progressCount(state: ExerciseState | null): { done: number; total: number } {
  if (!state) return { done: 0, total: 0 };
  return {
    done: state.steps.filter((s) => state.progress[s.id]?.done).length,
    total: state.steps.length,
  };
}

export function useExercise(api: LabApi) {
  const store = reactive({
    state: null as ExerciseState | null,
    error: null as string | null,
    selectedId: null as string | null,
    files: [] as string[],
    file: null as string | null,
    /** The text as loaded or last saved, and as it is in the editor now. */
    savedText: '',
    text: '',
    target: null as EditorTarget | null,
    build: null as BuildResult | null,
    building: false,
    grading: null as string | null,
    notice: null as string | null,
  });
  let seq = 0;

  const step = computed<ExerciseStep | null>(
    () => store.state?.steps.find((s) => s.id === store.selectedId) ?? null,
  );
  const dirty = computed(() => store.file !== null && store.text !== store.savedText);
  const grade = computed<CheckReport | null>(() =>
    step.value ? (store.state?.progress[step.value.id]?.grade ?? null) : null,
  );

  const attempt = async <T>(fn: () => Promise<T>): Promise<T | undefined> => {
    store.error = null;
    try {
      return await fn();
    } catch (err) {
      store.error = (err as Error).message;
      return undefined;
    }
  };

  async function load(): Promise<void> {
    await attempt(async () => {
      store.state = await api.exercise();
      store.files = await api.workspaceFiles();
      store.selectedId ??= store.state.steps[0]?.id ?? null;
    });
  }

  async function openFile(file: string, at?: { line: number; column: number | null }): Promise<void> {
    if (file !== store.file) {
      if (dirty.value) await save();
      const text = await attempt(() => api.readWorkspaceFile(file));
      if (text === undefined) return;
      store.file = file;
      store.savedText = text;
      store.text = text;
    }
    store.target = at ? { line: at.line, column: at.column, seq: ++seq } : store.target;
  }

  async function select(id: string): Promise<void> {
    store.selectedId = id;
    store.build = null;
    const part = step.value?.part;
    if (part && store.files.includes(partFile(part))) await openFile(partFile(part));
  }

  async function save(): Promise<boolean> {
    const file = store.file;
    if (file === null) return true;
    const text = store.text;
    const ok = await attempt(async () => {
      await api.writeWorkspaceFile(file, text);
      return true;
    });
    if (!ok) return false;
    store.savedText = text;
    return true;
  }

  async function buildAndLoad(): Promise<void> {
    const part = step.value?.part;
    if (!part || store.building) return;
    store.building = true;
    try {
      if (!(await save())) return;
      const result = await attempt(() => api.buildAndLoad(part));
      if (result) store.build = result;
      await load();
    } finally {
      store.building = false;
    }
  }

  async function gradeStep(): Promise<void> {
    const current = step.value;
    if (!current?.part || store.grading) return;
    store.grading = current.id;
    try {
      if (!(await save())) return;
      await attempt(() => api.grade(current.id));
      await load();
    } finally {
      store.grading = null;
    }
  }

  async function openDiagnostic(d: BuildDiagnostic): Promise<void> {
    await openFile(d.file, { line: d.line, column: d.column });
  }

  async function openInEditor(): Promise<void> {
    const file = store.file;
    if (!file) return;
    if (!(await save())) return;
    const result = await attempt(() => api.openInEditor(file));
    if (result) store.notice = result.opened ? `Opened ${result.hostPath}` : `${result.hostPath}`;
  }

  async function setDone(done: boolean): Promise<void> {
    const id = step.value?.id;
    if (!id) return;
    const state = await attempt(() => api.setStepDone(id, done));
    if (state) store.state = state;
  }

  async function setWelcomeSeen(seen: boolean): Promise<void> {
    const state = await attempt(() => api.setWelcomeSeen(seen));
    if (state) store.state = state;
  }

  return {
    store,
    step,
    dirty,
    grade,
    load,
    select,
    openFile,
    save,
    buildAndLoad,
    gradeStep,
    openDiagnostic,
    openInEditor,
    setDone,
    setWelcomeSeen,
  };
}

export type Exercise = ReturnType<typeof useExercise>;
