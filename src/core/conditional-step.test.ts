import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { expectNoLeaks } from '../testing/leaks.ts';
import { resolveClasses, resolveConfig, type UserConfig } from './config.ts';
import { ImageSampler } from './data.ts';
import type { ImageSet } from './image.ts';
import { oneHot } from './labels.ts';
import { classLoss } from './losses.ts';
import { buildModels, disposeModels } from './models/index.ts';
import { Adam } from './optim.ts';
import { Rng } from './rng.ts';
import { generate, sampleClassRows, scoreConditional, scoreReal } from './sample.ts';
import { readMetrics, trainStep } from './train-step.ts';
import { GanRun } from './trainer.ts';

before(async () => {
  await tf.setBackend('cpu');
});

const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);
const softplus = (v: number) => Math.log1p(Math.exp(v));

test('classLoss is the mean cross-entropy of softmax(logits) against the one-hot labels, by hand', () => {
  const logits = [
    [2, 0, -1],
    [0.5, 0.5, 3],
  ];
  const labels = [0, 1];
  const ce = (l: number[], c: number) => -(l[c]! - Math.log(l.reduce((s, v) => s + Math.exp(v), 0)));
  const want = (ce(logits[0]!, 0) + ce(logits[1]!, 1)) / 2;
  const y = oneHot(labels, 3);
  close(classLoss(tf.tensor2d(logits), y).dataSync()[0]!, want);
  assert.throws(() => classLoss(tf.tensor2d(logits), oneHot(labels, 4)), /class logits \[2,3\] and one-hot labels \[2,4\]/);
  y.dispose();
});

/** 12 tiny 2x2 images in 3 classes. */
function tinySet(): ImageSet {
  const count = 12;
  return {
    shape: [2, 2, 1],
    count,
    pixels: Uint8Array.from({ length: count * 4 }, (_, i) => (i * 37) % 256),
    labels: Uint8Array.from({ length: count }, (_, i) => i % 3),
    classNames: ['x', 'y', 'z'],
  };
}

/** A 2x2 MLP GAN without batch norm, dropout or spectral norm, so training-mode outputs equal predict(). */
const tiny: UserConfig = {
  data: { source: 'mnist' },
  model: { arch: 'mlp', dataShape: [2, 2, 1], gWidths: [6], dWidths: [5], latentDim: 3, gBatchNorm: false, dBatchNorm: false, dropout: 0, output: 'sigmoid' },
  train: { batchSize: 4, gridSize: 6, steps: 10 },
};

for (const conditional of ['acgan', 'projection'] as const) {
  test(`${conditional}: the step's lossD and lossG equal the losses computed by hand from D's outputs`, async () => {
    const w = 0.7;
    const m = resolveClasses(resolveConfig({ ...tiny, model: { ...tiny.model, conditional } }, 'mnist-mlp'), ['x', 'y', 'z']).model;
    const { generator: G, discriminator: D } = buildModels(m, 3);
    const real = tf.randomUniform([4, 2, 2, 1], 0, 1, 'float32', 1);
    const z = tf.randomNormal([4, 3], 0, 1, 'float32', 2);
    const yReal = oneHot([0, 1, 2, 1], 3);
    const yFake = oneHot([2, 2, 0, 1], 3);
    const fake = G.predict([z, yFake]) as tf.Tensor;
    // D's outputs before its update: [logit, class logits] (acgan) or the logit of D(x, y) (projection)
    const dOut = (x: tf.Tensor, y: tf.Tensor): [number[], tf.Tensor | null] => {
      const o = D.predict(conditional === 'acgan' ? x : [x, y]) as tf.Tensor | tf.Tensor[];
      return Array.isArray(o) ? [Array.from(o[0]!.dataSync()), o[1]!] : [Array.from(o.dataSync()), null];
    };
    const [r, rc] = dOut(real, yReal);
    const [f, fc] = dOut(fake, yFake);
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    const ce = (c: tf.Tensor | null, y: tf.Tensor) => (c ? classLoss(c, y).dataSync()[0]! : 0);
    const wantD = mean(r.map((l) => softplus(-l))) + mean(f.map(softplus)) + (conditional === 'acgan' ? w * (ce(rc, yReal) + ce(fc, yFake)) : 0);

    const opt = () => new Adam({ learningRate: 0.05, beta1: 0.5, beta2: 0.999 });
    const s = { generator: G, discriminator: D, optG: opt(), optD: opt(), loss: 'non-saturating' as const, labelSmoothing: 0, dropoutRng: new Rng(1), conditional, acganWeight: w };
    const metrics = await readMetrics(trainStep(s, [real], [z], { real: [yReal], fake: [yFake] }));
    close(metrics.lossD, wantD);
    // G's loss is taken through the D just updated, on G(z, y~) before G's update
    const [f2, fc2] = dOut(fake, yFake);
    const wantG = mean(f2.map((l) => softplus(-l))) + (conditional === 'acgan' ? w * ce(fc2, yFake) : 0);
    close(metrics.lossG, wantG);
    tf.dispose([real, z, yReal, yFake, fake, rc ?? [], fc ?? [], fc2 ?? []]);
    s.optG.dispose();
    s.optD.dispose();
    disposeModels({ generator: G, discriminator: D });
  });
}

test('the projection D sees the labels: swapping the real labels changes lossD', async () => {
  const m = resolveClasses(resolveConfig({ ...tiny, model: { ...tiny.model, conditional: 'projection' } }, 'mnist-mlp'), ['x', 'y', 'z']).model;
  const lossWith = async (labels: number[]) => {
    const { generator: G, discriminator: D } = buildModels(m, 3);
    D.getLayer('d_embed').setWeights([tf.randomNormal([3, 5], 0, 1, 'float32', 9)]);
    const real = tf.randomUniform([4, 2, 2, 1], 0, 1, 'float32', 1);
    const z = tf.randomNormal([4, 3], 0, 1, 'float32', 2);
    const y = { real: [oneHot(labels, 3)], fake: [oneHot([0, 0, 0, 0], 3)] };
    const opt = () => new Adam({ learningRate: 0.01, beta1: 0.5, beta2: 0.999 });
    const s = { generator: G, discriminator: D, optG: opt(), optD: opt(), loss: 'hinge' as const, labelSmoothing: 0, dropoutRng: new Rng(1), conditional: 'projection' as const };
    const r = await readMetrics(trainStep(s, [real], [z], y));
    tf.dispose([real, z, ...y.real, ...y.fake]);
    disposeModels({ generator: G, discriminator: D });
    s.optG.dispose();
    s.optD.dispose();
    return r.lossD;
  };
  assert.notEqual(await lossWith([0, 1, 2, 0]), await lossWith([2, 2, 1, 1]));
});

test('trainStep refuses a conditional step without labels', () => {
  const m = resolveClasses(resolveConfig({ ...tiny, model: { ...tiny.model, conditional: 'acgan' } }, 'mnist-mlp'), ['x', 'y', 'z']).model;
  const models = buildModels(m, 1);
  const s = { ...models, optG: new Adam({ learningRate: 0.1, beta1: 0.5, beta2: 0.9 }), optD: new Adam({ learningRate: 0.1, beta1: 0.5, beta2: 0.9 }), loss: 'hinge' as const, labelSmoothing: 0, dropoutRng: new Rng(1), conditional: 'acgan' as const };
  assert.throws(() => trainStep(s, [tf.zeros([2, 2, 2, 1])], [tf.zeros([2, 3])]), /a conditional \(acgan\) GAN needs one-hot labels/);
  disposeModels(models);
});

// Every loss, the penalties (they differentiate D's logit with respect to x only), spectral
// norm and the minibatch layers, with both conditional Ds: finite numbers, no leaked tensors.
const combos: [string, UserConfig['model'], UserConfig['train']][] = [
  ['projection + wgan-gp', { conditional: 'projection' }, { loss: 'wgan-gp' }],
  ['projection + R1, spectral norm, minibatch stddev', { conditional: 'projection', spectralNorm: 'both', minibatch: 'stddev', minibatchGroup: 2 }, { r1Weight: 1 }],
  ['acgan + R1 + wgan-gp, embedding, dropout', { conditional: 'acgan', classEmbedding: 4, dropout: 0.2 }, { loss: 'wgan-gp', r1Weight: 0.5, dSteps: 2 }],
  ['acgan + hinge, minibatch discrimination, ema', { conditional: 'acgan', minibatch: 'discrimination', minibatchKernels: 3, minibatchDims: 2 }, { loss: 'hinge', emaDecay: 0.9 }],
  ['projection + lsgan, batch norm in D', { conditional: 'projection', dBatchNorm: true }, { loss: 'lsgan' }],
];
for (const [name, model, train] of combos) {
  test(`a conditional run trains: ${name}`, async () => {
    const c = resolveConfig({ ...tiny, model: { ...tiny.model, ...model }, train: { ...tiny.train, ...train } }, 'mnist-mlp');
    const run = new GanRun(c, new ImageSampler(tinySet(), [0, 1], 1));
    assert.deepEqual([run.config.model.numClasses, run.config.model.classNames], [3, ['x', 'y', 'z']], 'classes come from the data');
    await expectNoLeaks(async () => {
      const r = await run.trainOnce();
      for (const k of ['lossD', 'lossG', 'dReal', 'dFake'] as const) assert.ok(Number.isFinite(r[k]), `${k} ${r[k]}`);
    }, 2);
    await expectNoLeaks(() => run.sampleFixed());
    run.dispose();
  });
}

test('a conditional run repeats exactly from its captured state; the label stream is part of it', async () => {
  const c = resolveConfig({ ...tiny, model: { ...tiny.model, conditional: 'acgan' } }, 'mnist-mlp');
  const a = new GanRun(c, new ImageSampler(tinySet(), [0, 1], 1));
  await a.trainOnce();
  const state = a.captureState();
  assert.equal(state.rng.labels?.length, 4);
  const b = new GanRun(c, new ImageSampler(tinySet(), [0, 1], 1));
  b.generator.setWeights(a.generator.getWeights());
  b.discriminator.setWeights(a.discriminator.getWeights());
  b.restoreState(JSON.parse(JSON.stringify(state)), await a.captureOptimizers());
  const ra = await a.trainOnce();
  const rb = await b.trainOnce();
  assert.deepEqual([rb.lossD, rb.lossG], [ra.lossD, ra.lossG]);
  assert.deepEqual(b.captureState().rng, a.captureState().rng);
  a.dispose();
  b.dispose();
});

test('progress grids and class rows: row r is class r, each column one z across the classes', () => {
  const c = resolveConfig({ ...tiny, model: { ...tiny.model, conditional: 'projection' } }, 'mnist-mlp');
  const run = new GanRun(c, new ImageSampler(tinySet(), [0, 1], 1));
  // gridSize 6 over 3 classes: 2 columns
  assert.equal(run.gridColumns(), 2);
  const grid = run.sampleFixed();
  assert.equal(grid.length, 3 * 2 * 4);
  const m = run.config.model;
  // cell (r, j) = G(fixed z_j, class r)
  for (let r = 0; r < 3; r++) {
    for (let j = 0; j < 2; j++) {
      const one = generate(run.generator, run.fixedNoise.slice(j * 3, (j + 1) * 3), 3, { labels: [r] });
      assert.deepEqual(Array.from(grid.slice((r * 2 + j) * 4, (r * 2 + j + 1) * 4)), Array.from(one));
    }
  }
  const rowsOut = sampleClassRows(run.generator, m, 2, new Rng(5));
  assert.equal(rowsOut.length, 3 * 2 * 4);
  assert.throws(() => generate(run.generator, new Float32Array(3), 3), /class-conditional \(3 classes\); pass a label per sample/);
  run.dispose();
});

test('scoring a conditional D: AC-GAN names a class; projection takes a class or the most real one', () => {
  for (const conditional of ['acgan', 'projection'] as const) {
    const c = resolveConfig({ ...tiny, model: { ...tiny.model, conditional } }, 'mnist-mlp');
    const run = new GanRun(c, new ImageSampler(tinySet(), [0, 1], 1));
    const m = run.config.model;
    const x = Float32Array.from({ length: 3 * 4 }, (_, i) => (i % 5) / 5);
    const s = scoreConditional(run.discriminator, m, x, null);
    assert.equal(s.pReal.length, 3);
    assert.ok(Array.from(s.label).every((l) => l >= 0 && l < 3));
    if (conditional === 'acgan') {
      assert.ok(s.pClass && Array.from(s.pClass).every((p) => p >= 1 / 3 && p <= 1));
      assert.deepEqual(s.pReal, scoreReal(run.discriminator, x, m.dataShape), 'the adversarial head, as scoreReal reads it');
    } else {
      // the best class's score is the largest of the per-class scores
      const per = [0, 1, 2].map((k) => scoreConditional(run.discriminator, m, x, k));
      for (let i = 0; i < 3; i++) {
        close(s.pReal[i]!, Math.max(...per.map((p) => p.pReal[i]!)));
        assert.equal(per[s.label[i]!]!.pReal[i], s.pReal[i]);
      }
      assert.deepEqual(Array.from(per[2]!.label), [2, 2, 2]);
      assert.throws(() => scoreReal(run.discriminator, x, m.dataShape), /projection D and needs a class/);
    }
    run.dispose();
  }
});
