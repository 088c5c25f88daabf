import { csvField, formatFloat32 } from './format.js';
import type { PredictionRow } from './types.js';

/**
 * predictions.csv: one row per clip with `clip_id, label, label_name`, the K logits of each
 * network as `forward_<class>`, `reversed_<class>` (when there are reversed logits),
 * `combined_<class>`, then `predicted, predicted_name`. Logits are written as the shortest
 * decimals that read back as the same float32.
 */
export function renderPredictionsCsv(predictions: readonly PredictionRow[], classNames: readonly string[]): string {
  const withReversed = predictions.some((row) => row.reversedLogits !== undefined);
  const groups = withReversed ? ['forward', 'reversed', 'combined'] : ['forward', 'combined'];
  const header = [
    'clip_id',
    'label',
    'label_name',
    ...groups.flatMap((group) => classNames.map((name) => `${group}_${name}`)),
    'predicted',
    'predicted_name',
  ];
  const lines = [header.map(csvField).join(',')];
  for (const row of predictions) {
    const logits = [row.forwardLogits, ...(withReversed ? [row.reversedLogits!] : []), row.combinedLogits];
    const fields: (string | number)[] = [
      row.clipId,
      row.label,
      classNames[row.label]!,
      ...logits.flatMap((values) => Array.from(values, formatFloat32)),
      row.predicted,
      classNames[row.predicted]!,
    ];
    lines.push(fields.map(csvField).join(','));
  }
  return `${lines.join('\n')}\n`;
}
