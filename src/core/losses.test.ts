import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { expectNoLeaks, relError } from '../testing/leaks.ts';
import { resolveConfig, type LossName } from './config.ts';
import { ForgerError } from './errors.ts';
import { discriminatorLoss, generatorLoss, gradientPenalty, inputGradient, interpolates, meanOutput, meanProbability, r1Penalty } from './losses.ts';
import { buildDiscriminator } from './models/index.ts';
import { Rng } from './rng.ts';

before(async () => {
  await tf.setBackend('cpu');
});

const sig = (l: number) => 1 / (1 + Math.exp(-l));
const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

test('D loss is BCE(real -> 1) + BCE(fake -> 0), by hand', () => {
  const real = [2, -1];
  const fake = [0.5, -3];
  const want =
    real.reduce((s, l) => s - Math.log(sig(l)), 0) / real.length + fake.reduce((s, l) => s - Math.log(1 - sig(l)), 0) / fake.length;
  close(discriminatorLoss(tf.tensor2d(real, [2, 1]), tf.tensor2d(fake, [2, 1])).dataSync()[0]!, want);
});

test('one-sided label smoothing: real target 1 - s, by hand', () => {
  const real = [1.5, -0.5];
  const s = 0.1;
  const bce = (l: number, t: number) => -(t * Math.log(sig(l)) + (1 - t) * Math.log(1 - sig(l)));
  const want = (bce(real[0]!, 1 - s) + bce(real[1]!, 1 - s)) / 2 + bce(0.2, 0);
  close(discriminatorLoss(tf.tensor2d(real, [2, 1]), tf.tensor2d([0.2], [1, 1]), s).dataSync()[0]!, want);
});

test("seed 004's example: D(G(z)) = 0.74 gives D error -ln(1-0.74) and G error -ln(0.74)", () => {
  const l = Math.log(0.74 / 0.26); // logit of 0.74
  const fake = tf.tensor2d([l], [1, 1]);
  const dFakeTerm = discriminatorLoss(tf.tensor2d([100], [1, 1]), fake).dataSync()[0]!; // real term ~ 0
  close(dFakeTerm, -Math.log(1 - 0.74), 1e-4);
  close(generatorLoss(fake, 'non-saturating').dataSync()[0]!, -Math.log(0.74), 1e-5);
  close(generatorLoss(fake, 'minimax').dataSync()[0]!, Math.log(1 - 0.74), 1e-5);
});

test('losses stay finite for extreme logits', () => {
  const ext = tf.tensor2d([1000, -1000], [2, 1]);
  for (const v of [discriminatorLoss(ext, ext), generatorLoss(ext, 'minimax'), generatorLoss(ext, 'non-saturating')]) {
    assert.ok(Number.isFinite(v.dataSync()[0]!));
  }
  close(meanProbability(ext).dataSync()[0]!, 0.5);
});

test('losses leak no tensors', async () => {
  const a = tf.tensor2d([0.3, -0.2], [2, 1]);
  await expectNoLeaks(() => {
    tf.dispose([discriminatorLoss(a, a), generatorLoss(a, 'minimax'), generatorLoss(a, 'non-saturating'), meanProbability(a)]);
  });
});

// ---- hinge, lsgan, wgan-gp --------------------------------------------------

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const relu = (v: number) => Math.max(v, 0);
const col = (a: number[]) => tf.tensor2d(a, [a.length, 1]);
const REAL = [2, 0.5, -0.3];
const FAKE = [-1.5, 0.2, 1.1];

test('hinge, lsgan and wgan-gp D and G losses, by hand', () => {
  const cases: [LossName, number, number][] = [
    ['hinge', mean(REAL.map((r) => relu(1 - r))) + mean(FAKE.map((f) => relu(1 + f))), -mean(FAKE)],
    ['lsgan', 0.5 * mean(REAL.map((r) => (r - 1) ** 2)) + 0.5 * mean(FAKE.map((f) => f ** 2)), 0.5 * mean(FAKE.map((f) => (f - 1) ** 2))],
    ['wgan-gp', mean(FAKE) - mean(REAL), -mean(FAKE)],
  ];
  for (const [loss, wantD, wantG] of cases) {
    close(discriminatorLoss(col(REAL), col(FAKE), 0, loss).dataSync()[0]!, wantD);
    close(generatorLoss(col(FAKE), loss).dataSync()[0]!, wantG);
  }
  // the hand values above: hinge D = (0 + 0.5 + 1.3)/3 + (0 + 1.2 + 2.1)/3 = 1.7
  close(discriminatorLoss(col(REAL), col(FAKE), 0, 'hinge').dataSync()[0]!, 1.7);
});

test('label smoothing with a non-BCE loss is an E_CONFIG error', () => {
  for (const loss of ['hinge', 'lsgan', 'wgan-gp'] as const) {
    assert.throws(() => discriminatorLoss(col(REAL), col(FAKE), 0.1, loss), (e: unknown) => e instanceof ForgerError && e.code === 'E_CONFIG');
  }
});

test('dReal/dFake: mean sigmoid for the BCE losses, mean raw output for the others', () => {
  close(meanOutput(col(REAL), 'non-saturating').dataSync()[0]!, mean(REAL.map(sig)));
  close(meanOutput(col(REAL), 'minimax').dataSync()[0]!, mean(REAL.map(sig)));
  for (const loss of ['hinge', 'lsgan', 'wgan-gp'] as const) close(meanOutput(col(REAL), loss).dataSync()[0]!, mean(REAL));
});

test('interpolates: one eps per sample, eps x + (1 - eps) x~', () => {
  const real = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2, 1]);
  const fake = tf.zerosLike(real);
  const got = Array.from(interpolates(real, fake, tf.tensor1d([0.25, 1])).dataSync());
  assert.deepEqual(got, [0.25, 0.5, 0.75, 1, 5, 6, 7, 8]);
});

test('the penalties on given input gradients, by hand', () => {
  // per-sample norms 5 and 1 (rows [3, 4] and [0, 1])
  const g = tf.tensor2d([3, 4, 0, 1], [2, 2]);
  close(gradientPenalty(g, 10).dataSync()[0]!, (10 * ((5 - 1) ** 2 + 0)) / 2);
  close(r1Penalty(g, 0.5).dataSync()[0]!, (0.5 / 2) * ((25 + 1) / 2));
  // images: the norm runs over all of a sample's axes
  const gi = tf.tensor4d([1, 2, 2, 0, 0, 0, 0, 0], [2, 2, 2, 1]);
  close(gradientPenalty(gi, 1).dataSync()[0]!, ((3 - 1) ** 2 + 1) / 2, 1e-4);
});

test('inputGradient: grad_x of a linear critic is its weights, and the value is D(x)', () => {
  const w = tf.tensor2d([2, -3], [2, 1]);
  const x = tf.tensor2d([1, 1, 0.5, -2], [2, 2]);
  const { logits, grad } = inputGradient((xi) => tf.matMul(xi, w), x);
  assert.deepEqual(Array.from(logits.dataSync()), [-1, 7]);
  assert.deepEqual(Array.from(grad.dataSync()), [2, -3, 2, -3]);
});

// ---- the penalties' gradients w.r.t. D's weights: finite differences ----------

/**
 * A small D, 2 -> 8 -> 1 with LeakyReLU(0.2), Forger's own MLP discriminator, with
 * every weight (biases too) set to seeded values so that no term is trivially zero.
 */
function smallCritic(): { D: tf.LayersModel; vars: tf.Variable[] } {
  const c = resolveConfig({ model: { dWidths: [8], leak: 0.2 } }, 'toy-ring8');
  const D = buildDiscriminator(c.model, 1);
  const rng = new Rng(4, 'losses.test');
  D.setWeights(D.getWeights().map((w) => tf.tensor(Float32Array.from({ length: w.size }, () => 2 * rng.next() - 1), w.shape)));
  return { D, vars: D.trainableWeights.map((w) => w.read() as tf.Variable) };
}

const X_REAL = tf.tensor2d([0.9, -0.4, -1.2, 0.3, 0.2, 1.1, -0.6, -0.8], [4, 2]);
const X_FAKE = tf.tensor2d([0.1, 0.5, 0.7, -0.9, -0.3, -0.2, 1.3, 0.4], [4, 2]);
const H = 3e-3;

/**
 * The analytic gradient of penalty(D) w.r.t. every weight (variableGrads: the penalty's
 * inner gradient is taken under the outer tape, as in trainStep) against central
 * differences (P(w + h) - P(w - h)) / 2h, in float32 on cpu. D is piecewise linear in
 * its input, so grad_x D is a polynomial in the weights while no hidden unit changes
 * side: the test first checks that no pre-activation is within reach of a step h, so
 * the central difference is exact up to O(h^2) terms and float32 rounding (~1e-4 here).
 */
function checkPenaltyGradient(penalty: (critic: (x: tf.Tensor) => tf.Tensor) => tf.Scalar, x: tf.Tensor): void {
  const { D, vars } = smallCritic();
  const critic = (xi: tf.Tensor) => D.apply(xi, { training: true }) as tf.Tensor;
  const [w1, b1] = D.getWeights();
  const pre = tf.tidy(() => tf.add(tf.matMul(x as tf.Tensor2D, w1 as tf.Tensor2D), b1!));
  const maxAbsX = Math.max(1, ...Array.from(tf.abs(x).dataSync()));
  assert.ok(Math.min(...Array.from(tf.abs(pre).dataSync())) > 3 * H * maxAbsX, 'a pre-activation is too close to 0 for this step');
  const { grads } = tf.variableGrads(() => penalty(critic), vars);
  const value = () => tf.tidy(() => penalty(critic).dataSync()[0]!);
  let checked = 0;
  for (const v of vars) {
    // variableGrads leaves out variables the value does not depend on (the output bias here)
    const analytic = grads[v.name]?.dataSync() ?? new Float32Array(v.size);
    const w = v.dataSync().slice();
    const numeric = new Float32Array(w.length);
    for (let i = 0; i < w.length; i++) {
      const at = (d: number) => {
        const p = w.slice();
        p[i] = w[i]! + d;
        v.assign(tf.tensor(p, v.shape));
        return value();
      };
      numeric[i] = (at(H) - at(-H)) / (2 * H);
      v.assign(tf.tensor(w, v.shape));
    }
    const maxNumeric = Math.max(...Array.from(numeric, Math.abs));
    assert.ok(relError(analytic, numeric) < 2e-3, `${v.name}: analytic ${Array.from(analytic)} vs numeric ${Array.from(numeric)}`);
    if (maxNumeric > 1e-2) checked++;
  }
  // grad_x D = W1 diag(s) W2, s the LeakyReLU slopes (1 or 0.2) at W1^T x + b1: the biases
  // only choose s, so their penalty gradient is 0; W1's and W2's are not.
  assert.equal(checked, 2, 'W1 and W2 have a non-zero penalty gradient');
  tf.dispose(Object.values(grads));
  pre.dispose();
  D.dispose();
}

test('WGAN-GP penalty: gradient w.r.t. D weights matches central differences (double backprop)', () => {
  const eps = tf.tensor1d([0.1, 0.5, 0.8, 0.3]);
  const xHat = interpolates(X_REAL, X_FAKE, eps);
  checkPenaltyGradient((critic) => tf.tidy(() => gradientPenalty(inputGradient(critic, xHat).grad, 10)), xHat);
});

test('R1 penalty: gradient w.r.t. D weights matches central differences (double backprop)', () => {
  checkPenaltyGradient((critic) => tf.tidy(() => r1Penalty(inputGradient(critic, X_REAL).grad, 5)), X_REAL);
});

test('penalties leak no tensors, inside an optimizer-style variableGrads too', async () => {
  const { D, vars } = smallCritic();
  const critic = (xi: tf.Tensor) => D.apply(xi, { training: true }) as tf.Tensor;
  await expectNoLeaks(() => {
    const { value, grads } = tf.variableGrads(() => {
      const r1 = inputGradient(critic, X_REAL);
      const gp = inputGradient(critic, interpolates(X_REAL, X_FAKE, tf.tensor1d([0.2, 0.4, 0.6, 0.8])));
      return tf.addN([discriminatorLoss(r1.logits, critic(X_FAKE), 0, 'wgan-gp'), gradientPenalty(gp.grad, 10), r1Penalty(r1.grad, 1)]) as tf.Scalar;
    }, vars);
    tf.dispose([value, ...Object.values(grads)]);
  });
  D.dispose();
});
