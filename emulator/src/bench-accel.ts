// The accelerator decision's cost, for `farfetchd-lab bench`: a first start on this host (the probe
// boots the guest kernel under the hardware accelerator) and a later one (the verdict is remembered).
// Each sample uses a fresh, private verdict folder, so the user's own remembered verdict is untouched.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decideAccelerator } from './accel.ts';
import { findQemu } from './qemu-find.ts';
import { loadImage } from './image.ts';

export interface AcceleratorDecisionTimes {
  /** ms for a decision with nothing remembered (includes the probe QEMU, where one runs). */
  first: number[];
  /** ms for the decision right after, from the remembered verdict. */
  remembered: number[];
  /** What was decided, e.g. "TCG — KVM did not boot the guest on this machine: …". */
  label: string;
}

export async function timeAcceleratorDecision(samples: number): Promise<AcceleratorDecisionTimes> {
  const image = loadImage();
  const times: AcceleratorDecisionTimes = { first: [], remembered: [], label: '' };
  for (let i = 0; i < samples; i++) {
    const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'farfetchd-lab-bench-accel-'));
    try {
      const opts = {
        qemuBinary: findQemu(),
        kernelPath: image.kernelPath,
        kernelKey: image.manifest.kernelKey,
        cacheDir,
      };
      let t0 = performance.now();
      const decision = await decideAccelerator(opts);
      times.first.push(performance.now() - t0);
      t0 = performance.now();
      await decideAccelerator(opts);
      times.remembered.push(performance.now() - t0);
      times.label = decision.info.label;
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  }
  return times;
}
