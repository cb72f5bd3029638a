// The clean guest image build, as bench rows: it takes tens of minutes, so the bench does not run
// it but reads the times build/build-guest.sh recorded in the image's manifest when it built
// each stage (a cached stage keeps the time of the build that made it).
import type { ImageManifest } from './image.ts';

export interface ImageBuildTimes {
  /** Seconds: the student's image (kernel + rootfs + image), and with the tests' debug kernel. */
  lab: number;
  withDebugKernel: number;
  /** Compiles that ccache answered in the two kernel builds (0: built from nothing); null if not recorded. */
  ccacheHits: number | null;
}

/** The recorded times, or a sentence saying why there are none. */
export function imageBuildTimes(manifest: ImageManifest): ImageBuildTimes | string {
  const s = manifest.buildSeconds;
  if (!s) return 'the image manifest has no build times (an image built before they were recorded)';
  const missing = (['kernel', 'kernelDebug', 'rootfs'] as const).filter((stage) => s[stage] === null);
  if (missing.length > 0) {
    return `no build time recorded for ${missing.join(', ')}: cached from a build before times were kept (\`npx farfetchd-lab image --rebuild\` records them)`;
  }
  const hits = manifest.kernelCcacheHits;
  const known = hits && hits.kernel !== null && hits.kernelDebug !== null;
  return {
    lab: s.kernel! + s.rootfs! + s.image,
    withDebugKernel: s.kernel! + s.kernelDebug! + s.rootfs! + s.image,
    ccacheHits: known ? hits.kernel! + hits.kernelDebug! : null,
  };
}
