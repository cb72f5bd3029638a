// The guest image build, as bench rows: it takes tens of minutes, so the bench does not run it but
// reads the times build/build-guest.sh recorded in the image's manifest when it built each stage
// (a cached stage keeps the time of the build that made it), and how many of each kernel's
// compiles ccache answered: a build from nothing has none in the lab's kernel (the debug
// kernel's, built after it, reuses some of its compiles).
import type { ImageManifest } from './image.ts';

export interface ImageBuildTimes {
  /** Seconds: what build-guest.sh builds (both kernels, rootfs, image), and without the debug kernel. */
  all: number;
  labOnly: number;
  /** Compiles ccache answered in each kernel's build; null where it was not recorded. */
  ccacheHits: { kernel: number | null; kernelDebug: number | null };
}

const count = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The recorded times, or a sentence saying why there are none. */
export function imageBuildTimes(manifest: ImageManifest): ImageBuildTimes | string {
  const s = manifest.buildSeconds;
  if (!s) return 'the image manifest has no build times (an image built before they were recorded)';
  const kernel = count(s.kernel);
  const kernelDebug = count(s.kernelDebug);
  const rootfs = count(s.rootfs);
  const image = count(s.image);
  const missing = Object.entries({ kernel, kernelDebug, rootfs, image })
    .filter(([, v]) => v === null)
    .map(([stage]) => stage);
  if (kernel === null || kernelDebug === null || rootfs === null || image === null) {
    return `no build time recorded for ${missing.join(', ')}: cached from a build before times were kept (\`npx farfetchd-lab image --rebuild\` records them)`;
  }
  return {
    all: kernel + kernelDebug + rootfs + image,
    labOnly: kernel + rootfs + image,
    ccacheHits: {
      kernel: count(manifest.kernelCcacheHits?.kernel),
      kernelDebug: count(manifest.kernelCcacheHits?.kernelDebug),
    },
  };
}
