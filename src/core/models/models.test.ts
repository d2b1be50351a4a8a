import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { expectNoLeaks } from '../../testing/leaks.ts';
import { PRESETS, resolveConfig } from '../config.ts';
import { ForgerError } from '../errors.ts';
import { convOut, convPlan, convTransposeOut, convTransposePlan } from './conv-arith.ts';
import { buildDiscriminator, buildGenerator, buildModels, disposeModels } from './index.ts';

before(async () => {
  await tf.setBackend('cpu');
});

const expected: Record<string, { g: number[]; d: number[] }> = {
  'mnist-mlp': { g: [28, 28, 1], d: [1] },
  'mnist-dcgan': { g: [28, 28, 1], d: [1] },
  'fashion-dcgan': { g: [28, 28, 1], d: [1] },
  'folder-dcgan64': { g: [64, 64, 3], d: [1] },
  'toy-spiral': { g: [2], d: [1] },
  'toy-ring8': { g: [2], d: [1] },
  'toy-grid25': { g: [2], d: [1] },
  'circles-3x3': { g: [3, 3, 1], d: [1] },
};

test('every preset has a shape expectation', () => {
  assert.deepEqual(Object.keys(expected).sort(), Object.keys(PRESETS).sort());
});

for (const [name, want] of Object.entries(expected)) {
  test(`${name}: G and D shapes`, () => {
    const c = resolveConfig({}, name);
    const m = buildModels(c.model, 1);
    assert.deepEqual(m.generator.inputs[0]!.shape, [null, c.model.latentDim]);
    assert.deepEqual(m.generator.outputs[0]!.shape, [null, ...want.g]);
    assert.deepEqual(m.discriminator.inputs[0]!.shape, [null, ...want.g]);
    assert.deepEqual(m.discriminator.outputs[0]!.shape, [null, ...want.d]);
    disposeModels(m);
  });
}

test("seed 000's 64x64 generator: 4x4x512 -> 8x8x256 -> 16x16x128 -> 32x32x64 -> 64x64x3", () => {
  const g = buildGenerator(resolveConfig({}, 'folder-dcgan64').model, 1);
  const shapes = g.layers.filter((l) => ['Reshape', 'Conv2DTranspose'].includes(l.getClassName())).map((l) => l.outputShape);
  assert.deepEqual(shapes, [
    [null, 4, 4, 512],
    [null, 8, 8, 256],
    [null, 16, 16, 128],
    [null, 32, 32, 64],
    [null, 64, 64, 3],
  ]);
  assert.equal(g.layers[g.layers.length - 1]!.getConfig().activation, 'tanh');
  g.dispose();
});

test('seed 002 MLP parameter counts (z100-256-1024-784, 784-1024-512-1)', () => {
  const c = resolveConfig({ model: { gBatchNorm: false } }, 'mnist-mlp').model;
  const g = buildGenerator(c, 1);
  const d = buildDiscriminator(c, 1);
  assert.equal(g.countParams(), 100 * 256 + 256 + 256 * 1024 + 1024 + 1024 * 784 + 784);
  assert.equal(d.countParams(), 784 * 1024 + 1024 + 1024 * 512 + 512 + 512 + 1);
  // The preset adds batch norm to G: gamma, beta, moving mean and variance per hidden unit.
  const gbn = buildGenerator(resolveConfig({}, 'mnist-mlp').model, 1);
  assert.equal(gbn.countParams(), g.countParams() + 4 * (256 + 1024));
  gbn.dispose();
  g.dispose();
  d.dispose();
});

test('the same seed gives the same initial weights', () => {
  const c = resolveConfig({}, 'mnist-dcgan').model;
  const a = buildGenerator(c, 5);
  const b = buildGenerator(c, 5);
  const e = buildGenerator(c, 6);
  const w = (m: tf.LayersModel) => m.getWeights()[0]!.dataSync().slice(0, 20);
  assert.deepEqual(Array.from(w(a)), Array.from(w(b)));
  assert.notDeepEqual(Array.from(w(a)), Array.from(w(e)));
  [a, b, e].forEach((m) => m.dispose());
});

test('conv arithmetic follows out = floor((in + 2p - k)/s) + 1 and (in - 1)s - 2p + k', () => {
  assert.equal(convOut(28, { kernel: 4, stride: 2, padding: 1 }), 14);
  assert.equal(convOut(7, { kernel: 3, stride: 2, padding: 0 }), 3);
  assert.equal(convTransposeOut(7, { kernel: 4, stride: 2, padding: 1 }), 14);
  assert.equal(convTransposeOut(4, { kernel: 5, stride: 2, padding: 2 }), 7);
  assert.deepEqual(convPlan('c', 28, { kernel: 4, stride: 2, padding: 1 }), { out: 14, tfPadding: 'same', pad: 0 });
  assert.deepEqual(convPlan('c', 28, { kernel: 3, stride: 1, padding: 0 }), { out: 26, tfPadding: 'valid', pad: 0 });
  assert.deepEqual(convPlan('c', 28, { kernel: 5, stride: 2, padding: 1 }), { out: 13, tfPadding: 'valid', pad: 1 });
  assert.deepEqual(convTransposePlan('t', 4, { kernel: 5, stride: 2, padding: 1 }), { out: 9, tfPadding: 'valid', crop: 1 });
});

test('non-"same" geometries build with padding/cropping layers and the right shapes', () => {
  const c = resolveConfig({ model: { kernelSize: 3, stride: 2, padding: 0, baseSize: 6, dataShape: [27, 27, 1], gWidths: [16, 8] } }, 'mnist-dcgan');
  // G: 6 -> (6-1)*2+3 = 13 -> 27
  const m = buildModels(c.model, 1);
  assert.deepEqual(m.generator.outputs[0]!.shape, [null, 27, 27, 1]);
  assert.deepEqual(m.discriminator.outputs[0]!.shape, [null, 1]);
  disposeModels(m);
});

test('impossible sizes are one-line E_SHAPE errors naming the layer and the numbers', () => {
  const g = resolveConfig({ model: { dataShape: [30, 30, 1] } }, 'mnist-dcgan').model;
  assert.throws(
    () => buildGenerator(g, 1),
    (e: unknown) => e instanceof ForgerError && e.code === 'E_SHAPE' && /imageSize 30 cannot be reached by 2 stride-2 transposed convs .* from 7x7 \(got 28\)/.test(e.message),
  );
  const d = resolveConfig({ model: { dataShape: [3, 3, 1], baseSize: 1, gWidths: [8, 8], dWidths: [8, 8, 8], kernelSize: 4, padding: 0 } }, 'mnist-dcgan').model;
  assert.throws(
    () => buildDiscriminator(d, 1),
    (e: unknown) => e instanceof ForgerError && e.code === 'E_SHAPE' && /discriminator conv1: a 4x4 conv with stride 2 and padding 0 cannot run on 3x3 \(out = floor\(\(3 \+ 2\*0 - 4\) \/ 2\) \+ 1 = 0\)/.test(e.message),
  );
  assert.equal(tf.memory().numTensors >= 0, true);
});

test('building and disposing models leaks no tensors', async () => {
  const c = resolveConfig({}, 'mnist-dcgan').model;
  await expectNoLeaks(() => disposeModels(buildModels(c, 1)));
});
