// The dataset layouts ingest can read. A layout is one file (its name, option validator and
// reader, exported as a `LayoutDefinition`) and one `registerLayout` line below; every list of
// layout names (config errors, ingest's --help) comes from here.
import { ConfigError } from 'shared';
import { dfewLayout } from './dfew.js';
import { ferv39kLayout } from './ferv39k.js';
import { genericLayout } from './generic.js';
import { mafwLayout } from './mafw.js';
import { referenceListLayout } from './reference-list.js';
import type { LayoutConfigBase, LayoutContext, LayoutDefinition, LayoutOptions, LayoutResult } from './types.js';

const layouts = new Map<string, LayoutDefinition>();

/**
 * Adds a layout; returns the function that removes it again (for tests that add one of their
 * own). Throws `ConfigError` when the name is taken.
 */
export function registerLayout<Config extends LayoutConfigBase>(definition: LayoutDefinition<Config>): () => void {
  if (layouts.has(definition.name)) throw new ConfigError(`registerLayout: expected a new layout name, got "${definition.name}" again`);
  // A definition only ever reads the config its own validate made.
  const stored = definition as unknown as LayoutDefinition;
  layouts.set(definition.name, stored);
  return () => {
    if (layouts.get(definition.name) === stored) layouts.delete(definition.name);
  };
}

registerLayout(ferv39kLayout);
registerLayout(dfewLayout);
registerLayout(mafwLayout);
registerLayout(referenceListLayout);
registerLayout(genericLayout);

/** The registered layouts, in registration order. */
export function layoutDefinitions(): LayoutDefinition[] {
  return [...layouts.values()];
}

/** The layout `name` picks; ConfigError "layout.layout: expected one of <the registered names>, got ..." otherwise. */
export function findLayout(name: unknown): LayoutDefinition {
  const definition = typeof name === 'string' ? layouts.get(name) : undefined;
  if (definition === undefined) {
    throw new ConfigError(
      `layout.layout: expected one of ${[...layouts.keys()].join(', ')}, got ${name === undefined ? 'undefined' : JSON.stringify(name)}`,
    );
  }
  return definition;
}

/**
 * Picks the layout by `layout`, checks every key of its options and fills the defaults; throws
 * `ConfigError` "layout.<key>: expected X, got Y". With a context, relative paths resolve against its `cwd`.
 */
export function validateLayoutConfig(input: unknown, context?: LayoutContext): LayoutConfigBase {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ConfigError(`layout: expected an object, got ${input === undefined ? 'undefined' : JSON.stringify(input)}`);
  }
  const record = input as Record<string, unknown>;
  return findLayout(record['layout']).validate(record, context);
}

/** Reads a dataset with the layout `options.layout` names. */
export async function readLayout(options: LayoutOptions, context?: LayoutContext): Promise<LayoutResult> {
  const definition = findLayout(options.layout);
  return definition.read(definition.validate(options, context));
}
