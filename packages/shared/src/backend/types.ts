/** What a caller may ask for: `auto` tries the fastest first and falls back quietly. */
export type BackendPreference = 'auto' | 'node-gpu' | 'node' | 'wasm' | 'cpu';

/** A concrete backend of ours (the tfjs registry name differs for the node ones: `tensorflow`). */
export type BackendName = Exclude<BackendPreference, 'auto'>;

export interface BackendAttempt {
  name: BackendName;
  /** Why it did not load; absent for the one that runs. */
  error?: string;
}

export interface SelectedBackend {
  /** The backend that now runs every tfjs op. */
  name: BackendName;
  /** The name tfjs-core knows it by (`tf.getBackend()`). */
  tfjsName: string;
  /** Every backend tried, in order, the last one being `name`. */
  tried: BackendAttempt[];
}
