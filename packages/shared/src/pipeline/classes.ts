import { ClassCountError, ConfigError } from '../errors/index.js';
import type { ClipCatalogue } from '../manifest/interfaces.js';

/** The classes of a dataset, in label order (index i names class i). */
export interface DatasetClasses {
  names: string[];
  count: number;
}

/** A classifier needs two classes at least; the reference trainer's `--num_class` takes any count from there. */
export const MIN_CLASSES = 2;

/**
 * The one answer to "how many classes, and what are they called" for a dataset of the manifest:
 * the label map its layout stored at ingest (from the layout's own order, or the config's
 * `labels` for the reference-list and generic layouts), else, for a dataset registered without
 * one, `0..max label` named by number. `fixed` is a count the config pins
 * (`train.model.num_classes`): it must agree. Every stage that sizes a head, checks a
 * checkpoint or names classes asks here.
 */
export async function datasetClasses(clips: ClipCatalogue, dataset: string, fixed?: number | null): Promise<DatasetClasses> {
  let names = await clips.getLabelMap(dataset);
  if (names.length === 0) {
    const top = (await clips.listClips({ dataset })).reduce((max, clip) => Math.max(max, clip.label), -1);
    names = Array.from({ length: top + 1 }, (_, k) => String(k));
  }
  if (names.length < MIN_CLASSES) {
    throw new ConfigError(
      `dataset "${dataset}": expected at least ${MIN_CLASSES} classes, got ${names.length}${names.length > 0 ? ` (${names.join(', ')})` : ''}`,
    );
  }
  if (fixed !== undefined && fixed !== null) checkClassCount(fixed, names.length, `train.model.num_classes`, `dataset "${dataset}"`);
  return { names, count: names.length };
}

/**
 * Throws `ClassCountError` when `got` (what `whose` holds) is not the dataset's `expected`
 * count, e.g. "--init x.pth: expected a head of 7 classes (dataset "dfew"), got 11".
 */
export function checkClassCount(got: number, expected: number, whose: string, dataset: string): void {
  if (got !== expected) {
    throw new ClassCountError(`${whose}: expected ${expected} classes (those of ${dataset}), got ${got}`, { expected, got });
  }
}
