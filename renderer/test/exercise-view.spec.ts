// The exercise view, the editor and the welcome page (vitest + happy-dom) over a fake LabApi: the
// step list with progress, a step's content, a compiler message's link moving the editor's cursor,
// a grade's checks, kernel-style tabs, and the welcome page's advice for each system.
import { mount, flushPromises } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import type { BuildResult, CheckReport, ExerciseState, LabApi } from '../../emulator/src/api.ts';
import ExerciseView from '../src/components/ExerciseView.vue';
import MarkdownView from '../src/components/MarkdownView.vue';
import WelcomePage from '../src/components/WelcomePage.vue';
import { useExercise } from '../src/composables/useExercise.ts';
import { KERNEL_TAB_SIZE } from '../src/composables/codeEditor.ts';

const report: CheckReport = {
  part: 3,
  score: 1,
  maxScore: 2,
  tests: [
    { name: 'ioctl_sets_pid', status: 'pass', points: 1, maxPoints: 1, message: '' },
    {
      name: 'ioctl_bad_pid_is_esrch',
      status: 'fail',
      points: 0,
      maxPoints: 1,
      message: 'expected ESRCH, got 0',
    },
  ],
};
const build: BuildResult = {
  part: 3,
  exitCode: 2,
  output: 'make output',
  diagnostics: [
    { file: 'farfetch_p3/farfetch_p3.c', line: 3, column: 2, severity: 'error', message: "'x' undeclared" },
  ],
  loaded: false,
  loadOutput: null,
};

function fakeApi() {
  const calls: unknown[][] = [];
  const files: Record<string, string> = { 'farfetch_p3/farfetch_p3.c': 'a\n\tb\nc x;\nd\n' };
  const state: ExerciseState = {
    workspace: '/home/s/farfetchd-lab-workspace',
    steps: [
      {
        id: 'setup',
        title: 'Set up',
        markdown: 'Use `stat`. <b>no</b>',
        commands: ['stat /dev/null'],
        grades: null,
        links: [],
      },
      {
        id: 'part3',
        title: 'Part 3',
        part: 3,
        markdown: 'Register.',
        commands: [],
        grades: 'every check of part 3',
        links: [{ panel: 'drivers', label: 'check the registration chain' }],
      },
    ],
    progress: {
      setup: { done: true },
      part3: { done: false, grade: { ...report, at: '2026-12-01T10:00:00Z' } },
    },
    welcomeSeen: true,
  };
  const api = {
    exercise: async () => state,
    workspaceFiles: async () => Object.keys(files),
    readWorkspaceFile: async (f: string) => files[f]!,
    writeWorkspaceFile: async (f: string, t: string) => void calls.push(['write', f, t]),
    buildAndLoad: async (p: number) => (calls.push(['build', p]), build),
    grade: async (id: string) => (calls.push(['grade', id]), report),
    openInEditor: async (f: string) => ({ opened: false, hostPath: `/home/s/w/${f}` }),
    setStepDone: async () => state,
    setWelcomeSeen: async () => state,
  };
  return { api: api as unknown as LabApi, calls };
}

describe('ExerciseView', () => {
  it('lists the steps with progress, opens a part step in the editor, links errors to lines, shows the grade', async () => {
    const { api, calls } = fakeApi();
    const exercise = useExercise(api);
    await exercise.load();
    const w = mount(ExerciseView, { props: { exercise, ready: true }, attachTo: document.body });
    await flushPromises();
    expect(w.find('[aria-label=Exercise]').exists()).toBe(true);
    expect(w.get('[data-testid=exercise-progress]').text()).toBe('1 of 2 steps done');
    expect(w.findAll('nav[aria-label=Steps] button').map((b) => b.text())).toEqual([
      '✓ Set up',
      '2 Part 3 1/2',
    ]);
    // The explanation is text: the step's <b> is shown, not made an element.
    expect(w.find('.markdown b').exists()).toBe(false);
    expect(w.get('.markdown').text()).toBe('Use stat. <b>no</b>');
    await w.get('[aria-label="type stat /dev/null into the terminal"]').trigger('click');
    expect(w.emitted('type')).toEqual([['stat /dev/null']]);

    await w.get('[data-testid=step-part3]').trigger('click');
    await flushPromises();
    expect(w.get('[data-testid=step-title]').text()).toBe('Part 3');
    expect((w.get('[data-testid=file-select]').element as HTMLSelectElement).value).toBe(
      'farfetch_p3/farfetch_p3.c',
    );
    const buttons = w.findAll('button').map((b) => b.text());
    for (const name of ['Build & load', 'Grade', 'Open in my editor', 'Save'])
      expect(buttons).toContain(name);
    await w
      .findAll('button')
      .find((b) => b.text() === 'check the registration chain')!
      .trigger('click');
    expect(w.emitted('panel')).toEqual([[{ panel: 'drivers', label: 'check the registration chain' }]]);

    const checks = w.findAll('[data-testid=grade-check]').map((c) => c.text());
    expect(checks).toEqual(['✓ioctl_sets_pid1/1', '✗ioctl_bad_pid_is_esrch0/1expected ESRCH, got 0']);
    expect(w.get('[data-testid=grade-score]').text()).toBe('1 / 2');

    exercise.store.text = 'a\n\tb\nc y;\nd\n';
    await w
      .findAll('button')
      .find((b) => b.text() === 'Build & load')!
      .trigger('click');
    await flushPromises();
    expect(calls.slice(0, 2)).toEqual([
      ['write', 'farfetch_p3/farfetch_p3.c', 'a\n\tb\nc y;\nd\n'],
      ['build', 3],
    ]);
    const link = w.get('[data-testid=diagnostic-link]');
    expect(link.text()).toBe('farfetch_p3/farfetch_p3.c:3:2');
    await link.trigger('click');
    await flushPromises();
    expect(exercise.store.target).toMatchObject({ line: 3, column: 2 });
    expect(w.get('.cm-activeLineGutter').text()).toBe('3');
    w.unmount();
  });

  it('edits with real tabs shown 8 wide (kernel style)', async () => {
    const { api } = fakeApi();
    const exercise = useExercise(api);
    await exercise.load();
    await exercise.select('part3');
    const w = mount(ExerciseView, { props: { exercise, ready: true }, attachTo: document.body });
    await flushPromises();
    expect(KERNEL_TAB_SIZE).toBe(8);
    expect(w.get('.cm-content').attributes('style') ?? '').toContain('tab-size: 8');
    w.unmount();
  });
});

describe('WelcomePage', () => {
  const tcg = {
    accelerator: { accel: 'tcg', label: 'TCG — no hardware acceleration: slower', source: 'probe' },
  } as never;
  it('says how to enable an accelerator on each system, and nothing when one is in use', async () => {
    const linux = mount(WelcomePage, { props: { report: tcg, platform: 'Linux x86_64' } });
    expect(linux.get('[data-testid=welcome-howto]').text()).toContain('kvm group');
    const win = mount(WelcomePage, { props: { report: tcg, platform: 'Win32' } });
    expect(win.get('[data-testid=welcome-howto]').text()).toContain('Windows Hypervisor Platform');
    const mac = mount(WelcomePage, { props: { report: tcg, platform: 'MacIntel' } });
    expect(mac.get('[data-testid=welcome-howto]').text()).toContain('nothing to do');
    const kvm = mount(WelcomePage, {
      props: {
        report: { accelerator: { accel: 'kvm', label: 'KVM', source: 'probe' } } as never,
        platform: 'Linux',
      },
    });
    expect(kvm.get('[data-testid=welcome-accel]').text()).toBe('Hardware acceleration found: KVM.');
    expect(kvm.find('[data-testid=welcome-howto]').exists()).toBe(false);
    await kvm.get('button').trigger('click');
    expect(kvm.emitted('start')).toHaveLength(1);
  });
});

describe('MarkdownView', () => {
  it('renders a javascript: link as text', () => {
    const w = mount(MarkdownView, { props: { source: '[click](javascript:alert(1)) [ok](https://a.b/)' } });
    expect(w.findAll('a').map((a) => a.attributes('href'))).toEqual(['https://a.b/']);
  });
});
