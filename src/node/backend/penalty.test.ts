/**
 * Gradient penalties (wgan-gp, R1) need double backprop: the gradient of grad_x D with
 * respect to D's weights. On native and wasm the Relu / LeakyRelu gradients run as
 * ForgerActivationGrad (native-gradients.ts), so that kernel's own gradient is what makes
 * the second pass work there. Each case computes the penalty's weight gradients on
 * native and wasm and compares them with the cpu backend's (TF.js's own gradients,
 * checked against finite differences in core/losses.test.ts), asserting that the kernel
 * ran; then a few wgan-gp training steps run on each backend.
 *
 * The native cases are skipped, with the reason, when the addon is not built.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { resolveConfig, type UserConfig } from '../../core/config.ts';
import { toySampler } from '../../core/data.ts';
import { gradientPenalty, inputGradient, interpolates, r1Penalty } from '../../core/losses.ts';
import { buildDiscriminator } from '../../core/models/index.ts';
import { Rng } from '../../core/rng.ts';
import { relError } from '../../testing/leaks.ts';
import { stepLosses } from '../../testing/train-losses.ts';
import { ACTIVATION_GRAD } from './native-gradients.ts';
import { NATIVE_BACKEND, registerNativeBackend } from './native.ts';
import { setupBackend } from './setup.ts';

const loaded = registerNativeBackend();
const nativeSkip = loaded.addon === null ? `native backend unavailable: ${loaded.reason}` : false;

before(async () => {
  await setupBackend('cpu');
  await setupBackend('wasm');
  if (!nativeSkip) await setupBackend('native');
});

function values(n: number, seed: number): Float32Array {
  const rng = new Rng(seed, 'penalty.test');
  return Float32Array.from({ length: n }, () => 2 * rng.next() - 1);
}

/** D's architectures: an MLP on 2D points (LeakyReLU), and a small strided-conv D on 8x8 images. */
const ARCHS: [string, UserConfig, string][] = [
  ['mlp 2-16-16-1', { model: { dWidths: [16, 16] } }, 'toy-ring8'],
  ['dcgan 8x8x1 -> 4 -> 8', { model: { arch: 'dcgan', dataShape: [8, 8, 1], baseSize: 4, gWidths: [8], dWidths: [4, 8], dBatchNorm: false, gBatchNorm: false } }, 'mnist-dcgan'],
];

interface Result {
  grads: Float32Array[];
  kernels: string[];
}

/** Weight gradients of wgan-gp's penalty plus R1 on `backend`, profiled; the tensor count must not move. */
async function penaltyGrads(backend: string, user: UserConfig, preset: string): Promise<Result> {
  await tf.setBackend(backend);
  const c = resolveConfig(user, preset);
  const D = buildDiscriminator(c.model, 3);
  const vars = D.trainableWeights.map((w) => w.read() as tf.Variable);
  const shape = [6, ...c.model.dataShape];
  const n = shape.reduce((a, b) => a * b, 1);
  const before = tf.memory().numTensors;
  const info = await tf.profile(() => {
    const real = tf.tensor(values(n, 1), shape);
    const fake = tf.tensor(values(n, 2), shape);
    const critic = (x: tf.Tensor) => D.apply(x, { training: true }) as tf.Tensor;
    const { value, grads } = tf.variableGrads(() => {
      const gp = inputGradient(critic, interpolates(real, fake, tf.tensor1d([0.1, 0.3, 0.5, 0.7, 0.9, 0.2])));
      const r1 = inputGradient(critic, real);
      return tf.add(gradientPenalty(gp.grad, 10), r1Penalty(r1.grad, 1)) as tf.Scalar;
    }, vars);
    tf.dispose([real, fake, value]);
    return vars.map((v) => grads[v.name] ?? tf.zerosLike(v));
  });
  const out = info.result as tf.Tensor[];
  const grads = out.map((t) => t.dataSync() as Float32Array);
  tf.dispose(out);
  D.dispose();
  assert.equal(tf.memory().numTensors, before - vars.length, `${backend}: tensors leaked`);
  return { grads, kernels: info.kernels.map((k) => k.name) };
}

describe('penalty gradients w.r.t. D weights match cpu, through ForgerActivationGrad', () => {
  for (const [name, user, preset] of ARCHS) {
    for (const backend of ['wasm', NATIVE_BACKEND]) {
      test(`${name} on ${backend}`, { skip: backend === NATIVE_BACKEND ? nativeSkip : false }, async () => {
        const cpu = await penaltyGrads('cpu', user, preset);
        const got = await penaltyGrads(backend, user, preset);
        assert.ok(!cpu.kernels.includes(ACTIVATION_GRAD), 'cpu runs TF.js gradients');
        cpu.grads.forEach((want, i) => {
          const err = relError(got.grads[i]!, want);
          assert.ok(err < 1e-4, `weight ${i}: relative error ${err}`);
        });
        // 2 LeakyReLUs x 2 input gradients (gp, R1) = 4 first-order runs, and 4 more for the
        // kernel's own gradient in the second pass (its dy part; its x part is zeros, which
        // the second pass carries back through the first layer's forward LeakyReLU: 2 more)
        const runs = got.kernels.filter((k) => k === ACTIVATION_GRAD).length;
        assert.ok(runs >= 8, `${backend}: ForgerActivationGrad ran ${runs} times`);
        // the kernels (conv and dense weights) have non-zero gradients: the check compares something
        assert.ok(Math.max(...Array.from(cpu.grads[0]!, Math.abs)) > 1e-3, 'first kernel gradient is non-zero');
      });
    }
  }
});

describe('wgan-gp with R1 trains on every backend: finite, no leaks, the same numbers as cpu', () => {
  const config = resolveConfig({ model: { gWidths: [16], dWidths: [16], dropout: 0.1 }, train: { steps: 4, batchSize: 16, gridSize: 8, loss: 'wgan-gp', r1Weight: 1 } }, 'toy-ring8');
  const losses = (backend: string): Promise<number[]> => stepLosses(backend, config, toySampler('ring8', 1));
  for (const backend of ['wasm', NATIVE_BACKEND]) {
    test(backend, { skip: backend === NATIVE_BACKEND ? nativeSkip : false }, async () => {
      const cpu = await losses('cpu');
      const got = await losses(backend);
      assert.ok(relError(got, cpu) < 1e-3, `${backend} ${got} vs cpu ${cpu}`);
    });
  }
});
