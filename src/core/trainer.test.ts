import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { expectNoLeaks } from '../testing/leaks.ts';
import { lrFactor, resolveConfig, type LossName } from './config.ts';
import { ImageSampler, toySampler } from './data.ts';
import { ForgerError } from './errors.ts';
import { Rng } from './rng.ts';
import { GanRun } from './trainer.ts';

before(async () => {
  await tf.setBackend('cpu');
});

const ringConfig = resolveConfig({ model: { gWidths: [16], dWidths: [16] }, train: { steps: 4, batchSize: 16, gridSize: 8 } }, 'toy-ring8');

test('tensor count is flat across training steps and sampling', async () => {
  const run = new GanRun(ringConfig, toySampler('ring8', 1));
  await expectNoLeaks(() => run.trainOnce(), 3);
  await expectNoLeaks(() => run.sampleFixed());
  run.dispose();
});

test('dispose releases every tensor of a run', async () => {
  const before = tf.memory().numTensors;
  const run = new GanRun(ringConfig, toySampler('ring8', 1));
  await run.trainOnce();
  run.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('callbacks fire on their cadence and a stop ends the loop', async () => {
  const config = resolveConfig({ model: { gWidths: [8], dWidths: [8] }, train: { steps: 5, batchSize: 8, gridSize: 4, sampleEvery: 2, checkpointEvery: 3 } }, 'toy-ring8');
  const run = new GanRun(config, toySampler('ring8', 1));
  const seen: string[] = [];
  await run.train({
    onStep: (r) => void seen.push(`s${r.step}`),
    onSample: (s) => void seen.push(`g${s}`),
    onCheckpoint: (s) => void seen.push(`c${s}`),
  });
  assert.deepEqual(seen, ['s1', 's2', 'g2', 's3', 'c3', 's4', 'g4', 's5', 'g5', 'c5']);
  run.dispose();
});

test('the same seed gives the same run; another seed does not', async () => {
  const losses = async (seed: number) => {
    const c = resolveConfig({ ...ringConfig, seed }, 'toy-ring8');
    const run = new GanRun(c, toySampler('ring8', seed));
    const out = [];
    for (let i = 0; i < 3; i++) out.push((await run.trainOnce()).lossD);
    run.dispose();
    return out;
  };
  assert.deepEqual(await losses(3), await losses(3));
  assert.notDeepEqual(await losses(3), await losses(4));
});

test('with G frozen, D learns to separate real from fake', async () => {
  // G with lrG tiny, D normal: D should win quickly on ring data.
  const c = resolveConfig({ model: { gWidths: [16], dWidths: [32] }, train: { steps: 60, batchSize: 64, lrG: 1e-9, lrD: 1e-2, r1Weight: 0, lrDecay: 'off' } }, 'toy-ring8');
  const run = new GanRun(c, toySampler('ring8', 1));
  let last = await run.trainOnce();
  for (let i = 0; i < 59; i++) last = await run.trainOnce();
  assert.ok(last.dReal - last.dFake > 0.2, `D(x) ${last.dReal}, D(G(z)) ${last.dFake}`);
  run.dispose();
});

/** Poison one weight of D: the next step's losses are NaN. */
function poisonD(run: GanRun): void {
  const w = run.discriminator.getWeights();
  const bad = tf.fill(w[0]!.shape, NaN);
  run.discriminator.setWeights(w.map((t, i) => (i === 0 ? bad : t)));
  bad.dispose();
}

test('NaN losses stop training with E_DIVERGED (train.onCollapse warn)', async () => {
  const set = { shape: [3, 3, 1] as [number, number, number], count: 4, pixels: new Uint8Array(36), labels: null };
  const c = resolveConfig({ train: { batchSize: 4, steps: 3 } }, 'circles-3x3');
  const run = new GanRun(c, new ImageSampler(set, [0, 1], 1));
  poisonD(run);
  const checkpoints: number[] = [];
  await assert.rejects(
    run.train({ onCheckpoint: (s) => void checkpoints.push(s) }),
    (e: unknown) => e instanceof ForgerError && e.code === 'E_DIVERGED' && /^training diverged at step 1: lossD NaN.*--on-collapse rollback$/.test(e.message),
  );
  assert.deepEqual(checkpoints, []);
  run.dispose();
});

test('onCollapse stop: a NaN step stops the run without a checkpoint of the broken weights', async () => {
  const c = resolveConfig({ model: { gWidths: [8], dWidths: [8] }, train: { steps: 10, batchSize: 8, gridSize: 4, onCollapse: 'stop', checkpointEvery: 2 } }, 'toy-ring8');
  const run = new GanRun(c, toySampler('ring8', 1));
  const checkpoints: number[] = [];
  const events: string[] = [];
  const outcome = await run.train({
    onStep: (r) => {
      if (r.step === 3) poisonD(run);
    },
    onCheckpoint: (s) => void checkpoints.push(s),
    onHealth: (e) => void events.push(`${e.step} ${e.kind} ${e.action}`),
  });
  assert.equal(outcome.stopped, 'health');
  assert.equal(outcome.event?.kind, 'diverged');
  assert.match(outcome.event!.message, /diverged at step 4: lossD NaN.*stopping without a checkpoint/);
  assert.deepEqual(checkpoints, [2]);
  assert.deepEqual(events, ['4 diverged stop']);
  assert.equal(run.health.events.length, 1);
  run.dispose();
});

test('onCollapse rollback: back to the last checkpoint with the learning rates halved, to the end; then no rollback left stops', async () => {
  const c = resolveConfig(
    { model: { gWidths: [8], dWidths: [8] }, train: { steps: 12, batchSize: 8, gridSize: 4, onCollapse: 'rollback', checkpointEvery: 4, maxRollbacks: 1 } },
    'toy-ring8',
  );
  const run = new GanRun(c, toySampler('ring8', 1));
  // An in-memory "checkpoint directory": the trainer only needs rollback() to restore one.
  const saved = new Map<number, { weights: tf.Tensor[][]; state: ReturnType<GanRun['captureState']>; opt: Awaited<ReturnType<GanRun['captureOptimizers']>> }>();
  const nets = [run.generator, run.discriminator];
  let poisoned = 0;
  const steps: number[] = [];
  const outcome = await run.train({
    onStep: (r) => {
      steps.push(r.step);
      // Break D at step 6 (the first time only) and again at step 10 on the second pass.
      if ((r.step === 6 && poisoned === 0) || (r.step === 10 && poisoned === 1)) {
        poisoned += 1;
        poisonD(run);
      }
    },
    onCheckpoint: async (s) => {
      for (const old of saved.get(s)?.weights ?? []) tf.dispose(old);
      saved.set(s, { weights: nets.map((n) => n.getWeights().map((w) => w.clone())), state: structuredClone(run.captureState()), opt: await run.captureOptimizers() });
    },
    rollback: async (r) => {
      const good = [...saved.entries()].filter(([, v]) => v.state.health!.healthy).sort((a, b) => b[0] - a[0])[0];
      if (!good) return null;
      nets.forEach((n, i) => n.setWeights(good[1].weights[i]!));
      r.restoreState(structuredClone(good[1].state), good[1].opt);
      return r.step;
    },
  });
  // 1..7 (7 diverges), back to 4, 5..11 (11 diverges, no rollback left)
  assert.deepEqual(steps, [1, 2, 3, 4, 5, 6, 5, 6, 7, 8, 9, 10]);
  assert.equal(outcome.stopped, 'health');
  const h = run.health;
  assert.deepEqual(h.events.map((e) => [e.step, e.kind, e.action, e.rolledBackTo ?? null]), [[7, 'diverged', 'rollback', 4], [11, 'diverged', 'stop', null]]);
  assert.match(h.events[0]!.message, /rolled back to step 4 \(rollback 1 of 1\), learning rates x0\.5: lrG 0\.0005, lrD 0\.0005/);
  assert.match(h.events[1]!.message, /1 rollback already made \(--max-rollbacks\)/);
  assert.equal(h.rollbacks, 1);
  assert.equal(h.lrScale, 0.5);
  assert.deepEqual([run.optG.opts.learningRate, run.optD.opts.learningRate], [5e-4, 5e-4]);
  // The checkpoint written right after the rollback keeps the halved rate: a restore applies it.
  assert.equal(saved.get(4)!.state.health!.lrScale, 0.5);
  const fresh = new GanRun(c, toySampler('ring8', 1));
  fresh.restoreState(saved.get(4)!.state, saved.get(4)!.opt);
  assert.equal(fresh.optG.opts.learningRate, 5e-4);
  fresh.dispose();
  for (const v of saved.values()) v.weights.flat().forEach((t) => t.dispose());
  run.dispose();
});

test('the health checks leak no tensors (collapse check at every step)', async () => {
  const c = resolveConfig({ model: { gWidths: [8], dWidths: [8] }, train: { steps: 1000, batchSize: 8, gridSize: 16, sampleEvery: 1 } }, 'toy-ring8');
  const run = new GanRun(c, toySampler('ring8', 1));
  assert.ok(run.monitor.realSpread! > 0.5, `ring of radius 1: real spread ${run.monitor.realSpread}`);
  let until = 0;
  await expectNoLeaks(async () => {
    until += 2;
    await run.train({ shouldStop: () => run.step >= until });
  }, 2);
  run.dispose();
});

test('measuring the real spread does not move the data: the same batches as before', async () => {
  const c = resolveConfig({ model: { gWidths: [8], dWidths: [8] }, train: { steps: 4, batchSize: 8, gridSize: 8 } }, 'toy-ring8');
  const plain = toySampler('ring8', 5);
  const expected = plain.batch(8);
  const data = toySampler('ring8', 5);
  const run = new GanRun(c, data);
  assert.ok(run.monitor.realSpread !== null);
  const got = data.batch(8);
  assert.deepEqual(got.dataSync(), expected.dataSync());
  tf.dispose([got, expected]);
  run.dispose();
});

test('every loss, with and without R1, trains a few steps: finite numbers, no leaked tensors', async () => {
  const cases: [LossName, number][] = [
    ['minimax', 0],
    ['non-saturating', 1],
    ['hinge', 0],
    ['lsgan', 0],
    ['wgan-gp', 0],
    ['wgan-gp', 1],
  ];
  for (const [loss, r1Weight] of cases) {
    // dropout and two D steps: the penalties' D forwards reseed dropout like the others
    const c = resolveConfig({ model: { gWidths: [16], dWidths: [16], dropout: 0.2 }, train: { steps: 4, batchSize: 16, gridSize: 8, loss, r1Weight, dSteps: 2 } }, 'toy-ring8');
    const run = new GanRun(c, toySampler('ring8', 1));
    await expectNoLeaks(async () => {
      const r = await run.trainOnce();
      for (const k of ['lossD', 'lossG', 'dReal', 'dFake'] as const) assert.ok(Number.isFinite(r[k]), `${loss} r1 ${r1Weight}: ${k} ${r[k]}`);
    }, 2);
    run.dispose();
  }
});

test('wgan-gp: the same seed gives the same run, and the penalty stream is saved and restored', async () => {
  const c = resolveConfig({ model: { gWidths: [8], dWidths: [8] }, train: { steps: 4, batchSize: 8, gridSize: 4, loss: 'wgan-gp' } }, 'toy-ring8');
  const losses = async (seed: number) => {
    const run = new GanRun(resolveConfig({ ...c, seed }, 'toy-ring8'), toySampler('ring8', seed));
    const out = [];
    for (let i = 0; i < 3; i++) out.push((await run.trainOnce()).lossD);
    const state = run.captureState();
    run.dispose();
    return { out, state };
  };
  const a = await losses(3);
  assert.deepEqual((await losses(3)).out, a.out);
  assert.notDeepEqual((await losses(4)).out, a.out);
  // 3 iterations of 8 samples drew 24 eps values from the 'penalty' stream
  const rng = new Rng(3, 'penalty');
  for (let i = 0; i < 24; i++) rng.next();
  assert.deepEqual(a.state.rng.penalty, rng.getState());
});

test('a state without a penalty stream (older checkpoints) restores it from the seed', async () => {
  const c = resolveConfig({ model: { gWidths: [8], dWidths: [8] }, train: { steps: 4, batchSize: 8, gridSize: 4, loss: 'wgan-gp' } }, 'toy-ring8');
  const run = new GanRun(c, toySampler('ring8', 1));
  await run.trainOnce();
  const { penalty: _, ...older } = run.captureState().rng;
  run.restoreState({ ...run.captureState(), rng: older }, await run.captureOptimizers());
  assert.deepEqual(run.captureState().rng.penalty, new Rng(c.seed, 'penalty').getState());
  run.dispose();
});

test('lrFactor: off, linear and cosine schedules reach 0 at the last step', () => {
  const cases: [Parameters<typeof lrFactor>[0], number, number][] = [
    ['off', 0, 1],
    ['off', 100, 1],
    ['linear', 0, 1],
    ['linear', 25, 0.75],
    ['linear', 100, 0],
    ['linear', 150, 0],
    ['cosine', 0, 1],
    ['cosine', 25, (1 + Math.SQRT1_2) / 2],
    ['cosine', 50, 0.5],
    ['cosine', 100, 0],
  ];
  for (const [decay, step, want] of cases) assert.ok(Math.abs(lrFactor(decay, step, 100) - want) < 1e-12, `${decay} at ${step}: ${lrFactor(decay, step, 100)} vs ${want}`);
});

test('--lr-decay: each step updates with the scheduled rate, and a resumed run follows the same schedule', async () => {
  const config = resolveConfig({ model: { gWidths: [16], dWidths: [16] }, train: { steps: 4, batchSize: 16, gridSize: 8, lrDecay: 'linear' } }, 'toy-ring8');
  const run = new GanRun(config, toySampler('ring8', 1));
  const scales: number[] = [];
  for (let k = 0; k < 4; k++) {
    await run.trainOnce();
    scales.push(run.optG.lrScale, run.optD.lrScale);
  }
  assert.deepEqual(scales, [1, 1, 0.75, 0.75, 0.5, 0.5, 0.25, 0.25]);
  // resume at step 2 (state and weights) and compare the final weights with the uninterrupted run
  const a = new GanRun(config, toySampler('ring8', 1));
  await a.trainOnce();
  await a.trainOnce();
  const b = new GanRun(config, toySampler('ring8', 1));
  b.generator.setWeights(a.generator.getWeights());
  b.discriminator.setWeights(a.discriminator.getWeights());
  b.restoreState(JSON.parse(JSON.stringify(a.captureState())), await a.captureOptimizers());
  await a.trainOnce();
  await b.trainOnce();
  assert.equal(b.optG.lrScale, 0.5);
  const wa = a.generator.getWeights().map((w) => Array.from(w.dataSync()));
  const wb = b.generator.getWeights().map((w) => Array.from(w.dataSync()));
  assert.deepEqual(wb, wa);
  [run, a, b].forEach((r) => r.dispose());
});

// ---- feature matching, instance noise, DiffAugment ----------------------------

/** A synthetic 8x8 grayscale set: random pixels, enough for an ImageSampler. */
function tinyImages(count = 32) {
  const rng = new Rng(11, 'tiny-images');
  return { shape: [8, 8, 1] as [number, number, number], count, pixels: Uint8Array.from({ length: count * 64 }, () => rng.int(256)), labels: null };
}

const REMEDIES = { featureMatching: 1, adversarialWeight: 0.5, instanceNoise: 0.1, diffAugment: 'translation,cutout,color' };

test('feature matching, instance noise and DiffAugment together, with every loss and R1: finite numbers, no leaked tensors', async () => {
  const cases: [LossName, number][] = [
    ['non-saturating', 0],
    ['minimax', 1],
    ['hinge', 0],
    ['lsgan', 0],
    ['wgan-gp', 1],
  ];
  for (const [loss, r1Weight] of cases) {
    const c = resolveConfig(
      { model: { dataShape: [8, 8, 1], gWidths: [16], dWidths: [16, 8], dropout: 0.2 }, train: { steps: 4, batchSize: 8, gridSize: 4, loss, r1Weight, dSteps: 2, ...REMEDIES } },
      'circles-3x3',
    );
    const run = new GanRun(c, new ImageSampler(tinyImages(), [0, 1], 1));
    await expectNoLeaks(async () => {
      const r = await run.trainOnce();
      for (const k of ['lossD', 'lossG', 'dReal', 'dFake'] as const) assert.ok(Number.isFinite(r[k]), `${loss} r1 ${r1Weight}: ${k} ${r[k]}`);
    }, 2);
    run.dispose();
  }
});

test('the three compose with dcgan, spectral norm, minibatch stddev, EMA and label smoothing', async () => {
  const c = resolveConfig(
    {
      model: { dataShape: [8, 8, 1], baseSize: 2, gWidths: [8, 4], dWidths: [4, 8], spectralNorm: 'd', minibatch: 'stddev', minibatchGroup: 4 },
      train: { steps: 4, batchSize: 8, gridSize: 4, emaDecay: 0.9, labelSmoothing: 0.1, featureLayer: 1, ...REMEDIES },
    },
    'mnist-dcgan',
  );
  const run = new GanRun(c, new ImageSampler(tinyImages(), [-1, 1], 1));
  await expectNoLeaks(async () => {
    const r = await run.trainOnce();
    assert.ok(Number.isFinite(r.lossD) && Number.isFinite(r.lossG), `lossD ${r.lossD}, lossG ${r.lossG}`);
  }, 2);
  run.dispose();
});

test('each remedy changes the run; the same seed repeats it; its streams are saved', async () => {
  const base = { model: { dataShape: [8, 8, 1], gWidths: [16], dWidths: [16] }, train: { steps: 4, batchSize: 8, gridSize: 4 } };
  const losses = async (train: object) => {
    const c = resolveConfig({ ...base, train: { ...base.train, ...train } }, 'circles-3x3');
    const run = new GanRun(c, new ImageSampler(tinyImages(), [0, 1], 1));
    const out: number[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await run.trainOnce();
      out.push(r.lossD, r.lossG);
    }
    const state = run.captureState();
    run.dispose();
    return { out, state };
  };
  const plain = await losses({});
  for (const train of [{ featureMatching: 1 }, { instanceNoise: 0.2 }, { diffAugment: 'translation' }, { diffAugment: 'cutout' }, { diffAugment: 'color' }]) {
    const a = await losses(train);
    assert.notDeepEqual(a.out, plain.out, JSON.stringify(train));
    assert.deepEqual((await losses(train)).out, a.out, `${JSON.stringify(train)} repeats`);
  }
  // the streams moved only when used: 2 steps x (real + fake in D, fake in G) x 8 x 64 normals
  const noisy = (await losses({ instanceNoise: 0.2 })).state.rng;
  const rng = new Rng(42, 'instance-noise');
  rng.fillNormal(new Float32Array(2 * 3 * 8 * 64));
  assert.deepEqual(noisy.instanceNoise, rng.getState());
  assert.deepEqual(plain.state.rng.instanceNoise, new Rng(42, 'instance-noise').getState());
  assert.deepEqual(plain.state.rng.augment, new Rng(42, 'augment').getState());
});

test('a state without the instance-noise and augment streams (older checkpoints) restores them from the seed', async () => {
  const c = resolveConfig({ model: { dataShape: [8, 8, 1], gWidths: [8], dWidths: [8] }, train: { steps: 4, batchSize: 8, gridSize: 4, instanceNoise: 0.1, diffAugment: 'color' } }, 'circles-3x3');
  const run = new GanRun(c, new ImageSampler(tinyImages(), [0, 1], 1));
  await run.trainOnce();
  const { instanceNoise: _n, augment: _a, ...older } = run.captureState().rng;
  run.restoreState({ ...run.captureState(), rng: older }, await run.captureOptimizers());
  assert.deepEqual(run.captureState().rng.instanceNoise, new Rng(c.seed, 'instance-noise').getState());
  assert.deepEqual(run.captureState().rng.augment, new Rng(c.seed, 'augment').getState());
  run.dispose();
});

test('a feature layer D does not have fails when the run is built, naming the choices, and leaves no tensors', () => {
  const before = tf.memory().numTensors;
  const c = resolveConfig({ model: { gWidths: [8], dWidths: [8] }, train: { featureMatching: 1, featureLayer: 'd_nope' } }, 'toy-ring8');
  assert.throws(() => new GanRun(c, toySampler('ring8', 1)), (e: unknown) => e instanceof ForgerError && e.code === 'E_CONFIG' && /train\.featureLayer "d_nope" is invalid; .*d_dense1, d_act1/.test(e.message));
  assert.equal(tf.memory().numTensors, before);
});
