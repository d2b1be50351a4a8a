/**
 * The unfused Dense / Conv2D layers (unfused.ts) against the stock tf.layers ones
 * with the same weights, on the cpu backend: outputs and gradients with training
 * on (unfused ops) and off (the stock fused call), which kernels each path runs,
 * and that saved models name and load them as stock layers.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { expectNoLeaks } from '../../testing/leaks.ts';
import { conv2d, dense } from './unfused.ts';

const TOL = 1e-5;

before(async () => {
  await tf.setBackend('cpu');
});

/** Deterministic values in [-1, 1). */
function rand(shape: number[], seed: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, (_, i) => {
      const s = Math.sin((i + 1) * 12.9898 + seed * 78.233) * 43758.5453;
      return 2 * (s - Math.floor(s)) - 1;
    }),
    shape,
  );
}

function assertClose(got: tf.Tensor, want: tf.Tensor, label: string): void {
  assert.deepEqual(got.shape, want.shape, `${label}: shape`);
  const g = Array.from(got.dataSync());
  const w = Array.from(want.dataSync());
  const err = w.reduce((m, x, i) => Math.max(m, Math.abs(g[i]! - x)), 0);
  assert.ok(err <= TOL, `${label}: max abs error ${err}`);
}

interface Case {
  name: string;
  make: (unfused: boolean) => tf.layers.Layer;
  input: number[];
}

const CASES: Case[] = [
  { name: 'dense relu', make: (u) => (u ? dense : tf.layers.dense)({ units: 6, activation: 'relu' }), input: [4, 5] },
  { name: 'dense linear, no bias', make: (u) => (u ? dense : tf.layers.dense)({ units: 3, useBias: false }), input: [3, 7] },
  { name: 'dense tanh', make: (u) => (u ? dense : tf.layers.dense)({ units: 8, activation: 'tanh' }), input: [2, 8] },
  { name: 'conv2d 3x3 stride 2 same, relu', make: (u) => (u ? conv2d : tf.layers.conv2d)({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }), input: [2, 7, 7, 3] },
  { name: 'conv2d 4x4 stride 2 valid, linear', make: (u) => (u ? conv2d : tf.layers.conv2d)({ filters: 5, kernelSize: 4, strides: 2, padding: 'valid' }), input: [2, 9, 9, 2] },
  { name: 'conv2d 3x3 stride 1 same, no bias, sigmoid', make: (u) => (u ? conv2d : tf.layers.conv2d)({ filters: 2, kernelSize: 3, padding: 'same', useBias: false, activation: 'sigmoid' }), input: [1, 5, 5, 3] },
];

/** A stock layer and an unfused one, built, with the stock one's (seeded) weights in both. */
function pair(c: Case): { stock: tf.layers.Layer; unfused: tf.layers.Layer } {
  const stock = c.make(false);
  const unfused = c.make(true);
  const shape = [null, ...c.input.slice(1)];
  stock.build(shape);
  unfused.build(shape);
  const weights = stock.getWeights().map((w, i) => rand(w.shape, 10 + i));
  stock.setWeights(weights);
  unfused.setWeights(weights);
  tf.dispose(weights);
  return { stock, unfused };
}

/** Free a layer's weights (Layer.dispose() wants a layer that was applied symbolically). */
const release = (...layers: tf.layers.Layer[]): void => layers.forEach((l) => tf.dispose(l.weights.map((w) => w.read())));

const apply = (layer: tf.layers.Layer, x: tf.Tensor, training: boolean): tf.Tensor => layer.apply(x, { training }) as tf.Tensor;

/** Value and gradients w.r.t. the layer's weights (kernel, then bias) of sum(layer(x) * w). */
function gradsOf(layer: tf.layers.Layer, x: tf.Tensor, w: tf.Tensor, training: boolean): tf.Tensor[] {
  const vars = layer.trainableWeights.map((v) => v.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(apply(layer, x, training), w)) as tf.Scalar, vars);
  return [value, ...vars.map((v) => grads[v.name]!)];
}

describe('unfused layers match the stock ones', () => {
  for (const c of CASES) {
    test(`${c.name}: outputs and gradients w.r.t. kernel and bias, training on and off`, () => {
      const { stock, unfused } = pair(c);
      tf.tidy(() => {
        const x = rand(c.input, 1);
        const ref = apply(stock, x, true);
        const w = rand(ref.shape, 2);
        const refGrads = gradsOf(stock, x, w, true);
        for (const training of [true, false]) {
          assertClose(apply(unfused, x, training), ref, `${c.name} output, training ${training}`);
          assert.equal(unfused.trainableWeights.length, stock.trainableWeights.length);
          gradsOf(unfused, x, w, training).forEach((g, i) => assertClose(g, refGrads[i]!, `${c.name} ${i === 0 ? 'value' : `grad ${i - 1}`}, training ${training}`));
        }
      });
      release(stock, unfused);
    });
  }
});

describe('which ops run', () => {
  const kernelsOf = async (fn: () => tf.Tensor): Promise<string[]> => {
    const info = await tf.profile(() => tf.tidy(fn));
    (info.result as tf.Tensor).dispose();
    return info.kernels.map((k) => k.name);
  };

  test('dense: unfused matMul + add + relu in training, the fused matMul otherwise', async () => {
    const { stock, unfused } = pair(CASES[0]!);
    const x = rand([4, 5], 3);
    const train = await kernelsOf(() => apply(unfused, x, true));
    assert.ok(train.includes('BatchMatMul') && train.includes('Add') && train.includes('Relu') && !train.includes('_FusedMatMul'), train.join(', '));
    assert.ok((await kernelsOf(() => apply(unfused, x, false))).includes('_FusedMatMul'));
    assert.ok((await kernelsOf(() => apply(stock, x, true))).includes('_FusedMatMul'), 'the stock layer fuses in training');
    // lazy gradients: only the kernel's gradient is asked for, so no gradient w.r.t. x (one matMul forward, one back)
    const kernel = unfused.trainableWeights[0]!.read() as tf.Variable;
    const info = await tf.profile(() => tf.tidy(() => Object.values(tf.variableGrads(() => tf.sum(apply(unfused, x, true)) as tf.Scalar, [kernel]).grads)));
    tf.dispose(info.result as tf.Tensor[]);
    assert.equal(info.kernels.filter((k) => k.name === 'BatchMatMul').length, 2, info.kernelNames.join(', '));
    tf.dispose([x]);
    release(stock, unfused);
  });

  test('conv2d: unfused conv2d + add in training, the fused conv otherwise; dilated convs stay stock', async () => {
    const { unfused } = pair(CASES[3]!);
    const x = rand([2, 7, 7, 3], 4);
    const train = await kernelsOf(() => apply(unfused, x, true));
    assert.ok(train.includes('Conv2D') && train.includes('Add') && !train.includes('FusedConv2D'), train.join(', '));
    assert.ok((await kernelsOf(() => apply(unfused, x, false))).includes('FusedConv2D'));
    const dilated = conv2d({ filters: 2, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'relu' });
    assert.ok((await kernelsOf(() => apply(dilated, x, true))).includes('FusedConv2D'), 'a dilated conv takes the stock call');
    tf.dispose([x]);
    release(unfused, dilated);
  });

  test('a training pass with gradients leaks no tensors', async () => {
    const { stock, unfused } = pair(CASES[3]!);
    const x = rand([2, 7, 7, 3], 5);
    const w = tf.tidy(() => rand(apply(stock, x, true).shape, 6));
    await expectNoLeaks(() => tf.dispose(gradsOf(unfused, x, w, true)));
    tf.dispose([x, w]);
    release(stock, unfused);
  });
});

describe('serialisation', () => {
  test("a sequential model of them saves class names 'Conv2D' / 'Dense' and loads back as stock layers", async () => {
    const model = tf.sequential();
    model.add(conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }));
    model.add(tf.layers.flatten());
    model.add(dense({ units: 2, activation: 'tanh' }));
    const json = model.toJSON(null, false) as tf.serialization.ConfigDict;
    const layers = (json['config'] as tf.serialization.ConfigDict)['layers'] as { class_name: string }[];
    assert.deepEqual(
      layers.map((l) => l.class_name),
      ['Conv2D', 'Flatten', 'Dense'],
    );
    assert.deepEqual(
      model.layers.map((l) => l.getClassName()),
      ['Conv2D', 'Flatten', 'Dense'],
    );

    const loaded = await tf.models.modelFromJSON({ modelTopology: json });
    const stockConv = tf.layers.conv2d({ filters: 1, kernelSize: 1 });
    const stockDense = tf.layers.dense({ units: 1 });
    assert.equal(loaded.layers[0]!.constructor, stockConv.constructor, 'Conv2D loads as the stock class');
    assert.equal(loaded.layers[2]!.constructor, stockDense.constructor, 'Dense loads as the stock class');
    assert.notEqual(model.layers[0]!.constructor, stockConv.constructor, 'the saved layer was the unfused class');
    assert.deepEqual(loaded.layers[0]!.getConfig(), model.layers[0]!.getConfig());
    assert.deepEqual(loaded.layers[2]!.getConfig(), model.layers[2]!.getConfig());
    loaded.setWeights(model.getWeights());
    tf.tidy(() => {
      const x = rand([3, 6, 6, 2], 7);
      assertClose(loaded.predict(x) as tf.Tensor, model.apply(x, { training: true }) as tf.Tensor, 'loaded model vs unfused training pass');
    });
    [model, loaded].forEach((m) => m.dispose());
  });
});
