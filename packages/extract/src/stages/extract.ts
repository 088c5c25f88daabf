import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import PQueue from 'p-queue';
import type { Command } from 'commander';
import type {
  ArtifactIdentity,
  CheckOptions,
  ClipRow,
  ClipSourceKind,
  ClipSourceRow,
  ConfigFlag,
  Direction,
  JsonValue,
  PipelineConfig,
} from 'shared';
import {
  ConfigError,
  ManifestStore,
  addRehashOption,
  artifactCacheKeyOfInput,
  checkArtifacts,
  createProgress,
  encodeNpy,
  failArtifact,
  featureFolderName,
  featureIdentity,
  featurePathsOf,
  fileStampSync,
  hashFile,
  produceArtifact,
  stageCommand,
  stageContext,
  verifyOf,
  withStageRun,
  writeFileAtomic,
} from 'shared';
import { decodeClip } from '../decode/decode.js';
import { BACKBONE_WEIGHT_FLAGS } from '../backbones/flags.js';
import { backboneDefinitions, checkBackboneCheckpoint, openBackbone, resolveBackbone } from '../backbones/registry.js';
import type { Backbone, BackboneSpec } from '../backbones/types.js';
import { copyWindowFrames } from '../windows/window-frames.js';
import { planWindows } from '../windows/windows.js';
import { WindowBatcher } from './windowBatcher.js';

export interface ExtractItem {
  identity: ArtifactIdentity;
  clip: ClipRow;
  source: ClipSourceRow;
  direction: Direction;
  stride: number;
  folder: string;
  path: string;
  cacheKey: string;
  params: Record<string, unknown>;
}

/** One 16-frame window, RGB uint8 `[frames, height, width, 3]`. */
export interface FrameWindow {
  pixels: Uint8Array;
  height: number;
  width: number;
}

export interface ExtractSummary {
  clips: number;
  produced: number;
  upToDate: number;
  taken: number;
  failed: number;
  windows: number;
  passesSaved: number;
  backend?: string;
}

/**
 * The sha256 of the backbone checkpoint, remembered by path and stamp (size, mtime, inode):
 * hashing a 4 GB ViT-g file on every run would cost more than a rerun that has nothing to do.
 * `rehash` hashes it whatever its stamp.
 */
export async function backboneHash(path: string, dataDir: string, rehash = false): Promise<string> {
  const memoPath = join(dataDir, 'backbone-hashes.json');
  const stamp = fileStampSync(path)?.stamp;
  if (stamp === undefined) throw new ConfigError(`backbone checkpoint ${path}: expected a file, got none`);
  let memo: Record<string, { stamp: string; hash: string }> = {};
  if (existsSync(memoPath)) {
    try {
      memo = JSON.parse(readFileSync(memoPath, 'utf8')) as typeof memo;
    } catch {
      memo = {};
    }
  }
  const known = memo[path];
  if (!rehash && known?.stamp === stamp) return known.hash;
  const hash = await hashFile(path);
  memo[path] = { stamp, hash };
  await writeFileAtomic(memoPath, JSON.stringify(memo, null, 2));
  return hash;
}

/** Every (clip, source, direction, stride) feature file the config asks for, with its cache key. */
export async function planExtractItems(
  store: ManifestStore,
  config: PipelineConfig,
  dataDir: string,
  backbone: { hash: string; spec: BackboneSpec },
): Promise<ExtractItem[]> {
  const e = config.extract;
  const items: ExtractItem[] = [];
  // one query for every source: a query per clip would dominate a rerun with nothing to do
  const sourcesOf = new Map<string, ClipSourceRow[]>();
  for (const row of await store.clips.listClipSources()) {
    const sources = sourcesOf.get(row.clipId);
    if (sources) sources.push(row);
    else sourcesOf.set(row.clipId, [row]);
  }
  // what is the same for every clip, worked out once per (source, direction, stride): at 233,610
  // items a cache key's canonical JSON built per item costs more than the rest of the plan
  const combos = e.sources.flatMap((kind) =>
    e.directions.flatMap((direction) =>
      e.strides.map((stride) => {
        const featureFolder = { tag: e.tag, windowLength: e.windowLength, stride, source: kind, direction };
        const params: Record<string, JsonValue> = {
          backbone: backbone.hash,
          // what the backbone says decides its features besides the weights (the ViT: `vit`, its shape)
          ...backbone.spec.cacheParams,
          rule: e.rule,
          windowLength: e.windowLength,
          stride,
          direction,
          source: kind,
        };
        return {
          kind: kind as ClipSourceKind,
          direction,
          stride,
          featureFolder,
          folder: featureFolderName(featureFolder),
          params,
          keyOf: artifactCacheKeyOfInput('features', params, 'source'),
        };
      }),
    ),
  );
  const pathsOf = featurePathsOf(
    dataDir,
    combos.map((combo) => combo.featureFolder),
  );
  for (const clip of await store.clips.listClips()) {
    const sources = sourcesOf.get(clip.id) ?? [];
    const paths = pathsOf(clip.id);
    for (const [c, combo] of combos.entries()) {
      const source = sources.find((s) => s.kind === combo.kind);
      if (!source) continue;
      items.push({
        identity: featureIdentity(clip.id, combo.direction, combo.stride, combo.kind),
        clip,
        source,
        direction: combo.direction,
        stride: combo.stride,
        folder: combo.folder,
        // biome-ignore lint/style/noNonNullAssertion: one path per combination
        path: paths[c]!,
        cacheKey: combo.keyOf(source.contentHash),
        params: combo.params,
      });
    }
  }
  return items;
}

/** `--shard i/n`: keep the clips whose position in id order is i modulo n. */
export function parseShard(text: string | undefined): { index: number; count: number } | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index >= count) throw new ConfigError(`--shard: expected i/n with 0 <= i < n, got "${text}"`);
  return { index, count };
}

/** The todo items of one clip source (a group exists only once it has an item). */
type ClipSourceItems = [ExtractItem, ...ExtractItem[]];

/**
 * Extracts the todo items of one clip source: decode once, plan the windows of each
 * direction (a window shared by several strides runs once), send them through the batcher,
 * and write each stride's `[windows, D]` file through the crash-safe artifact protocol.
 */
async function extractClipSource(
  store: ManifestStore,
  items: ClipSourceItems,
  batcher: WindowBatcher<FrameWindow>,
  config: PipelineConfig,
  runId: string,
  summary: ExtractSummary,
): Promise<void> {
  // Claimed before the clip is decoded and run through the backbone, not only when its files are
  // written: processes sharing a manifest (several machines) then split the compute, not just the writes.
  const claimed: ExtractItem[] = [];
  for (const item of items) {
    const info = { cacheKey: item.cacheKey, path: item.path, params: item.params };
    if (await store.artifacts.claim(item.identity, info, { runId })) claimed.push(item);
    else summary.taken += 1;
  }
  const [first] = claimed;
  if (first === undefined) return;
  const leaseMs = store.artifacts.claimLeaseMs;
  const renewal = setInterval(
    () => {
      // A busy database: the next tick retries; the lease outlasts a few missed ones.
      for (const item of claimed) store.artifacts.renewClaim(item.identity, leaseMs).catch(() => undefined);
    },
    Math.max(1000, Math.floor(leaseMs / 3)),
  );
  renewal.unref();
  try {
    await extractClaimed(store, first, claimed, batcher, config, runId, summary);
  } finally {
    clearInterval(renewal);
  }
}

/** Decodes the clip source once and makes the claimed items of it (see `extractClipSource`). */
async function extractClaimed(
  store: ManifestStore,
  first: ExtractItem,
  items: ExtractItem[],
  batcher: WindowBatcher<FrameWindow>,
  config: PipelineConfig,
  runId: string,
  summary: ExtractSummary,
): Promise<void> {
  const decoded = await decodeClip({ path: first.source.path, kind: first.source.isFrameFolder ? 'frames' : 'video' });
  const L = config.extract.windowLength;
  for (const direction of new Set(items.map((i) => i.direction))) {
    const mine = items.filter((i) => i.direction === direction);
    const plan = planWindows(
      decoded.n,
      mine.map((i) => i.stride),
      config.extract.rule,
      direction,
      L,
    );
    const windows = plan.windows.map(
      (w): FrameWindow => ({ pixels: copyWindowFrames(decoded, w.frames), height: decoded.height, width: decoded.width }),
    );
    const rows = await batcher.features(windows);
    summary.windows += windows.length;
    summary.passesSaved += plan.passesSaved;
    const D = rows[0]?.length ?? 0;
    for (const item of mine) {
      const stridePlan = plan.strides.find((s) => s.stride === item.stride);
      // planWindows was given the stride of every item in `mine`
      if (stridePlan === undefined) throw new Error(`extract: the window plan has no stride ${item.stride}`);
      const ids = stridePlan.windowIds;
      const data = new Float32Array(ids.length * D);
      ids.forEach((id, r) => {
        // biome-ignore lint/style/noNonNullAssertion: window ids index plan.windows, and the batcher returns one row per window
        data.set(rows[id]!, r * D);
      });
      // The row count rides along in params so that feature lists need not open the files.
      const result = await produceArtifact(
        store,
        item.identity,
        { cacheKey: item.cacheKey, path: item.path, params: { ...item.params, windows: ids.length } },
        (tmpPath) => writeFile(tmpPath, encodeNpy({ data, shape: [ids.length, D] })),
        { runId },
      );
      if (result.outcome === 'produced') summary.produced += 1;
      else summary.taken += 1;
    }
  }
}

/**
 * The `windows` of a feature row's params. They are canonical JSON (sorted keys, no spaces), so the
 * number is read where it stands; parsing 233,610 params whole cost most of a no-op rerun's lists.
 */
function windowsOf(params: string | null): number {
  const found = params === null ? null : /"windows":(\d+)[,}]/.exec(params);
  // (only where the key is there once: a nested "windows" would make the place ambiguous)
  if (found !== null && params?.indexOf('"windows":', found.index + 1) === -1) return Number(found[1]);
  return (JSON.parse(params ?? '{}') as { windows?: number }).windows ?? 0;
}

/**
 * Rewrites each feature folder's lists (`<split>.txt`, reference format) from the manifest; a list
 * whose content is already that is left alone, so that a rerun with nothing to do writes nothing.
 */
export async function writeFeatureLists(store: ManifestStore, dataDir: string): Promise<string[]> {
  const root = resolve(dataDir);
  const featuresDir = join(root, 'features');
  // folder → split → lines: the list file's name is made once per list, not per row (233,610 rows)
  const byList = new Map<string, Map<string, string[]>>();
  const clips = new Map((await store.clips.listClips({}, ['id', 'split', 'label'])).map((c) => [c.id, c]));
  const prefix = `${featuresDir}/`;
  for (const row of await store.artifacts.listArtifactFiles({ stage: 'extract', kind: 'features', status: 'done' }, [
    'clipId',
    'path',
    'params',
  ])) {
    if (!row.path.startsWith(prefix) || row.clipId === null) continue;
    const clip = clips.get(row.clipId);
    // recorded paths are absolute and normalised: below the features folder, slicing is `relative` without its cost at 233,610 rows
    const folderEnd = row.path.indexOf('/', prefix.length);
    if (folderEnd < 0) continue;
    const inData = row.path.slice(root.length + 1);
    const folder = row.path.slice(prefix.length, folderEnd);
    const split = clip?.split ?? 'all';
    const line = `${inData} ${windowsOf(row.params)} ${clip?.label ?? 0}`;
    let splits = byList.get(folder);
    if (splits === undefined) {
      splits = new Map();
      byList.set(folder, splits);
    }
    const lines = splits.get(split);
    if (lines) lines.push(line);
    else splits.set(split, [line]);
  }
  const byFile = new Map<string, string[]>();
  for (const [folder, splits] of byList) for (const [split, lines] of splits) byFile.set(join(featuresDir, folder, `${split}.txt`), lines);
  for (const [file, lines] of byFile) {
    const text = `${lines.sort().join('\n')}\n`;
    if (existsSync(file) && readFileSync(file, 'utf8') === text) continue;
    await writeFileAtomic(file, text);
  }
  return [...byFile.keys()];
}

const EXTRACT_FLAGS: readonly ConfigFlag[] = [
  { flags: '--strides <list>', key: 'extract.strides', description: 'comma-separated strides, e.g. 4,8,16', kind: 'numberList' },
  { flags: '--rule <cover|inside>', key: 'extract.rule', description: 'window rule', kind: 'string' },
  { flags: '--directions <list>', key: 'extract.directions', description: 'forward,reversed', kind: 'stringList' },
  { flags: '--sources <list>', key: 'extract.sources', description: 'raw,face', kind: 'stringList' },
  {
    flags: '--backbone <name>',
    key: 'extract.backbone.name',
    description: backboneDefinitions()
      .map((b) => b.name)
      .join('|'),
    kind: 'string',
  },
  {
    flags: '--preset <name>',
    key: 'extract.backbone.preset',
    description: backboneDefinitions()
      .flatMap((b) => b.presets)
      .join('|'),
    kind: 'string',
  },
  ...BACKBONE_WEIGHT_FLAGS,
  { flags: '--batch-size <n>', key: 'extract.batchSize', description: 'windows per backbone batch', kind: 'number' },
  { flags: '--tag <tag>', key: 'extract.tag', description: 'feature folder prefix', kind: 'string' },
];

/**
 * The backbone and its checkpoint, checked (settings, file, format, keys and shapes) without
 * loading the weights. The command calls it before it records a run, and `runExtract` before it
 * plans anything: a refused checkpoint leaves every feature as it was (planning with another
 * checkpoint's key would mark done features stale).
 */
export async function checkExtractInputs(config: PipelineConfig): Promise<{ spec: BackboneSpec; checkpoint: string }> {
  const spec = resolveBackbone(config.extract.backbone);
  if (spec.window.frames !== config.extract.windowLength) {
    throw new ConfigError(
      `extract.windowLength: expected ${spec.window.frames} (the frames per window of backbone ${spec.backbone} ${spec.label}), got ${config.extract.windowLength}`,
    );
  }
  const checkpoint = config.extract.backbone.checkpoint;
  if (checkpoint === undefined || !existsSync(checkpoint)) {
    throw new ConfigError(
      `extract.backbone.checkpoint: expected an existing ${spec.checkpointKind}, got ${JSON.stringify(checkpoint ?? null)}`,
    );
  }
  await checkBackboneCheckpoint(spec, checkpoint);
  return { spec, checkpoint };
}

/**
 * What a run of `extract` has to do: every item the config asks for, checked against the manifest
 * and the files in one pass (`checkArtifacts`), the todo ones grouped by clip source (one decode
 * each). A rerun with nothing to do is this and the feature lists; `pnpm bench manifest` times it.
 */
export async function planExtract(
  store: ManifestStore,
  config: PipelineConfig,
  dataDir: string,
  backbone: { hash: string; spec: BackboneSpec },
  verify: CheckOptions['verify'],
): Promise<{ groups: ClipSourceItems[]; upToDate: number }> {
  const items = await planExtractItems(store, config, dataDir, backbone);
  // --rehash reads every feature file (4.5 GB at FERV39k size): long enough to show; a stat-only check takes seconds
  const progress = verify === 'hash' ? createProgress({ label: 'extract: rehash', total: items.length, unit: 'files' }) : undefined;
  const plans = await checkArtifacts(
    store,
    items.map((item) => ({ identity: item.identity, plan: { cacheKey: item.cacheKey, path: item.path, params: item.params } })),
    { ...(verify === undefined ? {} : { verify }), ...(progress === undefined ? {} : { onChecked: (n: number) => progress.tick(n) }) },
  );
  progress?.stop();
  const groups = new Map<string, ClipSourceItems>();
  let upToDate = 0;
  items.forEach((item, i) => {
    if (plans[i]?.decision === 'skip') {
      upToDate += 1;
      return;
    }
    const k = `${item.clip.id}\u0000${item.source.kind}`;
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  });
  return { groups: [...groups.values()], upToDate };
}

export async function runExtract(
  store: ManifestStore,
  config: PipelineConfig,
  dataDir: string,
  options: {
    limit?: number;
    shard?: { index: number; count: number };
    runId: string;
    signal?: AbortSignal;
    verify?: CheckOptions['verify'];
  },
): Promise<ExtractSummary> {
  const { spec, checkpoint } = await checkExtractInputs(config);
  const hash = await backboneHash(checkpoint, dataDir, options.verify === 'hash');
  const { groups, upToDate } = await planExtract(store, config, dataDir, { hash, spec }, options.verify);
  const summary: ExtractSummary = { clips: 0, produced: 0, upToDate, taken: 0, failed: 0, windows: 0, passesSaved: 0 };
  let jobs = groups.sort((a, b) => a[0].clip.id.localeCompare(b[0].clip.id));
  const shard = options.shard;
  if (shard) jobs = jobs.filter((_, i) => i % shard.count === shard.index);
  if (options.limit !== undefined) jobs = jobs.slice(0, options.limit);
  summary.clips = jobs.length;
  if (jobs.length > 0) {
    let pool: Backbone | undefined;
    try {
      pool = await openBackbone(spec, { weights: { checkpoint }, workers: config.workers, backend: config.backend });
      summary.backend = pool.backend;
      process.stderr.write(
        `[extract] backbone ${spec.backbone} ${spec.label} D=${spec.featureDim} on ${pool.backendDetail} x${pool.workers}${pool.weightsDetail ? `, ${pool.weightsDetail}` : ''}, ${jobs.length} clip sources to do\n`,
      );
      const activePool = pool;
      const L = config.extract.windowLength;
      const batcher = new WindowBatcher<FrameWindow>(config.extract.batchSize, async (windows) => {
        // Windows of different clips can differ in frame size: each size is its own batch.
        const out: Float32Array[] = new Array(windows.length);
        const bySize = new Map<string, { height: number; width: number; members: FrameWindow[]; idx: number[] }>();
        windows.forEach((w, i) => {
          const key = `${w.height}x${w.width}`;
          const group = bySize.get(key);
          if (group) {
            group.members.push(w);
            group.idx.push(i);
          } else {
            bySize.set(key, { height: w.height, width: w.width, members: [w], idx: [i] });
          }
        });
        for (const { height: h, width: w, members, idx } of bySize.values()) {
          const data = new Uint8Array(idx.length * L * h * w * 3);
          members.forEach((m, j) => {
            data.set(m.pixels, j * L * h * w * 3);
          });
          const feats = await activePool.extractFeatures({ data, shape: [idx.length, L, h, w, 3] });
          const D = feats.length / idx.length;
          idx.forEach((i, j) => {
            out[i] = feats.slice(j * D, (j + 1) * D);
          });
        }
        return out;
      });
      const progress = createProgress({ label: 'extract', total: jobs.length, unit: 'clips' });
      const queue = new PQueue({ concurrency: config.extract.decodeConcurrency });
      await Promise.all(
        jobs.map((items) =>
          queue.add(async () => {
            if (options.signal?.aborted) return;
            batcher.enter();
            try {
              await extractClipSource(store, items, batcher, config, options.runId, summary);
            } catch (error) {
              summary.failed += 1;
              for (const item of items) {
                const current = await store.artifacts.getArtifact(item.identity);
                if (current?.status === 'done' && current.cacheKey === item.cacheKey) continue;
                await failArtifact(store, item.identity, { cacheKey: item.cacheKey, path: item.path, params: item.params }, error, options);
              }
              process.stderr.write(`[extract] ${items[0].clip.id} (${items[0].source.kind}): ${(error as Error).message}\n`);
            } finally {
              batcher.leave();
              progress.tick(1, `${summary.windows} windows`);
            }
          }),
        ),
      );
      progress.stop();
    } finally {
      await pool?.close();
    }
  }
  await writeFeatureLists(store, dataDir);
  return summary;
}

export function command(): Command {
  const cmd = stageCommand('extract', 'backbone feature pyramids (VideoMAE v2 by default) to .npy, forward and reversed', EXTRACT_FLAGS)
    .option('--limit <n>', 'extract at most n clip sources this run')
    .option('--shard <i/n>', 'only clips i, i+n, i+2n, ... (in id order) of those with work')
    .option('--json', 'print the summary as JSON');
  addRehashOption(cmd, 'every feature file written before (and the checkpoint)');
  cmd.action(async (opts: { limit?: string; shard?: string; json?: boolean }) => {
    const ctx = stageContext(cmd, EXTRACT_FLAGS);
    const limit = opts.limit === undefined ? undefined : Number(opts.limit);
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0))
      throw new ConfigError(`--limit: expected a non-negative integer, got "${opts.limit}"`);
    const shard = parseShard(opts.shard);
    // a bad backbone setting or checkpoint is refused before a run is recorded
    await checkExtractInputs(ctx.config);
    const store = await ManifestStore.open(ctx.manifest);
    try {
      let summary: ExtractSummary | undefined;
      await withStageRun(store, 'extract', ctx.config.extract, async (run) => {
        summary = await runExtract(store, ctx.config, ctx.dataDir, {
          ...(limit !== undefined ? { limit } : {}),
          ...(shard ? { shard } : {}),
          runId: run.id,
          signal: run.signal,
          verify: verifyOf(cmd),
        });
        const { produced, upToDate, failed, windows, passesSaved } = summary;
        return { counts: { produced, upToDate, failed, windows, passesSaved }, outcome: failed > 0 ? 'failed' : 'ok' };
      });
      if (!summary) return;
      if (opts.json) console.log(JSON.stringify(summary, null, 2));
      else {
        console.log(
          `extract: ${summary.produced} feature files written, ${summary.upToDate} up to date, ${summary.failed} clip sources failed; ` +
            `${summary.windows} backbone passes (${summary.passesSaved} saved by sharing windows across strides)`,
        );
      }
    } finally {
      await store.close();
    }
  });
  return cmd;
}
