/**
 * Configuration of a PTH-Net, named as in the reference code (`expected.json` "config" in
 * the golden fixtures) so that a reference config round-trips unchanged.
 */
export interface PthNetConfig {
  /** Feature width of the backbone (1408 for ViT-g). */
  n_in: number;
  /** Channel width C of the temporal network. */
  n_embd: number;
  /** Hidden width of the SSD-layer MLP. */
  mlp_dim: number;
  /** Length of level H (the others are max_len / 2 and / 4). */
  max_len: number;
  /** [embedding convs, stem layers, branch-1 layers, branch-2 layers]. */
  arch: [number, number, number, number];
  /** Temporal downsampling factor between levels. */
  scale_factor: number;
  with_ln: boolean;
  /** Drop-path probability in the branches (also decides where the learnable scales exist). */
  path_pdrop: number;
  downsample_type: 'max';
  /** Kernel sizes: [embedding, stem, branch 1, branch 2]. */
  thr_size: [number, number, number, number];
  /** Level-specific kernels [L, M, H]. */
  k: [number, number, number];
  use_pos: boolean;
  num_classes: number;
}

export type PyramidLevel = 'H' | 'M' | 'L';
