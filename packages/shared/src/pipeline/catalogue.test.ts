import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheKey } from '../cache/cache-key.js';
import { describeIdentity, identityKey, normalizeIdentity } from '../manifest/identity.js';
import {
  ARTIFACT_CATALOGUE,
  ARTIFACT_KINDS,
  PIPELINE_STAGES,
  artifactCacheKey,
  featureFolderName,
  featureIdentity,
  featurePath,
  packedDatasetFolder,
  packedDatasetIdentity,
  parseFeatureFolderName,
  reportFolder,
  reportIdentity,
  stageRank,
  trainingRunFolder,
  trainingRunIdentity,
} from './catalogue.js';

describe('feature folder names', () => {
  it('follow the reference layout and parse back', () => {
    const cases = [
      [{ tag: 'th14_vit_g', windowLength: 16, stride: 4, source: 'raw', direction: 'forward' }, 'th14_vit_g_16_4'],
      [{ tag: 'th14_vit_g', windowLength: 16, stride: 16, source: 'face', direction: 'reversed' }, 'th14_vit_g_16_16_face_rv'],
      [{ tag: 'demo', windowLength: 16, stride: 8, source: 'raw', direction: 'reversed' }, 'demo_16_8_rv'],
    ] as const;
    for (const [folder, name] of cases) {
      expect(featureFolderName(folder)).toBe(name);
      expect(parseFeatureFolderName(name)).toEqual(folder);
    }
    expect(parseFeatureFolderName('Action')).toBeUndefined();
  });
});

describe('the artifact catalogue', () => {
  const identities = {
    features: featureIdentity('Action/Sad/0010', 'reversed', 8, 'face'),
    'packed-dataset': packedDatasetIdentity({ split: 'test', direction: 'forward', source: 'raw' }),
    'training-run': trainingRunIdentity({ direction: 'reversed', source: 'raw' }),
    report: reportIdentity('reports/latest'),
  } as const;

  it('has one entry per kind, in pipeline order, each made by a pipeline stage', () => {
    expect(ARTIFACT_KINDS).toEqual(['features', 'packed-dataset', 'training-run', 'report']);
    expect(ARTIFACT_KINDS.map((kind) => ARTIFACT_CATALOGUE[kind].stage)).toEqual(['extract', 'datasets', 'train', 'eval']);
    const ranks = ARTIFACT_KINDS.map((kind) => stageRank(ARTIFACT_CATALOGUE[kind].stage));
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(PIPELINE_STAGES).toEqual(['ingest', 'extract', 'import-features', 'datasets', 'train', 'eval']);
    expect(stageRank('status')).toBe(PIPELINE_STAGES.length);
    expect(ARTIFACT_KINDS.map((kind) => ARTIFACT_CATALOGUE[kind].layout)).toEqual(['file', 'folder', 'folder', 'folder']);
  });

  it("builds each kind's identity with the catalogue's stage, and the manifest accepts exactly those", () => {
    for (const kind of ARTIFACT_KINDS) {
      const identity = identities[kind];
      expect(identity.kind).toBe(kind);
      expect(identity.stage).toBe(ARTIFACT_CATALOGUE[kind].stage);
      expect(ARTIFACT_CATALOGUE[kind].identity).toBeTypeOf('function');
      expect(normalizeIdentity(identity).kind).toBe(kind);
    }
    expect(new Set(ARTIFACT_KINDS.map((kind) => identityKey(identities[kind]))).size).toBe(ARTIFACT_KINDS.length);
    expect(describeIdentity(identities.features)).toBe('extract/features Action/Sad/0010 reversed s8 face');
    expect(describeIdentity(identities['packed-dataset'])).toBe('datasets/packed-dataset forward raw test');
    // A kind outside the catalogue, or a stage that is not its kind's, is refused.
    expect(() => normalizeIdentity({ stage: 'eval', kind: 'blob' } as never)).toThrow(
      'kind: expected one of features, packed-dataset, training-run, report, got "blob"',
    );
    expect(() => normalizeIdentity({ stage: 'train', kind: 'report' } as never)).toThrow(
      'stage: expected eval (the stage of report in the catalogue), got "train"',
    );
  });

  it('puts each kind where the README says, relative to the data directory unless absolute', () => {
    const data = '/work/data';
    expect(featurePath(data, 'Action/Sad/0010', { tag: 'demo', windowLength: 16, stride: 4, source: 'raw', direction: 'reversed' })).toBe(
      '/work/data/features/demo_16_4_rv/Action/Sad/0010.npy',
    );
    expect(packedDatasetFolder(data, { split: 'train', direction: 'forward', source: 'face' })).toBe(
      '/work/data/datasets/face_forward_train',
    );
    expect(trainingRunFolder(data, 'runs', { direction: 'reversed', source: 'raw' })).toBe('/work/data/runs/raw_reversed');
    expect(trainingRunFolder(data, '/elsewhere/runs', { direction: 'forward', source: 'raw' })).toBe('/elsewhere/runs/raw_forward');
    expect(reportFolder(data, 'reports/latest')).toBe(path.join(data, 'reports/latest'));
    expect(reportFolder(data, '/tmp/report')).toBe('/tmp/report');
  });

  it("makes cache keys with each kind's stage and code version", () => {
    const params = { split: 'train' };
    const inputs = ['a', 'b'];
    for (const kind of ARTIFACT_KINDS) {
      const { stage, codeVersion } = ARTIFACT_CATALOGUE[kind];
      expect(artifactCacheKey(kind, { params, inputs })).toBe(cacheKey({ stage, kind, params, inputs, codeVersion }));
    }
    expect(artifactCacheKey('features', { params, inputs })).not.toBe(artifactCacheKey('report', { params, inputs }));
  });
});
