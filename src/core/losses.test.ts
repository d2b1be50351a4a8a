import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { expectNoLeaks } from '../testing/leaks.ts';
import { discriminatorLoss, generatorLoss, meanProbability } from './losses.ts';

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
