import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { expectNoLeaks } from '../testing/leaks.ts';
import { Adam } from './optim.ts';

before(async () => {
  await tf.setBackend('cpu');
});

/** Adam by hand in float64 on f(w) = sum(c * w^2) (gradient 2 c w). */
function reference(w0: number[], c: number[], steps: number, lr: number, b1: number, b2: number, eps = 1e-8): number[] {
  const w = [...w0];
  const m = w.map(() => 0);
  const v = w.map(() => 0);
  for (let t = 1; t <= steps; t++) {
    for (let i = 0; i < w.length; i++) {
      const g = 2 * c[i]! * w[i]!;
      m[i] = b1 * m[i]! + (1 - b1) * g;
      v[i] = b2 * v[i]! + (1 - b2) * g * g;
      const mh = m[i]! / (1 - b1 ** t);
      const vh = v[i]! / (1 - b2 ** t);
      w[i] = w[i]! - (lr * mh) / (Math.sqrt(vh) + eps);
    }
  }
  return w;
}

test('Adam matches the textbook update', () => {
  const w0 = [1, -2, 0.5];
  const c = [1, 0.5, 3];
  const w = tf.variable(tf.tensor1d(w0));
  const cT = tf.tensor1d(c);
  const opt = new Adam({ learningRate: 0.1, beta1: 0.5, beta2: 0.999 });
  for (let i = 0; i < 5; i++) tf.dispose(opt.minimize(() => tf.sum(tf.mul(cT, tf.square(w))) as tf.Scalar, true, [w]) ?? []);
  const want = reference(w0, c, 5, 0.1, 0.5, 0.999);
  Array.from(w.dataSync()).forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-5, `${v} vs ${want[i]}`));
  opt.dispose();
});

test('state round-trip continues identically', async () => {
  const make = () => tf.variable(tf.tensor1d([1, -2, 0.5]));
  const f = (w: tf.Variable) => () => tf.sum(tf.square(tf.sub(w, 0.3))) as tf.Scalar;
  const a = make();
  const optA = new Adam({ learningRate: 0.05, beta1: 0.5, beta2: 0.999 });
  for (let i = 0; i < 3; i++) tf.dispose(optA.minimize(f(a), true, [a]) ?? []);
  // b continues from a's weights and optimizer state
  const b = tf.variable(a.clone());
  const optB = new Adam({ learningRate: 0.05, beta1: 0.5, beta2: 0.999 });
  optB.setState(await optA.getState());
  for (let i = 0; i < 4; i++) {
    tf.dispose(optA.minimize(f(a), true, [a]) ?? []);
    tf.dispose(optB.minimize(f(b), true, [b]) ?? []);
  }
  assert.deepEqual(Array.from(b.dataSync()), Array.from(a.dataSync()));
  assert.equal(optB.step, 7);
  optA.dispose();
  optB.dispose();
});

test('Adam steps leak no tensors', async () => {
  const w = tf.variable(tf.tensor1d([1, 2]));
  const opt = new Adam({ learningRate: 0.01, beta1: 0.5, beta2: 0.999 });
  await expectNoLeaks(() => tf.dispose(opt.minimize(() => tf.sum(tf.square(w)) as tf.Scalar, true, [w]) ?? []));
  opt.dispose();
});

test('lrScale multiplies the learning rate: a scaled run equals a run with the smaller rate', () => {
  const w0 = [1, -2, 0.5];
  const c = [1, 0.5, 3];
  const cT = tf.tensor1d(c);
  const run = (lr: number, scale: number) => {
    const w = tf.variable(tf.tensor1d(w0));
    const opt = new Adam({ learningRate: lr, beta1: 0.5, beta2: 0.999 });
    opt.lrScale = scale;
    for (let i = 0; i < 3; i++) tf.dispose(opt.minimize(() => tf.sum(tf.mul(cT, tf.square(w))) as tf.Scalar, true, [w]) ?? []);
    const out = Array.from(w.dataSync());
    w.dispose();
    opt.dispose();
    return out;
  };
  const scaled = run(0.1, 0.25);
  const want = reference(w0, c, 3, 0.025, 0.5, 0.999);
  scaled.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-5, `${v} vs ${want[i]}`));
  // and differs from the unscaled run
  assert.ok(Math.abs(run(0.1, 1)[0]! - scaled[0]!) > 1e-3);
  cT.dispose();
});
