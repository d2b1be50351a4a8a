/**
 * The wasm training kernels against the cpu backend: each case builds its inputs
 * from the same arrays on both backends and compares the outputs (relError).
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { isForgerError } from '../../core/errors.ts';
import { expectNoLeaks, relError } from '../../testing/leaks.ts';
import { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from './kernels.ts';
import { setupBackend } from './setup.ts';

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | number;

const TOL = 1e-5;

/** Deterministic values in [-0.5, 0.5]. */
function values(shape: number[], seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const s = Math.sin((i + 1) * 12.9898 + seed * 78.233) * 43758.5453;
    out[i] = s - Math.floor(s) - 0.5;
  }
  return out;
}

function input(shape: Shape4, seed: number): tf.Tensor4D {
  return tf.tensor4d(values(shape, seed), shape);
}

/** Run `fn` on cpu, then on wasm (each builds its own tensors); the outputs' values, backend by backend. */
async function onBoth(fn: () => tf.Tensor | tf.Tensor[]): Promise<{ cpu: Float32Array[]; wasm: Float32Array[] }> {
  const run = async (backend: string): Promise<Float32Array[]> => {
    await tf.setBackend(backend);
    const out = tf.tidy(fn);
    const list = Array.isArray(out) ? out : [out];
    const data = list.map((t) => t.dataSync() as Float32Array);
    tf.dispose(list);
    return data;
  };
  const cpu = await run('cpu');
  const wasm = await run('wasm');
  return { cpu, wasm };
}

function assertClose(got: { cpu: Float32Array[]; wasm: Float32Array[] }, label: string, tol = TOL): void {
  got.cpu.forEach((c, i) => {
    const e = relError(got.wasm[i]!, c);
    assert.ok(e <= tol, `${label} [output ${i}]: relative error ${e.toExponential(2)} >= ${tol}`);
  });
}

/** Forward conv output size for a square side. */
function convOut(size: number, k: number, s: number, pad: Pad): number {
  if (pad === 'same') return Math.ceil(size / s);
  if (pad === 'valid') return Math.ceil((size - k + 1) / s);
  return Math.floor((size + 2 * pad - k) / s) + 1;
}

/** A forward conv2d: x [n, h, w, inC] * filter [k, k, inC, outC], stride s. */
interface ConvCase {
  n: number;
  h: number;
  w: number;
  inC: number;
  outC: number;
  k: number;
  s: number;
  pad: Pad;
}

const label = (c: ConvCase): string => `x ${c.n}x${c.h}x${c.w}x${c.inC}, k${c.k} s${c.s} ${c.pad}, outC ${c.outC}`;
const xShape = (c: ConvCase): Shape4 => [c.n, c.h, c.w, c.inC];
const fShape = (c: ConvCase): Shape4 => [c.k, c.k, c.inC, c.outC];
const yShape = (c: ConvCase): Shape4 => [c.n, convOut(c.h, c.k, c.s, c.pad), convOut(c.w, c.k, c.s, c.pad), c.outC];

// As transposed convs these read y -> x: 7->14, 14->28, 4->8, 5->11, ...
const CASES: ConvCase[] = [
  { n: 2, h: 14, w: 14, inC: 64, outC: 64, k: 4, s: 2, pad: 'same' }, // 7 -> 14, 64 -> 64 channels
  { n: 1, h: 28, w: 28, inC: 1, outC: 64, k: 4, s: 2, pad: 'same' }, // 14 -> 28, 64 -> 1
  { n: 3, h: 8, w: 8, inC: 3, outC: 3, k: 4, s: 2, pad: 'same' }, // 4 -> 8
  { n: 2, h: 13, w: 13, inC: 3, outC: 1, k: 4, s: 2, pad: 'same' }, // 7 -> 13 (odd output)
  { n: 2, h: 14, w: 14, inC: 1, outC: 3, k: 3, s: 2, pad: 'same' }, // odd kernel, even output
  { n: 1, h: 11, w: 11, inC: 3, outC: 1, k: 3, s: 2, pad: 'valid' }, // 5 -> 11
  { n: 4, h: 5, w: 5, inC: 3, outC: 64, k: 3, s: 1, pad: 'same' }, // 5x5 stride 1
  { n: 2, h: 5, w: 5, inC: 64, outC: 3, k: 5, s: 1, pad: 'same' },
  { n: 1, h: 9, w: 9, inC: 3, outC: 3, k: 5, s: 1, pad: 'valid' }, // 5 -> 9
  { n: 2, h: 8, w: 8, inC: 5, outC: 2, k: 5, s: 2, pad: 'same' }, // k5 s2: 4 -> 8
  { n: 2, h: 10, w: 10, inC: 2, outC: 3, k: 4, s: 3, pad: 'valid' }, // stride 3, unused last row
  { n: 3, h: 9, w: 9, inC: 2, outC: 2, k: 5, s: 3, pad: 'same' }, // stride 3 'same'
  { n: 2, h: 8, w: 8, inC: 3, outC: 4, k: 4, s: 2, pad: 1 }, // numeric padding
  { n: 2, h: 6, w: 9, inC: 3, outC: 2, k: 3, s: 2, pad: 'valid' }, // not square
  // As transposed convs with >= 16 output channels these take a conv per phase; the ones above, one conv of all phases
  { n: 2, h: 13, w: 13, inC: 16, outC: 3, k: 4, s: 2, pad: 'same' }, // odd output
  { n: 1, h: 11, w: 11, inC: 16, outC: 2, k: 3, s: 2, pad: 'valid' }, // phases of 3 and 2 taps
  { n: 2, h: 10, w: 10, inC: 16, outC: 3, k: 4, s: 3, pad: 'valid' }, // stride 3, unused last row
  { n: 3, h: 9, w: 9, inC: 16, outC: 2, k: 5, s: 3, pad: 'same' }, // stride 3 'same'
  { n: 2, h: 8, w: 8, inC: 16, outC: 4, k: 4, s: 2, pad: 1 }, // numeric padding
  { n: 2, h: 6, w: 9, inC: 17, outC: 2, k: 3, s: 2, pad: 'valid' }, // not square
  { n: 2, h: 6, w: 6, inC: 16, outC: 2, k: 4, s: 2, pad: 4 }, // padding past a kernel's worth: back to one conv
  { n: 1, h: 2, w: 9, inC: 16, outC: 3, k: 3, s: 3, pad: 'same' }, // fewer rows than phases: back to one conv
];

before(async () => {
  await setupBackend('cpu'); // mutes the cpu backend's Node banner
  await setupBackend('wasm');
});

describe('registerWasmTrainingKernels', () => {
  test('is idempotent and installs every kernel on wasm', () => {
    const before = WASM_TRAINING_KERNELS.map((k) => tf.getKernel(k, 'wasm')?.kernelFunc);
    registerWasmTrainingKernels();
    registerWasmTrainingKernels();
    const after = WASM_TRAINING_KERNELS.map((k) => tf.getKernel(k, 'wasm')?.kernelFunc);
    assert.deepEqual(after, before);
    assert.ok(after.every((f) => f !== undefined));
  });
});

describe('Conv2DBackpropFilter on wasm matches cpu', () => {
  for (const c of CASES) {
    test(label(c), async () => {
      const attrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC', filterShape: fShape(c) };
      const got = await onBoth(() => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: input(xShape(c), 1), dy: input(yShape(c), 2) }, attrs) as tf.Tensor);
      assertClose(got, label(c));
    });
  }

  test('rejects NCHW with E_BACKEND', () => {
    const attrs = { strides: 1, pad: 'valid', dataFormat: 'NCHW', filterShape: [1, 1, 2, 2] };
    assert.throws(
      () => tf.tidy(() => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: tf.ones([1, 2, 3, 3]), dy: tf.ones([1, 2, 3, 3]) }, attrs)),
      (e: unknown) => isForgerError(e) && e.code === 'E_BACKEND' && /NCHW/.test(e.message),
    );
  });
});

describe('Conv2DBackpropInput (conv2dTranspose) on wasm matches cpu', () => {
  for (const c of CASES) {
    test(label(c), async () => {
      // conv2dTranspose(y, filter) -> x: filter [k, k, inC, outC] maps outC channels back to inC
      const got = await onBoth(() => tf.conv2dTranspose(input(yShape(c), 3), input(fShape(c), 4), xShape(c), c.s, c.pad));
      assertClose(got, label(c));
    });
  }

  test('falls back to the stock kernel for NCHW', async () => {
    const attrs = { strides: 2, pad: 'same', dataFormat: 'NCHW', inputShape: [2, 3, 8, 8] };
    const got = await onBoth(() => tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: input([2, 4, 4, 4], 5), filter: input([3, 3, 3, 4], 6) }, attrs) as tf.Tensor);
    assertClose(got, 'NCHW fallback');
  });
});

describe('gradients on wasm match cpu', () => {
  const grads = [CASES[0]!, CASES[3]!, CASES[6]!, CASES[12]!];
  for (const c of grads) {
    test(`conv2d w.r.t. x and filter: ${label(c)}`, async () => {
      const got = await onBoth(() => {
        const w = input(yShape(c), 7);
        const f = (x: tf.Tensor, filter: tf.Tensor): tf.Tensor => tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, c.s, c.pad), w));
        return tf.grads(f)([input(xShape(c), 8), input(fShape(c), 9)]);
      });
      assertClose(got, label(c));
    });

    test(`conv2dTranspose w.r.t. input and filter: ${label(c)}`, async () => {
      const got = await onBoth(() => {
        const w = input(xShape(c), 10);
        const f = (y: tf.Tensor, filter: tf.Tensor): tf.Tensor =>
          tf.sum(tf.mul(tf.conv2dTranspose(y as tf.Tensor4D, filter as tf.Tensor4D, xShape(c), c.s, c.pad), w));
        return tf.grads(f)([input(yShape(c), 11), input(fShape(c), 12)]);
      });
      assertClose(got, label(c));
    });
  }

  test('gather w.r.t. params (UnsortedSegmentSum)', async () => {
    const got = await onBoth(() => {
      const ids = tf.tensor1d([3, 0, 3, 9, 1, 3], 'int32');
      return tf.grad((p: tf.Tensor) => tf.sum(tf.square(tf.gather(p, ids))))(tf.tensor2d(values([10, 16], 13), [10, 16]));
    });
    assertClose(got, 'gather grad');
  });
});

describe('other kernels on wasm match cpu', () => {
  test('unsortedSegmentSum drops ids out of range, float and int', async () => {
    const got = await onBoth(() => {
      const ids = tf.tensor1d([0, 2, 2, -1, 1, 5], 'int32');
      return [
        tf.unsortedSegmentSum(tf.tensor3d(values([6, 3, 4], 14), [6, 3, 4]), ids, 4),
        tf.cast(tf.unsortedSegmentSum(tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [6, 2], 'int32'), ids, 3), 'float32'),
      ];
    });
    assertClose(got, 'unsortedSegmentSum', 1e-6);
  });

  const tiles: [string, number[], number[], 'float32' | 'int32' | 'bool'][] = [
    ['batch-norm broadcast', [1, 1, 1, 64], [4, 3, 3, 1], 'float32'],
    ['2-D both axes', [2, 3], [2, 2], 'float32'],
    ['size-1 middle axis', [2, 1, 3], [1, 4, 2], 'float32'],
    ['int32', [3], [4], 'int32'],
    ['6 alternating axes', [2, 3, 2], [2, 2, 3], 'float32'],
    ['8 alternating axes (stock kernel)', [2, 3, 2, 3], [2, 2, 2, 2], 'float32'],
    ['bool (stock kernel)', [2, 2], [1, 3], 'bool'],
  ];
  for (const [name, shape, reps, dtype] of tiles) {
    test(`tile: ${name}`, async () => {
      const got = await onBoth(() => tf.cast(tf.tile(tf.cast(tf.tensor(values(shape, 15), shape).mul(8).round(), dtype), reps), 'float32'));
      assertClose(got, `tile ${name}`, 0);
    });
  }

  test('cast to bool is x != 0', async () => {
    const got = await onBoth(() => [
      tf.cast(tf.cast(tf.tensor1d([0, 0.5, -1, 2.5, 256, -0, NaN]), 'bool'), 'float32'),
      tf.cast(tf.cast(tf.tensor1d([0, 1, -1, 256, 512], 'int32'), 'bool'), 'float32'),
    ]);
    assertClose(got, 'cast to bool', 0);
  });

  test('tile keeps -0, NaN and Infinity', async () => {
    await tf.setBackend('wasm');
    const got = tf.tidy(() => tf.tile(tf.tensor([-0, NaN, Infinity], [1, 3]), [2, 1]).dataSync());
    assert.deepEqual(Array.from(got), [-0, NaN, Infinity, -0, NaN, Infinity]);
  });

  test('oneHot with dtype float32 and non-unit on/off values', async () => {
    const got = await onBoth(() => tf.oneHot(tf.tensor1d([0, 3, -1, 2], 'int32'), 4, 0.9, 0.1, 'float32'));
    assertClose(got, 'oneHot', 0);
  });
});

describe('BatchMatMul with transposes on wasm matches cpu', () => {
  const cases: [number[], number[], boolean, boolean][] = [
    [[64, 100], [256, 100], false, true], // dense forward with a transposed operand
    [[64, 1024], [64, 784], true, false], // dense weight gradient a^T g
    [[64, 784], [1024, 784], false, true], // dense input gradient g W^T
    [[7, 5], [3, 7], true, true],
    [[2, 6, 4], [2, 6, 3], true, false], // batched
    [[3, 4, 6], [3, 5, 6], false, true],
  ];
  for (const [aShape, bShape, tA, tB] of cases) {
    test(`[${aShape}]${tA ? '^T' : ''} x [${bShape}]${tB ? '^T' : ''}`, async () => {
      const got = await onBoth(() => tf.matMul(tf.tensor(values(aShape, 1), aShape), tf.tensor(values(bShape, 2), bShape), tA, tB));
      assertClose(got, 'matMul');
    });
  }
});

describe('memory', () => {
  test('the kernels and their gradients leak no tensors', async () => {
    await tf.setBackend('wasm');
    const c = CASES[0]!;
    const x = input(xShape(c), 1);
    const dy = input(yShape(c), 2);
    const f = input(fShape(c), 3);
    const ids = tf.tensor1d([2, 0, 2], 'int32');
    const p = tf.tensor2d(values([3, 4], 4), [3, 4]);
    await expectNoLeaks(() => {
      const outs = [
        tf.conv2dTranspose(dy, f, xShape(c), c.s, c.pad),
        ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad)))([x, f]),
        ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, xShape(c), c.s, c.pad)))([dy, f]),
        tf.grad((a: tf.Tensor) => tf.sum(tf.gather(a, ids)))(p),
        tf.oneHot(ids, 3, 1, 0, 'float32'),
        tf.tile(p, [2, 3]),
        tf.cast(p, 'bool'),
      ];
      tf.dispose(outs);
    });
    tf.dispose([x, dy, f, ids, p]);
  });
});

describe('a DCGAN step on wasm matches cpu', () => {
  const latent = 16;
  const batch = 4;
  // Seeded weights: with random ones a (leaky) ReLU input now and then sits within rounding of 0, and
  // the two backends then take different sides of the kink.
  const kernel = (seed: number): ReturnType<typeof tf.initializers.glorotUniform> => tf.initializers.glorotUniform({ seed });

  function generator(): tf.Sequential {
    const g = tf.sequential();
    g.add(tf.layers.dense({ inputShape: [latent], units: 7 * 7 * 128, kernelInitializer: kernel(1) }));
    g.add(tf.layers.reshape({ targetShape: [7, 7, 128] })); // [7, 7, 128]
    g.add(tf.layers.batchNormalization());
    g.add(tf.layers.reLU());
    g.add(tf.layers.conv2dTranspose({ filters: 64, kernelSize: 4, strides: 2, padding: 'same', kernelInitializer: kernel(2) })); // -> [14, 14, 64]
    g.add(tf.layers.batchNormalization());
    g.add(tf.layers.reLU());
    g.add(tf.layers.conv2dTranspose({ filters: 1, kernelSize: 4, strides: 2, padding: 'same', activation: 'tanh', kernelInitializer: kernel(3) })); // -> [28, 28, 1]
    return g;
  }

  function discriminator(): tf.Sequential {
    const d = tf.sequential();
    d.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 64, kernelSize: 4, strides: 2, padding: 'same', kernelInitializer: kernel(4) })); // -> [14, 14, 64]
    d.add(tf.layers.leakyReLU({ alpha: 0.2 }));
    d.add(tf.layers.conv2d({ filters: 128, kernelSize: 4, strides: 2, padding: 'same', kernelInitializer: kernel(5) })); // -> [7, 7, 128]
    d.add(tf.layers.batchNormalization());
    d.add(tf.layers.leakyReLU({ alpha: 0.2 }));
    d.add(tf.layers.flatten());
    d.add(tf.layers.dense({ units: 1, kernelInitializer: kernel(6) }));
    return d;
  }

  const variables = (m: tf.LayersModel): tf.Variable[] => m.trainableWeights.map((w) => w.read() as tf.Variable);

  /** One D update then one G update (plain SGD, so weight changes are the gradients); losses and weight changes. */
  async function step(backend: string, init: { g: Float32Array[]; d: Float32Array[] } | null): Promise<{ weights: { g: Float32Array[]; d: Float32Array[] }; losses: Float32Array; deltas: Float32Array[] }> {
    await tf.setBackend(backend);
    const G = generator();
    const D = discriminator();
    if (init !== null) {
      for (const [m, w] of [[G, init.g], [D, init.d]] as const) {
        const ts = m.getWeights().map((t, i) => tf.tensor(w[i]!, t.shape));
        m.setWeights(ts);
        tf.dispose(ts);
      }
    }
    const read = (m: tf.LayersModel): Float32Array[] => m.getWeights().map((t) => t.dataSync().slice() as Float32Array);
    const weights = { g: read(G), d: read(D) };
    const trainable = [...variables(D), ...variables(G)];
    const start = trainable.map((v) => v.dataSync().slice());
    const z = tf.tensor2d(values([batch, latent], 20), [batch, latent]);
    const real = tf.tensor4d(values([batch, 28, 28, 1], 21), [batch, 28, 28, 1]);
    const optD = tf.train.sgd(0.1);
    const optG = tf.train.sgd(0.1);
    // (1) D: minimise softplus(-D(x)) + softplus(D(G(z)))
    const lossD = optD.minimize(
      () => {
        const fake = G.apply(z, { training: true }) as tf.Tensor;
        const realLogits = D.apply(real, { training: true }) as tf.Tensor;
        const fakeLogits = D.apply(fake, { training: true }) as tf.Tensor;
        return tf.add(tf.mean(tf.softplus(tf.neg(realLogits))), tf.mean(tf.softplus(fakeLogits))) as tf.Scalar;
      },
      true,
      variables(D),
    )!;
    // (2) G: non-saturating, minimise softplus(-D(G(z)))
    const lossG = optG.minimize(() => tf.mean(tf.softplus(tf.neg(D.apply(G.apply(z, { training: true }) as tf.Tensor, { training: true }) as tf.Tensor))) as tf.Scalar, true, variables(G))!;
    const losses = Float32Array.from([lossD.dataSync()[0]!, lossG.dataSync()[0]!]);
    const deltas = trainable.map((v, i) => {
      const now = v.dataSync();
      return Float32Array.from(now, (x, j) => x - start[i]![j]!);
    });
    tf.dispose([lossD, lossG, z, real]);
    optD.dispose();
    optG.dispose();
    G.dispose();
    D.dispose();
    return { weights, losses, deltas };
  }

  test('one D and one G update through optimizer.minimize agree to 1e-4', async () => {
    const cpu = await step('cpu', null);
    const wasm = await step('wasm', cpu.weights);
    assert.ok(relError(wasm.losses, cpu.losses) < 1e-4, `losses ${wasm.losses} vs ${cpu.losses}`);
    // Errors relative to the largest update of any variable: a conv bias ahead of batch norm has a zero
    // gradient in exact arithmetic, so its own scale is rounding noise.
    const scale = Math.max(...cpu.deltas.map((d) => d.reduce((m, x) => Math.max(m, Math.abs(x)), 0)));
    cpu.deltas.forEach((d, i) => {
      const e = d.reduce((m, x, j) => Math.max(m, Math.abs(wasm.deltas[i]![j]! - x)), 0) / scale;
      assert.ok(e < 1e-4, `update of trainable variable ${i}: error ${e.toExponential(2)} of the largest update`);
    });
  });

  test('the other layers Forger builds (padding, cropping, dropout, sigmoid) give the same gradients', async () => {
    const got = await onBoth(() => {
      const m = tf.sequential();
      m.add(tf.layers.zeroPadding2d({ inputShape: [6, 6, 2], padding: 1 })); // -> [8, 8, 2]
      m.add(tf.layers.conv2d({ filters: 3, kernelSize: 4, strides: 2, padding: 'valid', kernelInitializer: kernel(7) })); // -> [3, 3, 3]
      m.add(tf.layers.conv2dTranspose({ filters: 2, kernelSize: 4, strides: 2, padding: 'valid', kernelInitializer: kernel(8) })); // -> [8, 8, 2]
      m.add(tf.layers.cropping2D({ cropping: 1 })); // -> [6, 6, 2]
      m.add(tf.layers.activation({ activation: 'sigmoid' }));
      m.add(tf.layers.dropout({ rate: 0.3, seed: 5 }));
      m.add(tf.layers.flatten());
      m.add(tf.layers.dense({ units: 1, kernelInitializer: kernel(9) }));
      const x = tf.tensor4d(values([3, 6, 6, 2], 22), [3, 6, 6, 2]);
      const { value, grads } = tf.variableGrads(() => tf.mean(tf.softplus(m.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar);
      const out = [value, ...Object.values(grads)];
      m.dispose();
      return out;
    });
    assertClose(got, 'layers', 1e-5);
  });
});
