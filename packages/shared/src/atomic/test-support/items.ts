import path from 'node:path';
import type { ClipInput } from '../../manifest/types.js';
import type { ArtifactIdentity, ArtifactKind, DatasetScope, PipelineStage } from '../../pipeline/catalogue.js';
import {
  cvReportFolder,
  cvReportIdentity,
  featureIdentity,
  featurePath,
  packedDatasetFolder,
  packedDatasetIdentity,
  reportFolder,
  reportIdentity,
  trainingRunFolder,
  trainingRunIdentity,
} from '../../pipeline/catalogue.js';
import type { ProducePhase } from '../types.js';

/**
 * The crash, kill and concurrency tests of `produceArtifact` run once per case: each kind of the
 * artifact catalogue as a stage makes it (identity and path from the catalogue, the real helper,
 * the kind's layout), with stand-in content: features written as one file, features registered
 * as they already are (import-features), and packed datasets, training runs, reports and
 * cross-validation reports written as
 * folders of the files the real stages write.
 */
export const PRODUCER_CASES = ['features', 'imported-features', 'packed-dataset', 'training-run', 'report', 'cv-report'] as const;
type ProducerCaseName = (typeof PRODUCER_CASES)[number];

export interface ProducerCase {
  name: ProducerCaseName;
  kind: ArtifactKind;
  /** How the helper makes it: write one file, write a folder, or register an existing file. */
  mode: 'file' | 'folder' | 'register';
  /** The stage whose run makes it. */
  runStage: PipelineStage;
  identity(item: number): ArtifactIdentity;
  /** Where it goes: its file, or its folder (a registered file is already there). */
  target(dataDir: string, item: number): string;
  /** The files of item `item` and their content; a file or registered artifact has one, named ''. */
  files(item: number): Array<{ name: string; bytes: Uint8Array }>;
  /** Clips the items belong to (a per-clip artifact needs its clip in the manifest). */
  clips(itemCount: number): ClipInput[];
  /** Item of a manifest row. */
  itemOf(row: { clipId: string | null; dataset: string | null }): number;
}

export const ITEM_CODE_VERSION = 'producer-child-2';
const FILE_BYTES = 24 * 1024;
const FOLDER_FILE_BYTES = 8 * 1024;
const CHUNKS = 4;

const pad = (item: number) => String(item).padStart(3, '0');

function itemClipId(item: number): string {
  return `clip-${pad(item)}`;
}

/** The clip each item's features belong to. */
export function itemClip(item: number): ClipInput {
  return { id: itemClipId(item), dataset: 'test', split: 'train', label: 0, labelName: 'A', frameCount: 1, contentHash: `clip-${item}` };
}

export function itemIdentity(item: number): ArtifactIdentity {
  return featureIdentity(itemClipId(item), 'forward', 4, 'raw');
}

/** Content that differs per item, file and position, so a mix-up or a tear shows. */
export function itemBytes(item: number, file = 0, length = FILE_BYTES): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (item * 31 + file * 101 + i * 7 + (i >> 8)) & 0xff;
  return bytes;
}

export function itemChunks(bytes: Uint8Array): Uint8Array[] {
  const size = Math.ceil(bytes.length / CHUNKS);
  const chunks: Uint8Array[] = [];
  for (let start = 0; start < bytes.length; start += size) chunks.push(bytes.subarray(start, start + size));
  return chunks;
}

/** The crash points of a mode: right after each step before the last. */
export function crashPhases(mode: ProducerCase['mode']): ProducePhase[] {
  return mode === 'register' ? ['claimed', 'verified'] : ['claimed', 'written', 'synced', 'renamed'];
}

const FEATURE_FOLDER = { tag: 'test', windowLength: 16, stride: 4, source: 'raw', direction: 'forward' } as const;
const SPEC = { split: 'train', direction: 'forward', source: 'raw' } as const;
/** Dataset-wide artifacts: one dataset per item, each in a folder of its own as in a manifest of several. */
const datasetOf = (item: number): DatasetScope => ({ name: `d-${pad(item)}`, ownFolder: true });
const itemOfDataset = (row: { dataset: string | null }) => Number(row.dataset?.replace('d-', ''));
const itemOfClip = (row: { clipId: string | null }) => Number(row.clipId?.replace('clip-', ''));
const folderFiles = (names: readonly string[]) => (item: number) =>
  names.map((name, file) => ({ name, bytes: itemBytes(item, file + 1, FOLDER_FILE_BYTES) }));
const featureClips = (itemCount: number) => Array.from({ length: itemCount }, (_, item) => itemClip(item));

const CASES: Record<ProducerCaseName, ProducerCase> = {
  features: {
    name: 'features',
    kind: 'features',
    mode: 'file',
    runStage: 'extract',
    identity: itemIdentity,
    target: (dataDir, item) => featurePath(dataDir, itemClipId(item), FEATURE_FOLDER),
    files: (item) => [{ name: '', bytes: itemBytes(item) }],
    clips: featureClips,
    itemOf: itemOfClip,
  },
  'imported-features': {
    name: 'imported-features',
    kind: 'features',
    mode: 'register',
    runStage: 'import-features',
    identity: itemIdentity,
    target: (dataDir, item) => path.join(dataDir, 'imported', 'th14_vit_g_16_4', `${itemClipId(item)}.npy`),
    files: (item) => [{ name: '', bytes: itemBytes(item) }],
    clips: featureClips,
    itemOf: itemOfClip,
  },
  'packed-dataset': {
    name: 'packed-dataset',
    kind: 'packed-dataset',
    mode: 'folder',
    runStage: 'datasets',
    identity: (item) => packedDatasetIdentity(datasetOf(item).name, SPEC),
    target: (dataDir, item) => packedDatasetFolder(dataDir, datasetOf(item), SPEC),
    files: folderFiles([
      'raw_forward_train.H.0.npy',
      'raw_forward_train.L.0.npy',
      'raw_forward_train.M.0.npy',
      'raw_forward_train.index.json',
    ]),
    clips: () => [],
    itemOf: itemOfDataset,
  },
  'training-run': {
    name: 'training-run',
    kind: 'training-run',
    mode: 'folder',
    runStage: 'train',
    identity: (item) => trainingRunIdentity(datasetOf(item).name, SPEC),
    target: (dataDir, item) => trainingRunFolder(dataDir, 'runs', datasetOf(item), SPEC),
    files: folderFiles(['best.json', 'best.safetensors', 'curves.png', 'last.json', 'last.safetensors', 'log.jsonl']),
    clips: () => [],
    itemOf: itemOfDataset,
  },
  report: {
    name: 'report',
    kind: 'report',
    mode: 'folder',
    runStage: 'eval',
    identity: (item) => reportIdentity(datasetOf(item).name, 'reports/latest'),
    target: (dataDir, item) => reportFolder(dataDir, 'reports/latest', datasetOf(item)),
    files: folderFiles(['confusion_combined.png', 'metrics.json', 'predictions.csv', 'report.md']),
    clips: () => [],
    itemOf: itemOfDataset,
  },
  'cv-report': {
    name: 'cv-report',
    kind: 'cv-report',
    mode: 'folder',
    runStage: 'cv',
    identity: (item) => cvReportIdentity(datasetOf(item).name, 'reports/cv'),
    target: (dataDir, item) => cvReportFolder(dataDir, 'reports/cv', datasetOf(item)),
    files: folderFiles(['confusion_combined.png', 'cv.json', 'folds.png', 'report.md']),
    clips: () => [],
    itemOf: itemOfDataset,
  },
};

export function producerCase(name: string): ProducerCase {
  if (!(PRODUCER_CASES as readonly string[]).includes(name))
    throw new Error(`producer case: expected one of ${PRODUCER_CASES.join(', ')}, got ${name}`);
  return CASES[name as ProducerCaseName];
}
