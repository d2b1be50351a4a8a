import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { expectNoLeaks, relError } from '../../testing/leaks.ts';
import { resolveClasses, resolveConfig, type ModelConfig, type UserConfig } from '../config.ts';
import { ForgerError } from '../errors.ts';
import { oneHot } from '../labels.ts';
import { buildDiscriminator, buildGenerator, buildModels, disposeModels } from './index.ts';

before(async () => {
  await tf.setBackend('cpu');
});

const K = 4;
const names = ['a', 'b', 'c', 'd'];

/** A resolved conditional model config with K classes. */
function cond(user: UserConfig, preset = 'mnist-dcgan'): ModelConfig {
  return resolveClasses(resolveConfig(user, preset), names).model;
}

const small: UserConfig['model'] = { gWidths: [8, 4], dWidths: [4, 8], latentDim: 6 };
const mlp: UserConfig['model'] = { arch: 'mlp', gWidths: [8], dWidths: [5], latentDim: 6, gBatchNorm: false, dBatchNorm: false, dropout: 0, gActivation: 'leaky-relu' };

const cases: [string, UserConfig['model']][] = [
  ['dcgan', small],
  ['dcgan, 3-dim label embedding', { ...small, classEmbedding: 3 }],
  ['dcgan, spectral norm both, minibatch stddev', { ...small, spectralNorm: 'both', minibatch: 'stddev' }],
  ['dcgan, minibatch discrimination', { ...small, minibatch: 'discrimination', minibatchKernels: 3, minibatchDims: 2 }],
  ['mlp', mlp],
  ['mlp, embedding, spectral norm d, minibatch stddev', { ...mlp, classEmbedding: 5, spectralNorm: 'd', minibatch: 'stddev' }],
];

for (const [name, model] of cases) {
  test(`${name}: conditional G and both conditional D shapes`, () => {
    for (const conditional of ['projection', 'acgan'] as const) {
      const m = cond({ model: { ...model, conditional } });
      const { generator: G, discriminator: D } = buildModels(m, 1);
      // G: [z, one-hot y] -> image
      assert.deepEqual(G.inputs.map((t) => t.shape), [[null, 6], [null, K]]);
      assert.deepEqual(G.outputs[0]!.shape, [null, 28, 28, 1]);
      const firstDense = G.layers.find((l) => l.name === 'g_dense' || l.name === 'g_dense1')!;
      assert.deepEqual(firstDense.getWeights()[0]!.shape[0], 6 + (m.classEmbedding || K), 'the body sees z and the label input');
      if (conditional === 'projection') {
        // D: [x, one-hot y] -> one logit
        assert.deepEqual(D.inputs.map((t) => t.shape), [[null, 28, 28, 1], [null, K]]);
        assert.deepEqual(D.outputs.map((t) => t.shape), [[null, 1]]);
      } else {
        // D: x -> [logit, K class logits]
        assert.deepEqual(D.inputs.map((t) => t.shape), [[null, 28, 28, 1]]);
        assert.deepEqual(D.outputs.map((t) => t.shape), [[null, 1], [null, K]]);
      }
      const x = tf.randomNormal([3, 28, 28, 1]);
      const y = oneHot([0, 3, 1], K);
      const z = tf.randomNormal([3, 6]);
      const out = tf.tidy(() => (G.predict([z, y]) as tf.Tensor).shape);
      assert.deepEqual(out, [3, 28, 28, 1]);
      tf.dispose([x, y, z]);
      disposeModels({ generator: G, discriminator: D });
    }
  });
}

test('the unconditional builders are unchanged: Sequential models taking z and x alone', () => {
  const m = resolveConfig({ model: small }, 'mnist-dcgan').model;
  const { generator, discriminator } = buildModels(m, 1);
  assert.equal(generator.getClassName(), 'Sequential');
  assert.equal(discriminator.getClassName(), 'Sequential');
  assert.deepEqual([generator.inputs.length, discriminator.inputs.length, discriminator.outputs.length], [1, 1, 1]);
  disposeModels({ generator, discriminator });
});

test('an unresolved number of classes is a clear E_CONFIG error', () => {
  const m = resolveConfig({ model: { ...small, conditional: 'acgan' } }, 'mnist-dcgan').model;
  assert.throws(() => buildGenerator(m, 1), (e: unknown) => e instanceof ForgerError && e.code === 'E_CONFIG' && /model\.numClasses 0 is not a number of classes; load the data first/.test(e.message));
});

/** Row-major [n, a] x [a, b] in plain JS. */
function matmul(x: number[][], w: number[][]): number[][] {
  return x.map((row) => w[0]!.map((_, j) => row.reduce((s, v, k) => s + v * w[k]![j]!, 0)));
}
const leaky = (v: number) => (v > 0 ? v : 0.2 * v);
const rows = (t: tf.Tensor) => t.arraySync() as number[][];

/** phi(x) of the mlp D above by hand: leakyReLU(flatten(x) W1 + b1). */
function features(D: tf.LayersModel, x: tf.Tensor): number[][] {
  const [w1, b1] = D.getLayer('d_dense1').getWeights();
  const flat = rows(tf.reshape(x, [x.shape[0]!, -1]));
  return matmul(flat, rows(w1!)).map((r) => r.map((v, j) => leaky(v + b1!.dataSync()[j]!)));
}

test('projection D: D(x, y) = psi(phi(x)) + <V_y, phi(x)>, by hand', () => {
  const m = cond({ model: { ...mlp, conditional: 'projection', dataShape: [3, 3, 1] } }, 'mnist-mlp');
  const D = buildDiscriminator(m, 2);
  // a non-zero, non-trivial V so the label term matters
  const V = tf.randomNormal([K, 5], 0, 1, 'float32', 3);
  D.getLayer('d_embed').setWeights([V]);
  const x = tf.randomNormal([3, 3, 3, 1], 0, 1, 'float32', 4);
  const labels = [2, 0, 3];
  const got = (D.predict([x, oneHot(labels, K)]) as tf.Tensor).dataSync();
  const phi = features(D, x);
  const [w, b] = D.getLayer('d_logit').getWeights();
  const psi = matmul(phi, rows(w!)).map((r) => r[0]! + b!.dataSync()[0]!);
  const v = rows(V);
  const want = phi.map((f, i) => psi[i]! + f.reduce((s, fj, j) => s + fj * v[labels[i]!]![j]!, 0));
  assert.ok(relError(got, want) < 1e-5, `${Array.from(got)} vs ${want}`);
  // another label changes only the projection term
  const other = (D.predict([x, oneHot([1, 1, 1], K)]) as tf.Tensor).dataSync();
  const wantOther = phi.map((f, i) => psi[i]! + f.reduce((s, fj, j) => s + fj * v[1]![j]!, 0));
  assert.ok(relError(other, wantOther) < 1e-5);
  tf.dispose([V, x]);
  D.dispose();
});

test('AC-GAN D: the logit is the unconditional D\'s, the class head is phi(x) W_c + b_c, by hand', () => {
  const m = cond({ model: { ...mlp, conditional: 'acgan', dataShape: [3, 3, 1] } }, 'mnist-mlp');
  const D = buildDiscriminator(m, 2);
  const plain = buildDiscriminator(resolveConfig({ model: { ...mlp, dataShape: [3, 3, 1] } }, 'mnist-mlp').model, 2);
  const x = tf.randomNormal([3, 3, 3, 1], 0, 1, 'float32', 4);
  const [logit, classLogits] = D.predict(x) as tf.Tensor[];
  // the label layers draw from their own init streams: the body and logit start as the unconditional D's
  assert.deepEqual(logit!.dataSync(), (plain.predict(x) as tf.Tensor).dataSync());
  const [wc, bc] = D.getLayer('d_class').getWeights();
  const want = matmul(features(D, x), rows(wc!)).map((r) => r.map((v, j) => v + bc!.dataSync()[j]!));
  assert.deepEqual(classLogits!.shape, [3, K]);
  assert.ok(relError(classLogits!.dataSync(), want.flat()) < 1e-5);
  x.dispose();
  D.dispose();
  plain.dispose();
});

test('the label paths have gradients on the cpu backend: an embedding row moves only for the classes in the batch', () => {
  for (const classEmbedding of [3, 0]) {
    const m = cond({ model: { ...mlp, conditional: 'projection', dataShape: [3, 3, 1], classEmbedding } }, 'mnist-mlp');
    const G = buildGenerator(m, 1);
    const D = buildDiscriminator(m, 1);
    const z = tf.randomNormal([3, 6], 0, 1, 'float32', 5);
    const y = oneHot([0, 2, 2], K);
    const table = classEmbedding > 0 ? G.getLayer('g_embed') : G.getLayer('g_dense1');
    const gVar = table.trainableWeights[0]!.read() as tf.Variable;
    const dVar = D.getLayer('d_embed').trainableWeights[0]!.read() as tf.Variable;
    const { grads } = tf.variableGrads(() => tf.sum(D.apply([G.apply([z, y], { training: true }) as tf.Tensor, y], { training: true }) as tf.Tensor) as tf.Scalar, [gVar, dVar]);
    // G's table: [K, E] for the embedding; for the one-hot input, rows 6.. of the first dense kernel
    const g = rows(grads[gVar.name]!).slice(classEmbedding > 0 ? 0 : 6);
    const d = rows(grads[dVar.name]!);
    for (const [what, rowsOf] of [['G', g], ['D', d]] as const) {
      const norms = rowsOf.map((r) => Math.hypot(...r));
      assert.ok(norms[0]! > 0 && norms[2]! > 0, `${what} (embedding ${classEmbedding}): classes in the batch get gradient, ${norms}`);
      assert.equal(norms[1], 0, `${what}: class 1 is not in the batch`);
      assert.equal(norms[3], 0, `${what}: class 3 is not in the batch`);
    }
    tf.dispose([z, y, ...Object.values(grads)]);
    G.dispose();
    D.dispose();
  }
});

test('building and disposing conditional models leaks no tensors', async () => {
  for (const conditional of ['projection', 'acgan'] as const) {
    const m = cond({ model: { ...small, conditional, classEmbedding: 4, spectralNorm: 'both' } });
    await expectNoLeaks(() => disposeModels(buildModels(m, 1)));
  }
});
