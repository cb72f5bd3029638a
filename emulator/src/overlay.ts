// A new QEMU run's disk: the qcow2 overlay in its run folder. The base image is never written:
// every machine runs on its own overlay, and a reset is throwing that overlay away. A warm
// start's overlay is the warm file's spare copy when one was made ahead (run-folders.ts), else
// a copy made now.
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { copyFile, rename } from 'node:fs/promises';
import { promisify } from 'node:util';
import { findQemuImg } from './qemu-find.ts';
import type { QemuProcessSpec } from './lab-process.ts';
import { takeSpare } from './run-folders.ts';

const execFileAsync = promisify(execFile);

/** Makes `overlay` from the spec's disk source. */
export async function makeOverlay(spec: QemuProcessSpec, overlay: string): Promise<void> {
  const { disk } = spec;
  if (disk.kind === 'snapshot') {
    if (await takeSpare(disk.file, overlay)) return;
    // A clone where the file system has them (btrfs, XFS, APFS): no copy; else a copy.
    await copyFile(disk.file, overlay, constants.COPYFILE_FICLONE);
  } else if (disk.kind === 'adopt' || disk.kind === 'resume') {
    await rename(disk.file, overlay);
  } else {
    const create = ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', spec.baseDisk, overlay];
    await execFileAsync(findQemuImg({ env: spec.env }), create);
  }
}
