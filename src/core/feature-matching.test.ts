import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { expectNoLeaks, relError } from '../testing/leaks.ts';
import { resolveConfig } from './config.ts';
import { ForgerError } from './errors.ts';
import { featureMatchingLoss, featureView, generatorObjective, meanFeatures, resolveFeatureLayer } from './feature-matching.ts';
import { generatorLoss } from './losses.ts';
import { buildDiscriminator, buildModels, disposeModels } from './models/index.ts';
import { Adam } from './optim.ts';
import { Rng } from './rng.ts';
import { trainableVariables, trainStep } from './train-step.ts';

before(async () => {
  await tf.setBackend('cpu');
});

const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);
const configError = (re: RegExp) => (e: unknown) => e instanceof ForgerError && e.code === 'E_CONFIG' && re.test(e.message) && !e.message.includes('\n');

test('feature matching loss: mean_k (E f(x)_k - E f(G(z))_k)^2, by hand', () => {
  // E f(x) = (2, 3), E f(G(z)) = (1, 1): ((2 - 1)^2 + (3 - 1)^2) / 2 = 2.5
  const real = tf.tensor2d([1, 2, 3, 4], [2, 2]);
  const fake = tf.tensor2d([0, 0, 2, 2], [2, 2]);
  assert.deepEqual(Array.from(meanFeatures(real).dataSync()), [2, 3]);
  close(featureMatchingLoss(meanFeatures(real), fake).dataSync()[0]!, 2.5);
  // conv feature maps are flattened: [N, 1, 1, 2] gives the same; the batches may differ in size
  close(featureMatchingLoss(meanFeatures(real.reshape([2, 1, 1, 2])), tf.tensor4d([1, 1, 1, 1, 1, 1], [3, 1, 1, 2])).dataSync()[0]!, 2.5);
});

const mlpModel = resolveConfig({ model: { dWidths: [8, 6], gWidths: [8] } }, 'toy-ring8').model;
const dcganModel = resolveConfig({ model: { dataShape: [8, 8, 1], baseSize: 2, gWidths: [8, 4], dWidths: [4, 8] } }, 'mnist-dcgan').model;

test('the feature layer: hidden layer numbers from either end, or a name; anything else is an E_CONFIG error naming the choices', () => {
  const D = buildDiscriminator(mlpModel, 1);
  assert.equal(resolveFeatureLayer(D, -1).name, 'd_act2');
  assert.equal(resolveFeatureLayer(D, 1).name, 'd_act1');
  assert.equal(resolveFeatureLayer(D, -2).name, 'd_act1');
  assert.equal(resolveFeatureLayer(D, 'd_dense2').name, 'd_dense2');
  assert.throws(() => resolveFeatureLayer(D, 3), configError(/train\.featureLayer 3 is invalid; use 1\.\.2 or -1\.\.-2 \(D's hidden layers\), or a layer name of D: d_dense1, d_act1, d_dense2, d_act2$/));
  assert.throws(() => resolveFeatureLayer(D, 'd_logit'), configError(/train\.featureLayer "d_logit" is invalid/));
  assert.throws(() => resolveFeatureLayer(D, 'nope'), configError(/"nope" is invalid; .*d_act2/));
  D.dispose();
  const C = buildDiscriminator(dcganModel, 1);
  assert.equal(resolveFeatureLayer(C, -1).name, 'd_act2');
  assert.deepEqual(featureView(C, -1).outputs.map((o) => o.shape), [
    [null, 2, 2, 8],
    [null, 1],
  ]);
  assert.equal(resolveFeatureLayer(C, 'd_flatten').name, 'd_flatten');
  C.dispose();
  // the config checks numbers against model.dWidths before anything is built
  assert.throws(() => resolveConfig({ model: { dWidths: [8] }, train: { featureMatching: 1, featureLayer: 2 } }, 'toy-ring8'), configError(/train\.featureLayer 2 is invalid; D has 1 hidden layers; use 1\.\.1 or -1\.\.-1/));
  assert.throws(() => resolveConfig({ train: { featureLayer: 0 } }, 'toy-ring8'), configError(/train\.featureLayer 0 is invalid/));
  assert.throws(() => resolveConfig({ train: { adversarialWeight: 0 } }, 'toy-ring8'), configError(/train\.adversarialWeight 0 is invalid; G needs a loss/));
  assert.throws(() => resolveConfig({ train: { adversarialWeight: 0.5 } }, 'toy-ring8'), configError(/train\.adversarialWeight 0\.5 is invalid; .*featureMatching > 0/));
  assert.equal(resolveConfig({ train: { featureMatching: 1, adversarialWeight: 0 } }, 'toy-ring8').train.adversarialWeight, 0);
});

test("the feature view shares D's weights: its logit is D's, its features follow D's weights, and it owns no tensors", () => {
  const before = tf.memory().numTensors;
  const D = buildDiscriminator(resolveConfig({ model: { dWidths: [3] } }, 'toy-ring8').model, 1);
  const view = featureView(D, -1);
  const x = tf.tensor2d([0.5, -1, 2, 0.25], [2, 2]);
  const check = () =>
    tf.tidy(() => {
      const [f, l] = view.apply(x, { training: true }) as tf.Tensor[];
      assert.deepEqual(Array.from(l!.dataSync()), Array.from((D.apply(x, { training: true }) as tf.Tensor).dataSync()));
      // d_act1 = LeakyReLU_0.2(x W1 + b1), by hand from D's current weights (W1 is [2, 3])
      const [w1, b1] = D.getWeights().map((w) => w.dataSync());
      const xs = x.dataSync();
      const want = [0, 1].flatMap((n) =>
        [0, 1, 2].map((j) => {
          const pre = xs[2 * n]! * w1![j]! + xs[2 * n + 1]! * w1![3 + j]! + b1![j]!;
          return pre > 0 ? pre : 0.2 * pre;
        }),
      );
      assert.ok(relError(f!.dataSync(), want) < 1e-6, `${Array.from(f!.dataSync())} vs ${want}`);
    });
  check();
  const fresh = D.getWeights().map((w, i) => tf.fill(w.shape, 0.1 * (i + 1) * (i % 2 === 0 ? 1 : -1)));
  D.setWeights(fresh);
  tf.dispose(fresh);
  check();
  x.dispose();
  D.dispose();
  assert.equal(tf.memory().numTensors, before, 'disposing D released everything: the view holds nothing of its own');
});

/** A small G and D on 2D points, with G's variables, a noise batch and a real batch. */
function smallGan(user = {}) {
  const c = resolveConfig({ model: { gWidths: [8], dWidths: [8, 6], ...user } }, 'toy-ring8');
  const models = buildModels(c.model, 2);
  const rng = new Rng(3, 'fm.test');
  const z = tf.tensor2d(Float32Array.from({ length: 16 * 8 }, () => rng.normal()), [16, 8]);
  const real = tf.tensor2d(Float32Array.from({ length: 16 * 2 }, () => rng.normal()), [16, 2]);
  return { c, ...models, z, real, gVars: trainableVariables(models.generator) };
}

test("G's gradient: adversarial weight 0 is feature matching alone, weight 0 of FM the adversarial loss alone, and a mix is their weighted sum", () => {
  const { generator: G, discriminator: D, z, real, gVars } = smallGan();
  const view = featureView(D, -1);
  const realMean = tf.tidy(() => meanFeatures((view.apply(real) as tf.Tensor[])[0]!));
  const gradOf = (f: (feat: tf.Tensor, logit: tf.Tensor) => tf.Scalar) =>
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => {
        const [feat, logit] = view.apply(G.apply(z) as tf.Tensor) as tf.Tensor[];
        return f(feat!, logit!);
      }, gVars);
      return gVars.flatMap((v) => Array.from(grads[v.name]!.dataSync()));
    });
  const fmOnly = gradOf((feat) => featureMatchingLoss(realMean, feat));
  const advOnly = gradOf((_, logit) => generatorLoss(logit, 'non-saturating'));
  const objective = (adv: number, fm: number) => gradOf((feat, logit) => generatorObjective(logit, 'non-saturating', adv, { weight: fm, realMean, fakeFeatures: feat }));
  assert.deepEqual(objective(0, 1), fmOnly);
  assert.deepEqual(objective(1, 0), advOnly);
  assert.ok(relError(fmOnly, advOnly) > 0.1, 'the two gradients differ (the test compares something)');
  const mixed = objective(0.5, 3);
  assert.ok(relError(mixed, fmOnly.map((g, i) => 0.5 * advOnly[i]! + 3 * g)) < 1e-5);
  assert.throws(() => generatorObjective(tf.zeros([2, 1]), 'hinge', 0, null), (e: unknown) => e instanceof ForgerError && /G has no loss/.test(e.message));
  disposeModels({ generator: G, discriminator: D });
});

test("with feature matching, G's update leaves D's weights as D's own update left them, and moves G", async () => {
  for (const [adversarialWeight, dropout] of [[0, 0], [1, 0.3]] as const) {
    const { generator: G, discriminator: D, z, real } = smallGan({ dropout });
    let afterD: Float32Array[] = [];
    /** D's optimizer, recording D's weights right after each of its updates. */
    class SpyAdam extends Adam {
      override minimize(f: () => tf.Scalar, returnCost?: boolean, varList?: tf.Variable[]): tf.Scalar | null {
        const out = super.minimize(f, returnCost, varList);
        afterD = D.getWeights().map((w) => (w.dataSync() as Float32Array).slice());
        return out;
      }
    }
    const opts = { learningRate: 0.01, beta1: 0.5, beta2: 0.999 };
    const g0 = G.getWeights().map((w) => w.dataSync().slice());
    const d0 = D.getWeights().map((w) => w.dataSync().slice());
    const s = {
      generator: G,
      discriminator: D,
      optG: new Adam(opts),
      optD: new SpyAdam(opts),
      loss: 'non-saturating' as const,
      labelSmoothing: 0,
      dropoutRng: new Rng(1),
      featureMatching: { view: featureView(D, -1), weight: 1 },
      adversarialWeight,
    };
    await expectNoLeaks(() => tf.dispose(trainStep(s, [real, real], [z, z])));
    const dNow = D.getWeights().map((w) => w.dataSync());
    assert.notDeepEqual(afterD, d0, 'D itself moved');
    dNow.forEach((w, i) => assert.deepEqual(w, afterD[i], `D weight ${i} changed in G's update`));
    const gNow = G.getWeights().map((w) => w.dataSync());
    assert.ok(gNow.some((w, i) => relError(w, g0[i]!) > 1e-4), 'G moved');
    s.optG.dispose();
    s.optD.dispose();
    disposeModels({ generator: G, discriminator: D });
  }
});
