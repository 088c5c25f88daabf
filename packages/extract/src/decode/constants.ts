/**
 * Frame images of one codec family can share one ffmpeg run (the concat demuxer cannot switch
 * decoders mid-stream), keyed by lower-case extension.
 */
export const FRAME_CODEC_FAMILY: Readonly<Record<string, string>> = { '.png': 'png', '.jpg': 'jpeg', '.jpeg': 'jpeg' };

/** Nominal frame duration written into the concat list so image timestamps keep increasing. */
export const FRAME_LIST_DURATION_S = 0.04;

/** Scaler for the optional `maxSide` downscale (area averaging suits shrinking). */
export const DOWNSCALE_FLAGS = 'area';
