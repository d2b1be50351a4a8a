import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { expectNoLeaks } from '../testing/leaks.ts';
import { resolveConfig } from './config.ts';
import { toySampler } from './data.ts';
import { copyWeights, emaDecayAt, updateAverage } from './ema.ts';
import { ForgerError } from './errors.ts';
import { GanRun } from './trainer.ts';

before(async () => {
  await tf.setBackend('cpu');
});

/** A 2 -> 3 dense layer with set weights. */
function tiny(kernel: number[], bias: number[], units = 3): tf.Sequential {
  const m = tf.sequential();
  m.add(tf.layers.dense({ units, inputShape: [2] }));
  m.setWeights([tf.tensor2d(kernel, [2, units]), tf.tensor1d(bias)]);
  return m;
}

const flat = (m: tf.LayersModel): number[][] => m.getWeights().map((w) => Array.from(w.dataSync()));

test('the decay warms up as (1 + t) / (10 + t) and is capped at the configured decay', () => {
  assert.equal(emaDecayAt(0.999, 0), 0.1);
  assert.equal(emaDecayAt(0.999, 10), 11 / 20);
  assert.equal(emaDecayAt(0.999, 100000), 0.999);
  assert.equal(emaDecayAt(0.5, 100), 0.5);
});

test('updateAverage moves every weight by (1 - d_t) of the gap, and copyWeights clones', () => {
  const live = tiny([1, 2, 3, 4, 5, 6], [1, 1, 1]);
  const avg = tiny([0, 0, 0, 0, 0, 0], [3, 3, 3]);
  updateAverage(avg, live, 0.9, 50); // d = min(0.9, 51/60) = 0.85
  const want = [[1, 2, 3, 4, 5, 6].map((v) => 0.15 * v), [3, 3, 3].map((v) => 3 + 0.15 * (1 - v))];
  flat(avg).forEach((w, i) => w.forEach((v, j) => assert.ok(Math.abs(v - want[i]![j]!) < 1e-6, `weight ${i}[${j}]: ${v} vs ${want[i]![j]}`)));
  updateAverage(avg, live, 0.9, 1000); // d = 0.9
  assert.ok(Math.abs(flat(avg)[0]![5]! - (0.9 * 0.9 + 0.1 * 6)) < 1e-6);
  copyWeights(live, avg);
  assert.deepEqual(flat(avg), flat(live));
  live.setWeights([tf.zeros([2, 3]), tf.zeros([3])]);
  assert.deepEqual(flat(avg)[0], [1, 2, 3, 4, 5, 6], 'the copy changed with the source');
  live.dispose();
  avg.dispose();
});

test('models of different shapes are an E_SHAPE error', () => {
  const a = tiny([1, 2, 3, 4, 5, 6], [0, 0, 0]);
  const b = tiny([1, 2, 3, 4], [0, 0], 2);
  assert.throws(() => updateAverage(a, b, 0.99, 0), (e: unknown) => e instanceof ForgerError && e.code === 'E_SHAPE' && /2x3,3/.test(e.message));
  a.dispose();
  b.dispose();
});

test('a run with emaDecay keeps the average of G, samples from it and leaks nothing', async () => {
  const config = resolveConfig({ model: { gWidths: [16], dWidths: [16] }, train: { steps: 4, batchSize: 16, gridSize: 8, emaDecay: 0.95 } }, 'toy-ring8');
  const run = new GanRun(config, toySampler('ring8', 1));
  assert.ok(run.emaGenerator);
  assert.equal(run.samplingGenerator, run.emaGenerator);
  assert.deepEqual(flat(run.emaGenerator), flat(run.generator), 'the average starts at G');
  // Replay the average from snapshots of G after each step.
  let expected = flat(run.generator);
  for (let t = 0; t < 3; t++) {
    await run.trainOnce();
    const d = emaDecayAt(0.95, t);
    expected = expected.map((w, i) => w.map((v, j) => v + (flat(run.generator)[i]![j]! - v) * (1 - d)));
  }
  flat(run.emaGenerator).forEach((w, i) => w.forEach((v, j) => assert.ok(Math.abs(v - expected[i]![j]!) < 1e-5, `weight ${i}[${j}]`)));
  assert.notDeepEqual(flat(run.emaGenerator), flat(run.generator));
  // Fixed-noise samples come from the average.
  const fromAvg = tf.tidy(() => (run.emaGenerator!.predict(tf.tensor2d(run.fixedNoise, [8, config.model.latentDim])) as tf.Tensor).dataSync());
  assert.deepEqual(Array.from(run.sampleFixed()), Array.from(fromAvg));
  await expectNoLeaks(() => run.trainOnce(), 2);
  run.dispose();
});

test('emaDecay 0 builds no average; out-of-range decays are E_CONFIG errors', () => {
  const run = new GanRun(resolveConfig({ model: { gWidths: [8], dWidths: [8] }, train: { batchSize: 8, gridSize: 4 } }, 'toy-ring8'), toySampler('ring8', 1));
  assert.equal(run.emaGenerator, null);
  assert.equal(run.samplingGenerator, run.generator);
  run.dispose();
  for (const bad of [0.2, 1, -0.5, 1.5]) {
    assert.throws(() => resolveConfig({ train: { emaDecay: bad } }, 'toy-ring8'), (e: unknown) => e instanceof ForgerError && e.code === 'E_CONFIG' && e.message.includes(`train.emaDecay ${bad}`));
  }
});
