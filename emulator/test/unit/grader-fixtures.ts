// Shared by the grader's unit tests: a check of Part 1 with its points and dependencies.
import type { CheckSpec } from '../../src/grader-checks.ts';

export const spec = (name: string, points: number, dependsOn: string[] = []): CheckSpec => ({
  name,
  kind: 'case',
  parts: [1],
  points,
  hint: `hint of ${name}`,
  dependsOn,
});
