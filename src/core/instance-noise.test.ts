import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { dInputChanges } from '../testing/d-inputs.ts';
import { resolveConfig } from './config.ts';
import { ForgerError } from './errors.ts';
import { addInstanceNoise, instanceNoiseSigma } from './instance-noise.ts';
import { Rng } from './rng.ts';

before(async () => {
  await tf.setBackend('cpu');
});

test('sigma_t: sigma_0 at the start, half way at T/2, 0 at T and after', () => {
  const t = { instanceNoise: 0.2, instanceNoiseSteps: 100, steps: 1000 };
  const cases: [number, number][] = [
    [0, 0.2],
    [25, 0.15],
    [50, 0.1],
    [99, 0.002],
    [100, 0],
    [101, 0],
    [5000, 0],
  ];
  for (const [step, want] of cases) assert.ok(Math.abs(instanceNoiseSigma(t, step) - want) < 1e-12, `step ${step}: ${instanceNoiseSigma(t, step)} vs ${want}`);
  // instanceNoiseSteps null: over all of train.steps
  assert.equal(instanceNoiseSigma({ ...t, instanceNoiseSteps: null }, 500), 0.1);
  assert.equal(instanceNoiseSigma({ ...t, instanceNoise: 0 }, 0), 0);
});

test('the noise is sigma times the stream\'s normals; sigma 0 returns x itself and draws nothing', () => {
  const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
  const rng = new Rng(9, 'instance-noise');
  assert.equal(addInstanceNoise(x, 0, rng), x);
  assert.deepEqual(rng.getState(), new Rng(9, 'instance-noise').getState());
  const n = new Float32Array(6);
  new Rng(9, 'instance-noise').fillNormal(n);
  const got = addInstanceNoise(x, 0.5, rng).dataSync();
  const want = [1, 2, 3, 4, 5, 6].map((v, i) => v + 0.5 * n[i]!);
  got.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-6));
  // and its spread is sigma
  const big = addInstanceNoise(tf.zeros([100, 100]), 0.3, rng).dataSync() as Float32Array;
  const sd = Math.sqrt(big.reduce((s, v) => s + v * v, 0) / big.length);
  assert.ok(Math.abs(sd - 0.3) < 0.01, `std ${sd}`);
});

test('the noise reaches every input of D: sigma_t over steps 0, 1, 2 is 0.3, 0.15, 0 (T = 2); without it D sees the batches themselves', async () => {
  const steps = await dInputChanges({ instanceNoise: 0.3, instanceNoiseSteps: 2 });
  for (const [i, want] of [0.3, 0.15, 0].entries()) {
    for (const [j, what] of ['real', "fake in D's update", "fake in G's update"].entries()) {
      const got = steps[i]![j]!;
      assert.ok(Math.abs(got - want) <= 0.1 * want, `step ${i}, ${what}: RMS ${got}, sigma_t ${want}`);
    }
  }
  assert.deepEqual(await dInputChanges({}), [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ]);
});

test('instance noise options are validated', () => {
  const rejects = (train: object, re: RegExp) =>
    assert.throws(() => resolveConfig({ train }, 'toy-ring8'), (e: unknown) => e instanceof ForgerError && e.code === 'E_CONFIG' && re.test(e.message));
  rejects({ instanceNoise: -0.1 }, /train\.instanceNoise -0\.1 is invalid; expected a number in \[0, 100\]/);
  rejects({ instanceNoise: 0.1, instanceNoiseSteps: 0 }, /train\.instanceNoiseSteps 0 is invalid; expected an integer >= 1/);
  assert.equal(resolveConfig({ train: { instanceNoise: 0.1 } }, 'toy-ring8').train.instanceNoiseSteps, null);
});
