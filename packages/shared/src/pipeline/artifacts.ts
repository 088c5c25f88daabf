import type { ArtifactIdentity, ClipSourceKind, Direction } from '../manifest/types.js';
import { ARTIFACT_KINDS } from './constants.js';

/**
 * Names shared by the stages that make and read each artifact, so that `extract`,
 * `import-features` and `datasets` agree on what a feature file is.
 */

export interface FeatureFolder {
  tag: string;
  windowLength: number;
  stride: number;
  source: ClipSourceKind;
  direction: Direction;
}

/** `<tag>_<window>_<stride>[_face][_rv]`, the reference feature folder name (SPEC section 3). */
export function featureFolderName(f: FeatureFolder): string {
  return `${f.tag}_${f.windowLength}_${f.stride}${f.source === 'face' ? '_face' : ''}${f.direction === 'reversed' ? '_rv' : ''}`;
}

/** Inverse of `featureFolderName`; undefined for a folder that is not a feature folder. */
export function parseFeatureFolderName(name: string): FeatureFolder | undefined {
  const m = /^(.+)_(\d+)_(\d+)((?:_face|_rv)*)$/.exec(name);
  if (!m) return undefined;
  const flags = m[4] ?? '';
  return {
    // biome-ignore lint/style/noNonNullAssertion: group 1, (.+), takes part in every match of the pattern
    tag: m[1]!,
    windowLength: Number(m[2]),
    stride: Number(m[3]),
    source: flags.includes('_face') ? 'face' : 'raw',
    direction: flags.includes('_rv') ? 'reversed' : 'forward',
  };
}

/** The identity of one clip's features at one stride, direction and source. */
export function featureIdentity(clipId: string, direction: Direction, stride: number, source: ClipSourceKind): ArtifactIdentity {
  return { stage: 'extract', kind: ARTIFACT_KINDS.features, clipId, direction, stride, source };
}
