import { validateLayoutConfig } from './config.js';
import { readDfewLayout } from './dfew.js';
import { readFerv39kLayout } from './ferv39k.js';
import { readGenericLayout } from './generic.js';
import { readReferenceListLayout } from './reference-list.js';
import type { LayoutOptions, LayoutResult } from './types.js';

/** Reads any supported layout; `options.layout` picks the reader. */
export async function readLayout(options: LayoutOptions): Promise<LayoutResult> {
  const config = validateLayoutConfig(options);
  switch (config.layout) {
    case 'ferv39k':
      return readFerv39kLayout(config);
    case 'dfew':
      return readDfewLayout(config);
    case 'reference-list':
      return readReferenceListLayout(config);
    case 'generic':
      return readGenericLayout(config);
  }
}
