/** A JSON value as it goes into a cache key: what `canonicalJson` accepts. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue | undefined };

/** Everything that decides the bytes of an artifact. */
export interface CacheKeyInput {
  /** Pipeline stage that makes the artifact (`extract`, `datasets`, ...). */
  stage: string;
  /** What kind of artifact (`features`, `dataset`, `checkpoint`, ...). */
  kind: string;
  /** Only the parameters that change the artifact's bytes (not paths, worker counts, log levels). */
  params: { readonly [key: string]: JsonValue | undefined };
  /**
   * Content hashes of the inputs, by role (`{ clip: '…', checkpoint: '…' }`) or as an ordered
   * list where order matters.
   */
  inputs: { readonly [role: string]: string } | readonly string[];
  /** Version of the code that makes the artifact; bump it when that code's output changes. */
  codeVersion: string;
}
