import type { NpyFileHeader } from 'shared';

/**
 * Why a feature file cannot be used, one code per check (the summary and `status` give the text):
 * - `missing`: no file at the listed path
 * - `unreadable`: not a readable `.npy` file (no magic, a broken header, a folder, a read error)
 * - `big_endian`: a `>` dtype (the pipeline reads little-endian data only)
 * - `dtype`: not float32 or float64
 * - `fortran_order`: stored column-major
 * - `rank`: not a 2-D `[windows, D]` array
 * - `empty`: no rows (or no columns)
 * - `size`: the file is not as long as its header says (truncated, trailing bytes, or an absurd
 *   row count), checked against the file size before anything is read
 * - `width`: its D is not the dataset's feature width
 * - `rows`: its row count is not the window count its list line gives
 * - `not_finite`: NaN or infinite values
 */
export type FeatureProblemCode =
  | 'missing'
  | 'unreadable'
  | 'big_endian'
  | 'dtype'
  | 'fortran_order'
  | 'rank'
  | 'empty'
  | 'size'
  | 'width'
  | 'rows'
  | 'not_finite';

/** What the file must be beyond a well-formed float `[rows, D]` array; unset is not checked. */
export interface FeatureExpectation {
  /** Rows the list says the file has. */
  rows?: number;
  /** The dataset's feature width. */
  width?: number;
}

/** A usable feature file: its content hash and size (as the manifest records them) and shape. */
export interface FeatureFileOk {
  ok: true;
  path: string;
  hash: string;
  bytes: number;
  rows: number;
  width: number;
  /** The file's stamp (size, mtime, inode) when it was read: the manifest records it with the hash. */
  stamp: string;
}

/** A refused feature file: the code and a sentence naming the file and what was expected. */
export interface FeatureFileProblem {
  ok: false;
  path: string;
  code: FeatureProblemCode;
  detail: string;
}

export type FeatureFileCheck = FeatureFileOk | FeatureFileProblem;

/** A feature file whose header passed: the header and the shape it gives. */
interface FeatureHeaderOk {
  ok: true;
  path: string;
  header: NpyFileHeader;
  rows: number;
  width: number;
  /** Bytes per value: 4 (float32) or 8 (float64). */
  itemSize: number;
}

export type FeatureHeaderCheck = FeatureHeaderOk | FeatureFileProblem;

/** One file for the whole-file check, and what it must be. */
export interface FileCheckItem {
  path: string;
  expected: FeatureExpectation;
}

/** The file-check worker's methods (see worker.ts). */
export type FileCheckMethods = {
  /** Each path's stamp (size, mtime, inode), or null where there is no file. */
  stamp: { request: { paths: string[] }; response: Array<string | null> };
  /** `checkFeatureFile` of each item, in order. */
  check: { request: { items: FileCheckItem[] }; response: FeatureFileCheck[] };
};

/**
 * Stamps and checks feature files, in worker threads or in this one (see pool.ts): the results
 * are the same either way, in the order given.
 */
export interface FileChecker {
  /** Threads the work is spread over (1: this thread). */
  readonly threads: number;
  stamps(paths: readonly string[]): Promise<Array<string | null>>;
  /** `onChecked(n)` as each part of the files is done, for a progress line. */
  check(items: readonly FileCheckItem[], onChecked?: (n: number) => void): Promise<FeatureFileCheck[]>;
  close(): Promise<void>;
}
