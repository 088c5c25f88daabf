// The backbones extraction can run. A backbone is one file (a `BackboneDefinition`: its config
// validator, weight loading and feature extraction) and one `registerBackbone` line below;
// `extract.backbone.name` picks one (default `videomae-v2`), and extract, predict, the demo and
// the extract benchmark reach the network only through here.
import { ConfigError } from 'shared';
import type { Backbone, BackboneConfig, BackboneDefinition, BackboneSpec, BackboneTensorSource, OpenBackboneOptions } from './types.js';
import { videoMaeV2Backbone } from './videomae-v2.js';

const backbones = new Map<string, BackboneDefinition>();

/** What `extract.backbone.name` means when the config does not say. */
const DEFAULT_BACKBONE = 'videomae-v2';

/**
 * Adds a backbone; returns the function that removes it again (for tests that add one of their
 * own). Throws `ConfigError` when the name is taken.
 */
export function registerBackbone<Spec extends BackboneSpec>(definition: BackboneDefinition<Spec>): () => void {
  if (backbones.has(definition.name)) {
    throw new ConfigError(`registerBackbone: expected a new backbone name, got "${definition.name}" again`);
  }
  // A definition only ever gets back the specs its own resolve made.
  const stored = definition as unknown as BackboneDefinition;
  backbones.set(definition.name, stored);
  return () => {
    if (backbones.get(definition.name) === stored) backbones.delete(definition.name);
  };
}

registerBackbone(videoMaeV2Backbone);

/** The registered backbones, in registration order. */
export function backboneDefinitions(): BackboneDefinition[] {
  return [...backbones.values()];
}

/** The backbone called `name`; ConfigError "extract.backbone.name: expected one of <the registered names>, got ..." otherwise. */
function backboneNamed(name: unknown): BackboneDefinition {
  const definition = typeof name === 'string' ? backbones.get(name) : undefined;
  if (definition === undefined) {
    throw new ConfigError(`extract.backbone.name: expected one of ${[...backbones.keys()].join(', ')}, got ${JSON.stringify(name)}`);
  }
  return definition;
}

/** The configured backbone, validated: picks it by `name` (default `videomae-v2`) and lets it read the rest. */
export function resolveBackbone(config: BackboneConfig): BackboneSpec {
  return backboneNamed(config.name ?? DEFAULT_BACKBONE).resolve(config);
}

/** Checks a checkpoint against a resolved backbone without loading its weights (`CheckpointError` naming the file). */
export function checkBackboneCheckpoint(spec: BackboneSpec, checkpoint: string): Promise<void> {
  return backboneNamed(spec.backbone).check(spec, checkpoint);
}

/** Loads a resolved backbone's weights, in this thread or on `options.workers` worker threads. */
export function openBackbone(spec: BackboneSpec, options: OpenBackboneOptions): Promise<Backbone> {
  return backboneNamed(spec.backbone).open(spec, options);
}

/** Seeded random weights of a resolved backbone, in its checkpoint layout. */
export function randomBackboneTensors(spec: BackboneSpec, seed: number): BackboneTensorSource {
  return backboneNamed(spec.backbone).randomTensors(spec, seed);
}
