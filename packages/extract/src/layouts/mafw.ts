import path from 'node:path';
import { LayoutCollector, labelMapOf, readListLines } from './collector.js';
import { boolean, fail, nonEmptyString, oneOf, pathOption } from './config.js';
import { DEFAULT_SPLITS } from './constants.js';
import type { FoldRole, ListPlace } from './folds.js';
import { FoldClips, foldList } from './folds.js';
import { clipStem, findChildFolder, listDirectory, requireFolder } from './fs-index.js';
import { openRoleTrees } from './role-trees.js';
import type { LabelEntry, LayoutContext, LayoutDefinition, LayoutResult, SourceKind } from './types.js';

const NAME = 'mafw';
const DATASET = 'mafw';
const FOLD_COUNT = 5;

/** MAFW's 11 single-expression classes, in the order its label indices count them. */
const MAFW_LABELS: readonly string[] = [
  'anger',
  'disgust',
  'fear',
  'happiness',
  'neutral',
  'sadness',
  'surprise',
  'contempt',
  'anxiety',
  'helplessness',
  'disappointment',
];

/** MAFW clip names are zero-padded to this many digits (`00025.mp4`). */
const NAME_DIGITS = 5;

const DEFAULTS = {
  /** Where the fold folders `set_1` ... `set_5` are, under the root. */
  splits: 'Train & Test Set/single/no_caption',
  /** Videos. */
  clips: 'data/clips',
  /** One folder of frame images per clip. */
  frames: 'data/frames',
} as const;

export interface MafwLayoutConfig {
  layout: typeof NAME;
  /** The MAFW folder (holding `data/` and `Train & Test Set/`). */
  root: string;
  /** Folds to read, each giving the splits `set_<k>_train` and `set_<k>_test`. Default all five. */
  folds: number[];
  /** `video`: clips from `data/clips` (default); `frames`: from the frame folders of `data/frames`. */
  media: SourceKind;
  /** The folder of the fold folders, relative to the root. Default `Train & Test Set/single/no_caption`. */
  splitsFolder: string;
  /** The videos' folder, relative to the root. Default `data/clips`. */
  clipsFolder: string;
  /** The frame folders' folder, relative to the root. Default `data/frames`. */
  framesFolder: string;
  /**
   * How numeric labels count: `0` (0..10), `1` (1..11), or `auto` (default): 1-based unless some
   * list holds a 0. Labels may also be class names (any case).
   */
  labelBase: 0 | 1 | 'auto';
  /** Default true. */
  checkFiles: boolean;
}

function validate(record: Record<string, unknown>, context?: LayoutContext): MafwLayoutConfig {
  const folds = foldList(record['folds'], FOLD_COUNT, [1, 2, 3, 4, 5]);
  if (typeof folds === 'string') fail('folds', folds, record['folds']);
  const labelBase = record['labelBase'] ?? 'auto';
  if (labelBase !== 0 && labelBase !== 1 && labelBase !== 'auto') fail('labelBase', '0, 1 or "auto"', labelBase);
  return {
    layout: NAME,
    root: pathOption(record, 'root', context),
    folds,
    media: oneOf<SourceKind>(record, 'media', ['video', 'frames'], 'video'),
    splitsFolder: nonEmptyString(record, 'splitsFolder', DEFAULTS.splits),
    clipsFolder: nonEmptyString(record, 'clipsFolder', DEFAULTS.clips),
    framesFolder: nonEmptyString(record, 'framesFolder', DEFAULTS.frames),
    labelBase,
    checkFiles: boolean(record, 'checkFiles', true),
  };
}

/** One list line taken apart: the clip's name and its label as written. */
interface ParsedLine {
  clipId: string;
  label: string;
}

/**
 * The line formats seen in MAFW's and similar split lists: `<clip> <label>`, `<clip>,<label>`,
 * `<clip>\t<label>`, the clip as a bare number (`25`, `00025`), a file name (`00025.mp4`) or a
 * path (`data/clips/00025.mp4`), the label a number or a class name. Anything else is undefined.
 */
function parseMafwLine(text: string): ParsedLine | undefined {
  const fields = text
    .split(/[,;\t ]+/)
    .map((field) => field.trim())
    .filter((field) => field !== '');
  if (fields.length !== 2) return undefined;
  const [clip, label] = fields as [string, string];
  const stem = clipStem(path.basename(clip.replace(/\\/g, '/')));
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(stem) || !/^([0-9]+|[A-Za-z]+)$/.test(label)) return undefined;
  return { clipId: /^\d+$/.test(stem) ? stem.padStart(NAME_DIGITS, '0') : stem, label };
}

/** The list of `role` in a fold folder: `train.txt`, else the one `train*.txt`/`.csv` there. */
async function findList(foldFolder: string, role: FoldRole): Promise<string | undefined> {
  const files = ((await listDirectory(foldFolder)) ?? []).filter((e) => !e.isDirectory && /\.(txt|csv)$/i.test(e.name));
  const exact = files.find((e) => e.name.toLowerCase() === `${role}.txt`);
  const matching = files.filter((e) => e.name.toLowerCase().startsWith(role));
  const chosen = exact ?? (matching.length === 1 ? matching[0] : undefined);
  return chosen && path.join(foldFolder, chosen.name);
}

/**
 * MAFW: clips `data/clips/<00001>.mp4` or frame folders `data/frames/<00001>/`, the 11
 * single-expression classes, five folds under `Train & Test Set/single/no_caption/set_<k>/`, each
 * with a train and a test list. Every line that fits no accepted format is reported with its
 * file and line number. Clip ids are the zero-padded names; splits `set_<k>_train`/`set_<k>_test`.
 */
async function read(config: MafwLayoutConfig): Promise<LayoutResult> {
  await requireFolder(config.root, 'MAFW root');
  const collector = new LayoutCollector(DATASET, labelMapOf(MAFW_LABELS));
  const media = config.media === 'video' ? config.clipsFolder : config.framesFolder;
  const trees = await openRoleTrees(
    [
      {
        role: 'raw',
        parent: path.dirname(path.join(config.root, media)),
        aliases: [path.basename(media)],
        depth: 1,
        preferred: config.media,
      },
    ],
    config.checkFiles,
    collector,
  );

  // Read every list first: with `labelBase: "auto"` one 0 anywhere means the labels count from 0.
  const lines: Array<{ fold: number; role: FoldRole; place: ListPlace; parsed: ParsedLine }> = [];
  const splitsRoot = path.join(config.root, config.splitsFolder);
  for (const fold of config.folds) {
    const foldFolder = (await findChildFolder(splitsRoot, [`set_${fold}`])) ?? path.join(splitsRoot, `set_${fold}`);
    for (const role of DEFAULT_SPLITS) {
      const listPath = (await findList(foldFolder, role)) ?? path.join(foldFolder, `${role}.txt`);
      const relative = `set_${fold}/${path.basename(listPath)}`;
      for (const [i, line] of ((await readListLines(listPath, collector)) ?? []).entries()) {
        const place = { path: listPath, line: line.number, where: `${relative}:${line.number}` };
        const parsed = parseMafwLine(line.text);
        // a header (`video_name,label`) is the first line and has no clip number
        if (i === 0 && parsed !== undefined && /^(video|clip|name|file|path)/i.test(line.text) && !/\d/.test(parsed.clipId)) continue;
        if (parsed === undefined) {
          collector.problem({
            code: 'malformed_line',
            path: listPath,
            line: line.number,
            detail: `${place.where}: malformed line "${line.text}" (expected "<clip> <label>" or "<clip>,<label>", the label a number or a class name)`,
          });
          continue;
        }
        lines.push({ fold, role, place, parsed });
      }
    }
  }
  const base =
    config.labelBase === 'auto' ? (lines.some((l) => l.parsed.label.replace(/^0+(?=\d)/, '') === '0') ? 0 : 1) : config.labelBase;
  const folded = new FoldClips(collector);
  for (const { fold, role, place, parsed } of lines) {
    const label: LabelEntry | undefined = /^\d+$/.test(parsed.label)
      ? collector.labelByIndex(Number(parsed.label) - base)
      : collector.labelByName(parsed.label);
    if (!label) {
      collector.problem({
        code: 'unknown_label',
        clipId: parsed.clipId,
        path: place.path,
        line: place.line,
        detail: `${place.where}: label ${parsed.label} is not one of ${base}..${base + MAFW_LABELS.length - 1} or a class name (${MAFW_LABELS.join(', ')})`,
      });
      continue;
    }
    folded.add(parsed.clipId, label, fold, role, place);
  }
  folded.finish(trees);
  return collector.result();
}

export const mafwLayout: LayoutDefinition<MafwLayoutConfig> = {
  name: NAME,
  summary: 'MAFW: data/clips or data/frames, 11 classes, folds "Train & Test Set/single/no_caption/set_1..5" ("folds", "media")',
  validate,
  read,
};
