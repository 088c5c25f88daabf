import { DataParallelPthNet } from './data-parallel.js';
import { makeBenchBatch } from '../bench/bench.js';
const data = makeBenchBatch(32, 1408, 1);
for (const workers of [1, 2]) {
  const pool = await DataParallelPthNet.create({ workers, backend: 'wasm', optimizer: { lr: 0.005, momentum: 0.9, weightDecay: 1e-4 } });
  for (let i = 0; i < 2; i++) await pool.predict(data.inputs.x_H, data.inputs.m_H);
  let c0 = process.cpuUsage(); let t0 = performance.now(); let n = 0;
  while (performance.now() - t0 < 4000) { await pool.predict(data.inputs.x_H, data.inputs.m_H); n++; }
  console.log('workers', workers, 'eval wall ms', ((performance.now() - t0) / n).toFixed(0), 'cpu ms', (process.cpuUsage(c0).user / 1000 / n).toFixed(0));
  await pool.trainStep(data.inputs, data.labels);
  c0 = process.cpuUsage(); t0 = performance.now(); n = 0;
  while (performance.now() - t0 < 8000) { await pool.trainStep(data.inputs, data.labels); n++; }
  console.log('workers', workers, 'train wall ms', ((performance.now() - t0) / n).toFixed(0), 'cpu ms', (process.cpuUsage(c0).user / 1000 / n).toFixed(0), 'n', n);
  await pool.dispose();
}
