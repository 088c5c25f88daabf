import { ConfigError } from '../errors/index.js';
import { ARTIFACT_CATALOGUE, ARTIFACT_KINDS, isArtifactKind } from '../pipeline/catalogue.js';
import { CLIP_SOURCE_KINDS, ARTIFACT_DIRECTIONS } from './constants.js';
import type { ArtifactIdentity, NormalizedArtifactIdentity } from './types.js';

/** Fills an identity's optional parts and checks each one, naming the bad key. */
export function normalizeIdentity(identity: ArtifactIdentity | NormalizedArtifactIdentity): NormalizedArtifactIdentity {
  const { stage, kind, clipId = null, direction = null, stride = null, source = null, variant = '', dataset = null } = identity;
  if (!isArtifactKind(kind)) {
    throw new ConfigError(`artifact identity: kind: expected one of ${ARTIFACT_KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
  }
  if (stage !== ARTIFACT_CATALOGUE[kind].stage) {
    throw new ConfigError(
      `artifact identity: stage: expected ${ARTIFACT_CATALOGUE[kind].stage} (the stage of ${kind} in the catalogue), got ${JSON.stringify(stage)}`,
    );
  }
  if (clipId !== null && (typeof clipId !== 'string' || clipId === '')) {
    throw new ConfigError(`artifact identity: clipId: expected a non-empty string or null, got ${JSON.stringify(clipId)}`);
  }
  if (direction !== null && !(ARTIFACT_DIRECTIONS as readonly string[]).includes(direction)) {
    throw new ConfigError(
      `artifact identity: direction: expected one of ${ARTIFACT_DIRECTIONS.join(', ')} or null, got ${JSON.stringify(direction)}`,
    );
  }
  if (stride !== null && !(Number.isInteger(stride) && stride > 0)) {
    throw new ConfigError(`artifact identity: stride: expected a positive integer or null, got ${JSON.stringify(stride)}`);
  }
  if (source !== null && !(CLIP_SOURCE_KINDS as readonly string[]).includes(source)) {
    throw new ConfigError(
      `artifact identity: source: expected one of ${CLIP_SOURCE_KINDS.join(', ')} or null, got ${JSON.stringify(source)}`,
    );
  }
  if (typeof variant !== 'string') {
    throw new ConfigError(`artifact identity: variant: expected a string, got ${JSON.stringify(variant)}`);
  }
  if (dataset !== null && (typeof dataset !== 'string' || dataset === '')) {
    throw new ConfigError(`artifact identity: dataset: expected a non-empty string or null, got ${JSON.stringify(dataset)}`);
  }
  return { stage, kind, clipId, direction, stride, source, variant, dataset };
}

/**
 * The stored, unique text of an identity: canonical JSON of its parts in a fixed order (the
 * dataset last: migration 0003 appended it to the rows of earlier manifests).
 */
export function identityKey(identity: ArtifactIdentity | NormalizedArtifactIdentity): string {
  const { stage, kind, clipId, direction, stride, source, variant, dataset } = normalizeIdentity(identity);
  // canonicalJson of an array of strings, integers and nulls (checked above) is its JSON.stringify,
  // without the walk that a plan of 233,610 items would pay for nothing
  return JSON.stringify([stage, kind, clipId, direction, stride, source, variant, dataset]);
}

/** A short human-readable name of an identity for messages: `extract/features Action/Sad/0010 forward s4 raw`, `train/training-run ferv39k forward raw`. */
export function describeIdentity(identity: ArtifactIdentity | NormalizedArtifactIdentity): string {
  const { stage, kind, clipId, direction, stride, source, variant, dataset } = normalizeIdentity(identity);
  return [`${stage}/${kind}`, dataset, clipId, direction, stride === null ? null : `s${stride}`, source, variant === '' ? null : variant]
    .filter((part) => part !== null)
    .join(' ');
}
