/** `format` field of a packed index. */
export const PACKED_FORMAT = 'pthnet-packed-features';

/**
 * Layout version; bump on any change a reader must know about. 2: `strides` records the strides
 * the level files were extracted at (version 1 always wrote 4, 8, 16, whatever they were).
 */
export const PACKED_VERSION = 2;

/** Allowed dataset names: they become file names. */
export const PACKED_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Bytes gathered before each write while packing. */
export const PACKED_WRITE_CHUNK_BYTES = 8 * 1024 * 1024;

/** Bytes per read while preloading (below the 2 GiB limit of one read call). */
export const PACKED_READ_CHUNK_BYTES = 256 * 1024 * 1024;

/**
 * A feature-list folder: `<tag>_<window>_<stride>` with optional `_face`, `_rv`, `_flow`
 * suffixes (`th14_vit_g_16_4`, `th14_vit_g_16_8_face_rv`). The clip id is what follows it.
 */
export const FEATURE_FOLDER_PATTERN = /^.+_\d+_\d+(?:_(?:face|rv|flow))*$/i;

/** Path parts kept as the clip id when no feature folder is found: `<Scene>/<Emotion>/<ID>`. */
export const FALLBACK_CLIP_ID_PARTS = 3;
