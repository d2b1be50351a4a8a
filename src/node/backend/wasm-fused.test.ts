/**
 * Forger's fused kernels on wasm (wasm-fused.ts) against what the core runs
 * without them on cpu: ForgerActivationGrad against TF.js's composite gradient
 * ops, ForgerFusedAdam against core/optim.ts's Adam ops. The wasm runs are
 * profiled, so each case also asserts that the fused kernel handled the call or,
 * for the inputs it declines, that the composite fallback ops ran.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Adam, adamOps, FUSED_ADAM } from '../../core/optim.ts';
import { expectNoLeaks, relError } from '../../testing/leaks.ts';
import { ACTIVATION_GRAD, activationGradOps } from './native-gradients.ts';
import { setupBackend } from './setup.ts';
import { WASM_FUSED_KERNELS } from './wasm-fused.ts';

const ABS = 1e-5;

/** Deterministic values in [lo, hi). */
function values(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => {
    const s = Math.sin((i + 1) * 12.9898 + seed * 78.233) * 43758.5453;
    return lo + (hi - lo) * (s - Math.floor(s));
  });
}
const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
const rand = (shape: number[], seed: number, lo = -1, hi = 1): tf.Tensor => tf.tensor(values(size(shape), seed, lo, hi), shape);

interface Run {
  dtype: string;
  shape: number[];
  data: number[];
  kernels: string[];
}

/** fn on `backend`, profiled; asserts the live tensor count is back where it was. */
async function runOn(backend: string, fn: () => tf.Tensor): Promise<Run> {
  await tf.setBackend(backend);
  const count = (): number[] => [tf.memory().numTensors, tf.memory().numDataBuffers];
  const before = count();
  const info = await tf.profile(() => tf.tidy(fn));
  const t = info.result as tf.Tensor;
  const run = { dtype: t.dtype, shape: t.shape, data: Array.from(t.dataSync() as ArrayLike<number>), kernels: info.kernels.map((k) => k.name) }; // every kernel run, in order
  t.dispose();
  assert.deepEqual(count(), before, `${backend}: [tensors, data buffers] changed`);
  return run;
}

function assertAbsClose(got: Run, want: Run, label: string): void {
  assert.deepEqual(got.shape, want.shape, `${label}: shape`);
  assert.equal(got.dtype, want.dtype, `${label}: dtype`);
  want.data.forEach((w, i) => {
    const g = got.data[i]!;
    if (Number.isNaN(w)) assert.ok(Number.isNaN(g), `${label} [${i}]: ${g}, want NaN`);
    else assert.ok(Math.abs(g - w) <= ABS, `${label} [${i}]: ${g} vs ${w}`);
  });
}

const fusedGrad = (dy: tf.Tensor, x: tf.Tensor, op: number, alpha: number): tf.Tensor =>
  tf.engine().runKernel(ACTIVATION_GRAD, { dy, x }, { op, alpha }) as tf.Tensor;

before(async () => {
  await setupBackend('cpu');
  await setupBackend('wasm');
});

test('both kernels are registered on wasm only', () => {
  assert.deepEqual([...WASM_FUSED_KERNELS].sort(), [ACTIVATION_GRAD, FUSED_ADAM].sort());
  for (const k of WASM_FUSED_KERNELS) {
    assert.ok(tf.getKernel(k, 'wasm'), `${k} on wasm`);
    assert.equal(tf.getKernel(k, 'cpu'), undefined, `${k} not on cpu`);
  }
});

describe('ForgerActivationGrad on wasm matches the composite ops on cpu', () => {
  // x with exact zeros, -0, NaN and values on both sides of 0
  const X = (shape: number[], nan: boolean): tf.Tensor => {
    const v = values(size(shape), 1);
    v.set(nan ? [0, -0, NaN, 1, -1] : [0, -0, 1, -1]);
    return tf.tensor(v, shape);
  };
  const cases: [string, number, number, number[]][] = [
    ['relu 64x64', 0, 0, [64, 64]],
    ['relu 2x5x5x3', 0, 0, [2, 5, 5, 3]],
    ['leaky relu 0.2, 64x64', 1, 0.2, [64, 64]],
    ['leaky relu 0.3, 7', 1, 0.3, [7]],
  ];
  for (const [name, op, alpha, shape] of cases) {
    test(name, async () => {
      const nan = op === 0; // relu passes NaN through; leaky relu differs there (below)
      const cpu = await runOn('cpu', () => activationGradOps(rand(shape, 2), X(shape, nan), op, alpha));
      const wasm = await runOn('wasm', () => fusedGrad(rand(shape, 2), X(shape, nan), op, alpha));
      assertAbsClose(wasm, cpu, name);
      if (nan) assert.ok(Number.isNaN(wasm.data[2]!), 'relu gradient at NaN is NaN');
      // the fused path: step and multiply only (the composite casts, or compares and selects)
      for (const k of ['Cast', 'Greater', 'Select']) assert.ok(!wasm.kernels.includes(k), `${name}: ${k} ran on wasm (${wasm.kernels.join(', ')})`);
    });
  }

  test('leaky relu at NaN x: NaN (TF.js gives alpha * dy), as documented', async () => {
    const wasm = await runOn('wasm', () => fusedGrad(tf.tensor1d([2, 2]), tf.tensor1d([NaN, -1]), 1, 0.2));
    assert.ok(Number.isNaN(wasm.data[0]!));
    assert.ok(Math.abs(wasm.data[1]! - 0.4) < 1e-7);
  });

  test('through tf.grad: relu and leaky relu gradients on wasm run the kernel and match cpu', async () => {
    const f = (x: tf.Tensor): tf.Tensor => tf.sum(tf.mul(tf.add(tf.relu(x), tf.leakyRelu(x, 0.2)), rand([32, 48], 3)));
    const cpu = await runOn('cpu', () => tf.grad(f)(rand([32, 48], 4)));
    const wasm = await runOn('wasm', () => tf.grad(f)(rand([32, 48], 4)));
    assertAbsClose(wasm, cpu, 'grad');
    assert.equal(wasm.kernels.filter((k) => k === ACTIVATION_GRAD).length, 2, `kernels: ${wasm.kernels.join(', ')}`);
  });

  // Declined: the composite ops run instead, and give what they give when run directly on wasm.
  const declined: [string, number, () => [tf.Tensor, tf.Tensor], string, boolean][] = [
    ['relu, int32 dy and x', 0, () => [tf.tensor1d([1, 2, 3, 4], 'int32'), tf.tensor1d([-2, 0, 3, 5], 'int32')], 'Cast', true],
    ['leaky relu, int32 dy and x', 1, () => [tf.tensor1d([1, 2, 3, 4], 'int32'), tf.tensor1d([-2, 0, 3, 5], 'int32')], 'Select', false],
    ['relu, dy of size 1 against x of 4096', 0, () => [tf.tensor1d([3]), rand([64, 64], 5)], 'Cast', true],
    ['leaky relu, dy of size 1 against x of 4096', 1, () => [tf.tensor1d([3]), rand([64, 64], 5)], 'Select', true],
  ];
  for (const [name, op, inputs, marker, matchesCpu] of declined) {
    test(`declines ${name}: runs the fallback ops`, async () => {
      const wasm = await runOn('wasm', () => fusedGrad(...inputs(), op, 0.2));
      assert.ok(wasm.kernels.includes(ACTIVATION_GRAD) && wasm.kernels.includes(marker), `${name}: kernels ${wasm.kernels.join(', ')}`);
      const composite = await runOn('wasm', () => activationGradOps(...inputs(), op, 0.2));
      assert.deepEqual({ ...wasm, kernels: [] }, { ...composite, kernels: [] }, `${name}: not the composite ops' result`);
      // (int32 leaky relu: the stock wasm Select returns int32 bits of the float branch; not the kernel's doing)
      if (matchesCpu) assertAbsClose(wasm, await runOn('cpu', () => activationGradOps(...inputs(), op, 0.2)), name);
    });
  }
});

describe('ForgerFusedAdam on wasm matches Adam on cpu', () => {
  const STEPS = 4;
  const SHAPES = { w: [16, 8], b: [8], k: [3, 3, 2, 4] };
  interface AdamRun {
    weights: number[][];
    m: number[][];
    v: number[][];
    /** per step: matMul(x, w) after the update, and the same with a fresh tensor of w's values */
    y: number[][];
    yFresh: number[][];
    kernels: Set<string>;
  }

  async function adamRun(backend: string): Promise<AdamRun> {
    await tf.setBackend(backend);
    const vars = Object.entries(SHAPES).map(([name, s], i) => tf.tidy(() => tf.variable(rand(s, 10 + i, -0.1, 0.1), true, `fused-adam-${backend}-${name}`)));
    const w = vars[0]!;
    const x = rand([4, 16], 20);
    const opt = new Adam({ learningRate: 0.01, beta1: 0.5, beta2: 0.999 });
    const kernels = new Set<string>();
    const run: AdamRun = { weights: [], m: [], v: [], y: [], yFresh: [], kernels };
    const read = (t: tf.Tensor): number[] => Array.from(t.dataSync());
    tf.tidy(() => tf.matMul(x, w).dataSync()); // w's packed weights are now cached by the wasm matmul
    for (let step = 0; step < STEPS; step++) {
      const grads = Object.fromEntries(vars.map((v, i) => [v.name, rand(v.shape, 30 + 10 * step + i, -2, 2)]));
      const info = await tf.profile(() => {
        opt.applyGradients(grads);
        return [];
      });
      for (const k of info.kernelNames) kernels.add(k);
      tf.dispose(Object.values(grads));
      run.y.push(tf.tidy(() => read(tf.matMul(x, w))));
      run.yFresh.push(tf.tidy(() => read(tf.matMul(x, tf.tensor(w.dataSync(), w.shape)))));
    }
    const state = await opt.getState();
    run.weights = vars.map(read);
    run.m = state.moments.map((s) => Array.from(s.m));
    run.v = state.moments.map((s) => Array.from(s.v));
    opt.dispose();
    tf.dispose([...vars, x]);
    return run;
  }

  test(`${STEPS} steps: weights, m and v match; a matMul after each step sees the new weights`, async () => {
    const cpu = await adamRun('cpu');
    const wasm = await adamRun('wasm');
    assert.ok(!cpu.kernels.has(FUSED_ADAM) && cpu.kernels.has('Sqrt'), 'cpu takes the op path');
    assert.ok(wasm.kernels.has(FUSED_ADAM) && !wasm.kernels.has('Sqrt'), `wasm runs the fused kernel alone (${[...wasm.kernels].join(', ')})`);
    cpu.weights.forEach((w, i) => assert.ok(relError(wasm.weights[i]!, w) < 1e-5, `variable ${i}: ${relError(wasm.weights[i]!, w)}`));
    cpu.m.forEach((m, i) => assert.ok(relError(wasm.m[i]!, m) < 1e-5, `m ${i}`));
    cpu.v.forEach((v, i) => assert.ok(relError(wasm.v[i]!, v) < 1e-5, `v ${i}`));
    for (let s = 0; s < STEPS; s++) {
      assert.ok(relError(wasm.y[s]!, wasm.yFresh[s]!) < 1e-6, `step ${s}: matMul used stale weights`);
      assert.ok(relError(wasm.y[s]!, cpu.y[s]!) < 1e-5, `step ${s}: matMul after the update differs from cpu`);
      if (s > 0) assert.ok(relError(wasm.y[s]!, wasm.y[s - 1]!) > 1e-3, `step ${s}: matMul output did not move`);
    }
  });

  const attrs = { lrOverC1: 0.02, c2: 0.0316, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 };
  const declined: [string, () => tf.Tensor[]][] = [
    ['int32 grad', () => [rand([4, 4], 40), rand([4, 4], 41), rand([4, 4], 42, 0, 1), tf.tensor2d([[1, -2, 3, 0], [2, 2, -1, 5], [0, 0, 1, 1], [-3, 4, 2, 1]], [4, 4], 'int32')]],
    ['grad of size 1 against a 4x4 param', () => [rand([4, 4], 40), rand([4, 4], 41), rand([4, 4], 42, 0, 1), tf.tensor1d([0.7])]],
  ];
  for (const [name, inputs] of declined) {
    test(`declines ${name}: runs the fallback ops and matches cpu`, async () => {
      const out = (backend: string) => async (i: number): Promise<Run> =>
        runOn(backend, () => {
          const [param, m, v, grad] = inputs();
          const res = backend === 'cpu' ? adamOps(param!, m!, v!, grad!, attrs) : (tf.engine().runKernel(FUSED_ADAM, { param: param!, m: m!, v: v!, grad: grad! }, attrs) as tf.Tensor[]);
          return res[i]!;
        });
      for (let i = 0; i < 3; i++) {
        const wasm = await out('wasm')(i);
        assert.ok(wasm.kernels.includes(FUSED_ADAM) && wasm.kernels.includes('Sqrt'), `${name}: kernels ${wasm.kernels.join(', ')}`);
        assertAbsClose(wasm, await out('cpu')(i), `${name} output ${i}`);
      }
    });
  }

  test('a fused Adam step and the activation gradient leak no tensors', async () => {
    await tf.setBackend('wasm');
    const w = tf.variable(rand([16, 8], 50), true, 'fused-adam-leak');
    const g = rand([16, 8], 51);
    const opt = new Adam({ learningRate: 0.01, beta1: 0.5, beta2: 0.999 });
    const gInt = tf.cast(g, 'int32');
    await expectNoLeaks(() => {
      opt.applyGradients({ [w.name]: g });
      opt.applyGradients({ [w.name]: gInt }); // declined: the fallback ops
      tf.dispose([fusedGrad(g, w, 0, 0), fusedGrad(g, w, 1, 0.2), fusedGrad(gInt, w, 1, 0.2)]);
    });
    opt.dispose();
    tf.dispose([w, g, gInt]);
  });
});
