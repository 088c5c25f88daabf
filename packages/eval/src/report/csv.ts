import { InputError } from 'shared';
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
  const nameOf = (index: number, key: string): string => {
    const name = classNames[index];
    if (name === undefined) throw new InputError(`predictions ${key}: expected a class index in 0..${classNames.length - 1}, got ${index}`);
    return name;
  };
  const lines = [header.map(csvField).join(',')];
  for (const row of predictions) {
    if (withReversed && row.reversedLogits === undefined) {
      throw new InputError(`predictions: clip '${row.clipId}' has no reversed logits (give them for every clip or for none)`);
    }
    const logits = [row.forwardLogits, ...(row.reversedLogits === undefined ? [] : [row.reversedLogits]), row.combinedLogits];
    const fields: (string | number)[] = [
      row.clipId,
      row.label,
      nameOf(row.label, 'label'),
      ...logits.flatMap((values) => Array.from(values, formatFloat32)),
      row.predicted,
      nameOf(row.predicted, 'predicted'),
    ];
    lines.push(fields.map(csvField).join(','));
  }
  return `${lines.join('\n')}\n`;
}
