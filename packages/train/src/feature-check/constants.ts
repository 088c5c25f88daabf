/** Feature dtypes accepted (numpy descr): float32 as written by the extractor and the reference, float64 narrowed by the packer. */
export const FEATURE_DESCRS: Readonly<Record<string, number>> = { '<f4': 4, '<f8': 8 };
