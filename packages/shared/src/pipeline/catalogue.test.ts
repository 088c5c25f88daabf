import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheKey } from '../cache/cache-key.js';
import { describeIdentity, identityKey, normalizeIdentity } from '../manifest/identity.js';
import {
  ARTIFACT_CATALOGUE,
  ARTIFACT_KINDS,
  PIPELINE_STAGES,
  artifactCacheKey,
  cvReportFolder,
  cvReportIdentity,
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
    'packed-dataset': packedDatasetIdentity('ferv39k', { split: 'test', direction: 'forward', source: 'raw' }),
    'training-run': trainingRunIdentity('ferv39k', { direction: 'reversed', source: 'raw' }),
    report: reportIdentity('ferv39k', 'reports/latest'),
    'cv-report': cvReportIdentity('ferv39k', 'reports/cv'),
  } as const;

  it('has one entry per kind, in pipeline order, each made by a pipeline stage', () => {
    expect(ARTIFACT_KINDS).toEqual(['features', 'packed-dataset', 'training-run', 'report', 'cv-report']);
    expect(ARTIFACT_KINDS.map((kind) => ARTIFACT_CATALOGUE[kind].stage)).toEqual(['extract', 'datasets', 'train', 'eval', 'cv']);
    const ranks = ARTIFACT_KINDS.map((kind) => stageRank(ARTIFACT_CATALOGUE[kind].stage));
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(PIPELINE_STAGES).toEqual(['ingest', 'extract', 'import-features', 'datasets', 'train', 'eval', 'cv']);
    expect(stageRank('status')).toBe(PIPELINE_STAGES.length);
    expect(ARTIFACT_KINDS.map((kind) => ARTIFACT_CATALOGUE[kind].layout)).toEqual(['file', 'folder', 'folder', 'folder', 'folder']);
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
    expect(describeIdentity(identities['packed-dataset'])).toBe('datasets/packed-dataset ferv39k forward raw test');
    // the dataset tells two datasets' artifacts apart
    expect(identityKey(packedDatasetIdentity('dfew', { split: 'test', direction: 'forward', source: 'raw' }))).not.toBe(
      identityKey(identities['packed-dataset']),
    );
    expect(identityKey(reportIdentity('dfew', 'reports/latest'))).not.toBe(identityKey(identities.report));
    // A kind outside the catalogue, or a stage that is not its kind's, is refused.
    expect(() => normalizeIdentity({ stage: 'eval', kind: 'blob' } as never)).toThrow(
      'kind: expected one of features, packed-dataset, training-run, report, cv-report, got "blob"',
    );
    expect(() => normalizeIdentity({ stage: 'train', kind: 'report' } as never)).toThrow(
      'stage: expected eval (the stage of report in the catalogue), got "train"',
    );
  });

  it('puts each kind where the README says, relative to the data directory unless absolute', () => {
    const data = '/work/data';
    const only = { name: 'ferv39k', ownFolder: false };
    expect(featurePath(data, 'Action/Sad/0010', { tag: 'demo', windowLength: 16, stride: 4, source: 'raw', direction: 'reversed' })).toBe(
      '/work/data/features/demo_16_4_rv/Action/Sad/0010.npy',
    );
    expect(packedDatasetFolder(data, only, { split: 'train', direction: 'forward', source: 'face' })).toBe(
      '/work/data/datasets/face_forward_train',
    );
    expect(trainingRunFolder(data, 'runs', only, { direction: 'reversed', source: 'raw' })).toBe('/work/data/runs/raw_reversed');
    expect(trainingRunFolder(data, '/elsewhere/runs', only, { direction: 'forward', source: 'raw' })).toBe('/elsewhere/runs/raw_forward');
    expect(reportFolder(data, 'reports/latest', only)).toBe(path.join(data, 'reports/latest'));
    expect(reportFolder(data, '/tmp/report', only)).toBe('/tmp/report');
    // pthnet cv: each fold's runs in a folder of their own, the cv report where cv.out says
    expect(trainingRunFolder(data, 'runs', only, { direction: 'forward', source: 'raw', fold: 3 })).toBe(
      '/work/data/runs/set_3/raw_forward',
    );
    expect(cvReportFolder(data, 'reports/cv', only)).toBe('/work/data/reports/cv');
    expect(identityKey(trainingRunIdentity('ferv39k', { direction: 'forward', source: 'raw', fold: 3 }))).not.toBe(
      identityKey(trainingRunIdentity('ferv39k', { direction: 'forward', source: 'raw' })),
    );
  });

  it('gives each dataset a folder of its own once the manifest holds several', () => {
    const data = '/work/data';
    const dfew = { name: 'dfew', ownFolder: true };
    expect(packedDatasetFolder(data, dfew, { split: 'set_1/train', direction: 'forward', source: 'raw' })).toBe(
      '/work/data/datasets/dfew/raw_forward_set_1/train',
    );
    expect(trainingRunFolder(data, 'runs', dfew, { direction: 'reversed', source: 'raw' })).toBe('/work/data/runs/dfew/raw_reversed');
    expect(reportFolder(data, 'reports/latest', dfew)).toBe('/work/data/reports/latest/dfew');
    expect(() => reportFolder(data, 'reports/latest', { name: '../x', ownFolder: true })).toThrow(
      'dataset "../x": expected a name usable as a folder',
    );
    // a single dataset keeps the paths it always had, whatever its name
    expect(reportFolder(data, 'reports/latest', { name: '../x', ownFolder: false })).toBe('/work/data/reports/latest');
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
