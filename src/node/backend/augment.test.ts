/**
 * DiffAugment's gradient w.r.t. the image on every backend: TF.js's wasm backend has no
 * gradient for gather, so the ops are built from matMul, transpose and masks, whose gradients
 * exist everywhere. Each backend's gradient is compared with the cpu backend's (checked
 * against finite differences in core/augment.test.ts); then a few training steps with feature
 * matching, instance noise and DiffAugment run on each backend and give cpu's numbers.
 *
 * The native cases are skipped, with the reason, when the addon is not built.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { applyAugment, drawAugmentParams } from '../../core/augment.ts';
import { AUGMENT_OPS, resolveConfig } from '../../core/config.ts';
import { ImageSampler } from '../../core/data.ts';
import { Rng } from '../../core/rng.ts';
import { relError } from '../../testing/leaks.ts';
import { stepLosses } from '../../testing/train-losses.ts';
import { NATIVE_BACKEND, registerNativeBackend } from './native.ts';
import { setupBackend } from './setup.ts';

const loaded = registerNativeBackend();
const nativeSkip = loaded.addon === null ? `native backend unavailable: ${loaded.reason}` : false;

before(async () => {
  await setupBackend('cpu');
  await setupBackend('wasm');
  if (!nativeSkip) await setupBackend('native');
});

const [N, H, C] = [4, 8, 3];
const rng = new Rng(3, 'augment-backends');
const X = Float32Array.from({ length: N * H * H * C }, () => 2 * rng.next() - 1);
const W = Float32Array.from({ length: X.length }, () => 2 * rng.next() - 1);
const PARAMS = drawAugmentParams(AUGMENT_OPS, N, H, [-1, 1], rng);

async function augmentGrad(backend: string): Promise<{ y: Float32Array; g: Float32Array }> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const [y, g] = tf.tidy(() => {
    const x = tf.tensor4d(X, [N, H, H, C]);
    const w = tf.tensor4d(W, [N, H, H, C]);
    return [applyAugment(x, PARAMS), tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(applyAugment(xi, PARAMS), w)))(x)];
  });
  const out = { y: (await y.data()) as Float32Array, g: (await g.data()) as Float32Array };
  tf.dispose([y, g]);
  assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
  return out;
}

describe("DiffAugment's output and gradient match cpu", () => {
  for (const backend of ['wasm', NATIVE_BACKEND]) {
    test(backend, { skip: backend === NATIVE_BACKEND ? nativeSkip : false }, async () => {
      const cpu = await augmentGrad('cpu');
      const got = await augmentGrad(backend);
      assert.ok(relError(got.y, cpu.y) < 1e-5, `output: ${relError(got.y, cpu.y)}`);
      assert.ok(relError(got.g, cpu.g) < 1e-5, `gradient: ${relError(got.g, cpu.g)}`);
      assert.ok(Math.max(...Array.from(cpu.g, Math.abs)) > 0.1, 'the gradient is not all zeros');
    });
  }
});

describe('feature matching, instance noise and DiffAugment train on every backend: finite, no leaks, the same numbers as cpu', () => {
  const count = 16;
  const set = { shape: [8, 8, 1] as [number, number, number], count, pixels: Uint8Array.from({ length: count * 64 }, (_, i) => (i * 37) % 256), labels: null };
  const config = resolveConfig(
    {
      model: { dataShape: [8, 8, 1], baseSize: 2, gWidths: [8, 4], dWidths: [4, 8], dBatchNorm: false },
      train: { steps: 4, batchSize: 8, gridSize: 4, r1Weight: 1, featureMatching: 1, instanceNoise: 0.1, diffAugment: 'color,translation,cutout' },
    },
    'mnist-dcgan',
  );
  const losses = (backend: string): Promise<number[]> => stepLosses(backend, config, new ImageSampler(set, [-1, 1], 1));
  for (const backend of ['wasm', NATIVE_BACKEND]) {
    test(backend, { skip: backend === NATIVE_BACKEND ? nativeSkip : false }, async () => {
      const cpu = await losses('cpu');
      const got = await losses(backend);
      assert.ok(relError(got, cpu) < 1e-3, `${backend} ${got} vs cpu ${cpu}`);
    });
  }
});
