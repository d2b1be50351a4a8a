/**
 * The wasm fast ops (wasm-fast-ops.ts: LeakyRelu as Prelu, Tanh through Sigmoid,
 * Slice as heap copies, Sum / Mean over leading axes as AvgPool, Identity as a
 * shared buffer) against the cpu
 * backend. The wasm run is profiled, so each case also asserts that the fast path
 * ran (its inner kernel shows up) or, for the cases that must fall back, that it
 * did not; Slice, which has no inner kernel, is spied on through the backend's
 * heap reads. Every run must leave the tensor and data-buffer counts as they were.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { relError } from '../../testing/leaks.ts';
import { registerWasmTrainingKernels } from './kernels.ts';
import { setupBackend } from './setup.ts';
import { WASM_FAST_OPS } from './wasm-fast-ops.ts';

const ABS = 1e-5; // element-wise
const REL = 1e-4; // sums and means
/** 8192 elements: past the fast ops' 4096-element threshold. */
const BIG = [8, 8, 8, 16];

/** Deterministic values in [lo, hi). */
function values(n: number, seed: number, lo = -2, hi = 2): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => {
    const s = Math.sin((i + 1) * 12.9898 + seed * 78.233) * 43758.5453;
    return lo + (hi - lo) * (s - Math.floor(s));
  });
}

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
const rand = (shape: number[], seed: number): tf.Tensor => tf.tensor(values(size(shape), seed), shape);
/** Small integers as int32. */
const ints = (shape: number[], seed: number): tf.Tensor => tf.tensor(Int32Array.from(values(size(shape), seed, -50, 50), Math.floor), shape, 'int32');

interface Out {
  shape: number[];
  dtype: string;
  data: number[];
}

/** Run `fn` on cpu and (profiled) on wasm: the outputs and the kernels wasm ran. Asserts nothing leaked on either. */
async function onBoth(fn: () => tf.Tensor | tf.Tensor[]): Promise<{ cpu: Out[]; wasm: Out[]; kernels: string[] }> {
  const run = async (backend: string): Promise<{ outs: Out[]; kernels: string[] }> => {
    await tf.setBackend(backend);
    const count = (): number[] => [tf.memory().numTensors, tf.memory().numDataBuffers];
    const before = count();
    const info = await tf.profile(() => tf.tidy(() => [fn()].flat()));
    const list = info.result as tf.Tensor[];
    const outs = list.map((t) => ({ shape: t.shape, dtype: t.dtype, data: Array.from(t.dataSync() as ArrayLike<number>) }));
    tf.dispose(list);
    assert.deepEqual(count(), before, `${backend}: [tensors, data buffers] changed`);
    return { outs, kernels: info.kernelNames };
  };
  const cpu = await run('cpu');
  const wasm = await run('wasm');
  return { cpu: cpu.outs, wasm: wasm.outs, kernels: wasm.kernels };
}

function sameLayout(got: { cpu: Out[]; wasm: Out[] }, label: string): void {
  got.cpu.forEach((c, i) => {
    assert.deepEqual(got.wasm[i]!.shape, c.shape, `${label}: shape`);
    assert.equal(got.wasm[i]!.dtype, c.dtype, `${label}: dtype`);
  });
}

/** |wasm - cpu| <= ABS everywhere, NaN where cpu has NaN. */
function assertAbsClose(got: { cpu: Out[]; wasm: Out[] }, label: string): void {
  sameLayout(got, label);
  got.cpu.forEach((c, i) =>
    c.data.forEach((want, j) => {
      const have = got.wasm[i]!.data[j]!;
      if (Number.isNaN(want)) assert.ok(Number.isNaN(have), `${label} [${i}][${j}]: ${have}, want NaN`);
      else assert.ok(Math.abs(have - want) <= ABS, `${label} [${i}][${j}]: ${have} vs cpu ${want}`);
    }),
  );
}

function assertRelClose(got: { cpu: Out[]; wasm: Out[] }, label: string): void {
  sameLayout(got, label);
  got.cpu.forEach((c, i) => {
    const e = relError(got.wasm[i]!.data, c.data);
    assert.ok(e <= REL, `${label} [${i}]: relative error ${e.toExponential(2)} > ${REL}`);
  });
}

function assertKernels(kernels: string[], expect: { has?: string[]; not?: string[] }, label: string): void {
  for (const k of expect.has ?? []) assert.ok(kernels.includes(k), `${label}: ${k} expected on wasm (ran ${kernels.join(', ')})`);
  for (const k of expect.not ?? []) assert.ok(!kernels.includes(k), `${label}: ${k} must not run on wasm (ran ${kernels.join(', ')})`);
}

/** Random values of `shape` with `specials` (exact zeros, -0, large |x|, ...) at the front. */
function withSpecials(shape: number[], seed: number, specials: number[]): tf.Tensor {
  const v = values(size(shape), seed);
  v.set(specials);
  return tf.tensor(v, shape);
}

before(async () => {
  await setupBackend('cpu'); // mutes the cpu backend's Node banner
  await setupBackend('wasm');
});

describe('LeakyRelu (alpha 0.2) on wasm matches cpu', () => {
  const cases: [string, number[], boolean][] = [
    ['rank 2, 64x96', [64, 96], true],
    ['rank 4, 4x8x8x32', [4, 8, 8, 32], true],
    ['rank 1, 5000', [5000], true],
    ['small 8x8 (stock kernel)', [8, 8], false],
  ];
  for (const [name, shape, fast] of cases) {
    test(name, async () => {
      const got = await onBoth(() => tf.leakyRelu(withSpecials(shape, 1, [0, -0, -1, 1, -1e-30, 3]), 0.2));
      assertAbsClose(got, name);
      assertKernels(got.kernels, fast ? { has: ['Prelu'] } : { not: ['Prelu'] }, name);
    });
  }

  test('gradient (tf.grad) on a 4x8x8x32 input', async () => {
    const shape = [4, 8, 8, 32];
    const got = await onBoth(() => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(x, 0.2), rand(shape, 3))))(withSpecials(shape, 2, [0, -0, -1, 1])));
    assertAbsClose(got, 'leakyRelu grad');
    assertKernels(got.kernels, { has: ['Prelu', 'ForgerActivationGrad'] }, 'leakyRelu grad');
  });
});

describe('Tanh on wasm matches cpu', () => {
  const specials = [0, -0, 30, -30, 1e-4, -1e-4, 9, -9, NaN, Infinity, -Infinity];
  const cases: [string, number[], boolean][] = [
    ['rank 2, 64x96', [64, 96], true],
    ['rank 4, 2x16x16x8', [2, 16, 16, 8], true],
    ['small 100 (stock kernel)', [100], false],
  ];
  for (const [name, shape, fast] of cases) {
    test(name, async () => {
      const got = await onBoth(() => tf.tanh(withSpecials(shape, 4, specials)));
      assertAbsClose(got, name);
      assertKernels(got.kernels, fast ? { has: ['Sigmoid'] } : { not: ['Sigmoid'] }, name);
      const w = got.wasm[0]!.data;
      assert.deepEqual([w[0], w[2], w[3]], [0, 1, -1], 'tanh(0) = 0, tanh(+-30) = +-1 exactly');
    });
  }

  test('gradient (tf.grad) on a 64x96 input', async () => {
    const got = await onBoth(() => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.tanh(x), rand([64, 96], 6))))(withSpecials([64, 96], 5, [0, 30, -30])));
    assertAbsClose(got, 'tanh grad');
    assertKernels(got.kernels, { has: ['Sigmoid'] }, 'tanh grad');
  });
});

describe('Slice on wasm matches cpu exactly', () => {
  const cases: [number[], number[], number[], string][] = [
    [[5000], [0], [-1], 'rank 1 whole'],
    [[5000], [100], [3000], 'rank 1 run'],
    [[5000], [4999], [1], 'rank 1 last element'],
    [[5000], [17], [0], 'rank 1 empty'],
    [[64, 80], [3, 0], [10, -1], 'rank 2 whole rows (contiguous)'],
    [[64, 80], [0, 5], [-1, 7], 'rank 2 inner-axis partial'],
    [[64, 80], [63, 79], [1, 1], 'rank 2 last corner'],
    [[16, 16, 20], [0, 0, 4], [-1, -1, 1], 'rank 3 channel of size 1'],
    [[16, 16, 20], [2, 3, 0], [5, -1, -1], 'rank 3 leading block'],
    [[16, 16, 20], [15, 15, 0], [1, 1, 20], 'rank 3 begin at the ends'],
    [[4, 10, 10, 16], [0, 0, 0, 7], [-1, -1, -1, 1], 'rank 4 channel of size 1'],
    [[4, 10, 10, 16], [1, 2, 3, 4], [2, 5, -1, 8], 'rank 4 partial on every axis'],
    [[4, 10, 10, 16], [3, 9, 9, 15], [1, 1, 1, 1], 'rank 4 last element'],
    [[4, 10, 10, 16], [3, 9, 0, 0], [-1, -1, -1, -1], 'rank 4 size -1 from the ends'],
    [[4, 10, 10, 16], [0, 0, 0, 0], [4, 10, 10, 16], 'rank 4 whole'],
  ];
  for (const dtype of ['float32', 'int32'] as const) {
    for (const [shape, begin, sz, name] of cases) {
      test(`${dtype} ${name}: [${shape}] begin [${begin}] size [${sz}]`, async () => {
        const make = (): tf.Tensor => (dtype === 'int32' ? ints(shape, 7) : rand(shape, 7));
        const got = await onBoth(() => tf.slice(make(), begin, sz));
        sameLayout(got, name);
        assert.deepEqual(got.wasm[0]!.data, got.cpu[0]!.data);
        if (size(got.cpu[0]!.shape) > 0) {
          const reads = sliceReadsOfX(make, begin, sz);
          assert.ok(reads.heap > 0 && reads.readSync === 0, `${name}: the heap-copy slice did not run (x read ${reads.heap}x from the heap, ${reads.readSync}x by readSync)`);
        }
      });
    }
  }
});

/**
 * How a wasm slice read its input: Forger's kernel takes views of the heap
 * (typedArrayFromHeap), the stock one copies x out with readSync.
 */
function sliceReadsOfX(make: () => tf.Tensor, begin: number[], sz: number[]): { heap: number; readSync: number } {
  assert.equal(tf.getBackend(), 'wasm');
  const backend = tf.backend() as BackendWasm;
  const { typedArrayFromHeap, readSync } = backend;
  const x = make();
  const reads = { heap: 0, readSync: 0 };
  backend.typedArrayFromHeap = (t) => ((reads.heap += t.dataId === x.dataId ? 1 : 0), typedArrayFromHeap.call(backend, t));
  backend.readSync = (dataId) => ((reads.readSync += dataId === x.dataId ? 1 : 0), readSync.call(backend, dataId));
  try {
    tf.slice(x, begin, sz).dispose();
  } finally {
    backend.typedArrayFromHeap = typedArrayFromHeap;
    backend.readSync = readSync;
    x.dispose();
  }
  return reads;
}

describe('Sum and Mean on wasm match cpu', () => {
  const X = BIG;
  type Case = [string, number[], number | number[] | undefined, boolean, boolean, 'float32' | 'int32'];
  const cases: Case[] = [
    ['axis 0', X, 0, false, true, 'float32'],
    ['axes [0, 1]', X, [0, 1], false, true, 'float32'],
    ['axes [0, 1, 2]', X, [0, 1, 2], false, true, 'float32'],
    ['axes [0, 1, 2] keepDims', X, [0, 1, 2], true, true, 'float32'],
    ['axis 0 keepDims', X, 0, true, true, 'float32'],
    ['axis -4 (= 0)', X, -4, false, true, 'float32'],
    ['axes [-4, -3] keepDims (= [0, 1])', X, [-4, -3], true, true, 'float32'],
    ['axes [1, 0] (unsorted)', X, [1, 0], false, true, 'float32'],
    ['rank 2 axis 0', [64, 128], 0, false, true, 'float32'],
    ['trailing axis 3 (stock)', X, 3, false, false, 'float32'],
    ['trailing axes [2, 3] (stock)', X, [2, 3], true, false, 'float32'],
    ['middle axes [1, 2] (stock)', X, [1, 2], false, false, 'float32'],
    ['axis -1 (stock)', X, -1, false, false, 'float32'],
    ['all axes, implicit (stock)', X, undefined, false, false, 'float32'],
    ['all axes [0, 1, 2, 3] (stock)', X, [0, 1, 2, 3], true, false, 'float32'],
    ['small 4x4x4x4 axis 0 (stock)', [4, 4, 4, 4], 0, false, false, 'float32'],
    ['int32 axis 0 (stock)', X, 0, false, false, 'int32'],
  ];
  for (const op of ['sum', 'mean'] as const) {
    for (const [name, shape, axis, keepDims, fast, dtype] of cases) {
      test(`${op} ${name}`, async () => {
        const got = await onBoth(() => tf[op](dtype === 'int32' ? ints(shape, 8) : rand(shape, 8), axis, keepDims));
        assertRelClose(got, `${op} ${name}`);
        assertKernels(got.kernels, fast ? { has: ['AvgPool'] } : { not: ['AvgPool'] }, `${op} ${name}`);
      });
    }
  }

  test('gradient of a leading-axis mean (batch-norm style) matches cpu', async () => {
    const got = await onBoth(() => tf.grad((x: tf.Tensor) => tf.sum(tf.square(tf.mean(x, [0, 1, 2]))))(rand(X, 9)));
    assertRelClose(got, 'mean grad');
    assertKernels(got.kernels, { has: ['AvgPool'] }, 'mean grad');
  });
});

describe('Identity on wasm shares the data', () => {
  test('same values, one data buffer for both, freed with the last reference', async () => {
    await tf.setBackend('wasm');
    const before = [tf.memory().numTensors, tf.memory().numDataBuffers];
    const x = rand(BIG, 13);
    const y = tf.engine().runKernel(tf.Identity, { x }) as tf.Tensor;
    assert.equal(y.dataId, x.dataId, 'identity returned a copy');
    assert.equal((tf.backend() as BackendWasm).refCount(x.dataId), 2);
    const want = Array.from(x.dataSync());
    x.dispose();
    assert.deepEqual(Array.from(y.dataSync()), want, 'values after the input was disposed');
    y.dispose();
    assert.deepEqual([tf.memory().numTensors, tf.memory().numDataBuffers], before);
  });

  for (const dtype of ['float32', 'int32', 'bool'] as const) {
    test(`${dtype}: tf.clone and a gradient through identity match cpu`, async () => {
      const got = await onBoth(() => {
        const x = tf.cast(rand(BIG, 14), dtype);
        return dtype === 'float32' ? [tf.clone(x), tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.clone(v), v)))(x)] : [tf.clone(x)];
      });
      assertAbsClose(got, `identity ${dtype}`);
      assertKernels(got.kernels, { has: ['Identity'] }, `identity ${dtype}`);
    });
  }

  test('strings keep the stock kernel', async () => {
    await tf.setBackend('wasm');
    const s = tf.tensor(['a', 'bc'], [2], 'string');
    const c = tf.clone(s);
    assert.deepEqual(await c.array(), ['a', 'bc']);
    tf.dispose([s, c]);
  });
});

// Last: these register the kernels again, so a failure leaves the registry in the state under test.
describe('registering again (as a second setupBackend does)', () => {
  const kernelFuncs = (): unknown[] => WASM_FAST_OPS.map((k) => tf.getKernel(k, 'wasm')?.kernelFunc);

  test('keeps the same kernels', async () => {
    const first = kernelFuncs();
    registerWasmTrainingKernels();
    await setupBackend('wasm');
    const after = kernelFuncs();
    assert.deepEqual(
      WASM_FAST_OPS.filter((_, i) => after[i] !== first[i]),
      [],
      'kernels replaced by a second registration',
    );
  });

  test('the fallbacks still reach the stock kernels', async () => {
    registerWasmTrainingKernels();
    // all axes and a trailing axis fall back to the stock kernels; axis 0 takes the fast path
    const run = async (backend: string): Promise<number[][]> => {
      await tf.setBackend(backend);
      return tf.tidy(() => [tf.sum(rand(BIG, 10)), tf.mean(rand(BIG, 11), 3), tf.sum(rand(BIG, 12), 0)].map((t) => Array.from(t.dataSync())));
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    cpu.forEach((c, i) => assert.ok(relError(wasm[i]!, c) <= REL, `output ${i}: relative error ${relError(wasm[i]!, c)}`));
  });
});
