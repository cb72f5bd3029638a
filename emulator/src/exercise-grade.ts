// Grading a workspace part for the app: the grader library's gradePart (contracts.md), which builds
// the folder in a fresh guest and runs the part's checks. Injectable, so the exercise's backend
// methods are tested with a fake.
import type { CheckReport } from './api.ts';
import { gradePart } from './grader.ts';

export type GradeFn = (opts: { part: 1 | 2 | 3; src: string }) => Promise<CheckReport>;

export const gradeWorkspacePart: GradeFn = ({ part, src }) => gradePart({ part, src });
