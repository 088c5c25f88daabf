/** The kill test's recipe: a tiny network, seeded shuffle, noise and drop path, so a resume that is off by anything shows. */
export const KILL_TEST_HYPER = {
  epochs: 40,
  batchSize: 2,
  lr: 0.01,
  milestones: [20],
  seed: 11,
  shuffle: true,
  noise: 0.01,
  dropPath: 0.3,
  model: { n_embd: 32, mlp_dim: 24 },
};
