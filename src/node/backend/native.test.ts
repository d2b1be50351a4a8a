/**
 * The 'native' backend (native-kernels.ts: the cpu backend with oneDNN / OpenMP
 * kernels from the addon) against the cpu backend: each case builds its inputs
 * from the same seeded arrays on both backends and compares the outputs. The
 * addon is spied on, so a case also asserts that the native path really ran (or,
 * for the fallback cases, that it declined and the cpu kernel ran), and every
 * kernel of NATIVE_KERNELS must have run on native by the end of the file.
 *
 * Skipped as a whole, with the reason, when the addon is not built, fails to load,
 * or FORGER_NATIVE=off is set.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fusedBatchNormalization } from '../../core/models/batch-norm.ts';
import { Adam } from '../../core/optim.ts';
import { Rng } from '../../core/rng.ts';
import { expectNoLeaks, relError } from '../../testing/leaks.ts';
import type { NativeAddon } from './native-addon.ts';
import { NATIVE_KERNELS } from './native-kernels.ts';
import { NATIVE_BACKEND, registerNativeBackend } from './native.ts';
import { setupBackend } from './setup.ts';

const loaded = registerNativeBackend();
const skip = loaded.addon === null ? `native backend unavailable: ${loaded.reason}` : false;

/** Tolerances (relative to the largest |cpu value| of the output). */
const ELEMENTWISE = 1e-5;
const HEAVY = 1e-4; // convolutions, matrix products, reductions, batch norm
const EXACT = 0;

// ---- data ------------------------------------------------------------------

/** Seeded uniform values in [lo, hi). */
function values(shape: readonly number[], seed: number, lo = -1, hi = 1): Float32Array {
  const rng = new Rng(seed, 'native.test');
  const n = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rng.next());
}

function rand(shape: readonly number[], seed: number, lo = -1, hi = 1): tf.Tensor {
  return tf.tensor(values(shape, seed, lo, hi), [...shape]);
}

/** Seeded values with |x| in [lo, hi) and a random sign (division, reciprocal). */
function awayFromZero(shape: readonly number[], seed: number, lo = 0.2, hi = 3): tf.Tensor {
  const rng = new Rng(seed, 'sign');
  const v = values(shape, seed, lo, hi).map((x) => (rng.next() < 0.5 ? -x : x));
  return tf.tensor(v, [...shape]);
}

/** Small integers as floats, so that comparisons see ties and sign sees zeros. */
function ints(shape: readonly number[], seed: number, range = 3): tf.Tensor {
  return tf.tensor(values(shape, seed, -range, range + 1).map(Math.floor), [...shape]);
}

// ---- running on both backends ------------------------------------------------

type AddonFn = keyof NativeAddon;
interface Out {
  shape: number[];
  dtype: string;
  values: Float64Array;
}

/** Addon calls on native since the last reset: name -> arguments and return value (reduce returns false when it declines). */
const addonCalls = new Map<string, { args: unknown[]; result: unknown }[]>();
/** Kernels that ran on native anywhere in this file. */
const nativeKernelsSeen = new Set<string>();

async function compute(backend: 'cpu' | typeof NATIVE_BACKEND, fn: () => tf.Tensor | tf.Tensor[]): Promise<Out[]> {
  await tf.setBackend(backend);
  const run = (): tf.Tensor[] =>
    tf.tidy(() => {
      const o = fn();
      return Array.isArray(o) ? o : [o];
    });
  let outs: tf.Tensor[];
  if (backend === NATIVE_BACKEND) {
    addonCalls.clear();
    const info = await tf.profile(run);
    for (const k of info.kernelNames) nativeKernelsSeen.add(k);
    outs = info.result as tf.Tensor[];
  } else {
    outs = run();
  }
  const res = outs.map((t) => ({ shape: t.shape, dtype: t.dtype, values: Float64Array.from(t.dataSync() as ArrayLike<number>) }));
  tf.dispose(outs);
  return res;
}

interface Expect {
  /** addon functions that must have run (and not declined) on native */
  uses?: AddonFn[];
  /** addon functions that must not have handled anything: the cpu kernel ran */
  declines?: AddonFn[];
}

function checkAddonUse(label: string, expect: Expect): void {
  for (const f of expect.uses ?? []) {
    const calls = addonCalls.get(f) ?? [];
    assert.ok(calls.some((c) => c.result !== false), `${label}: addon.${f} was expected to run on native (calls: ${calls.length})`);
  }
  for (const f of expect.declines ?? []) {
    const calls = addonCalls.get(f) ?? [];
    assert.ok(calls.every((c) => c.result === false), `${label}: addon.${f} was expected to decline (fallback to cpu) but handled ${calls.length} call(s)`);
  }
}

/**
 * NaN and infinities must match exactly (position and sign); the finite values
 * within `tol` relative to the largest |cpu value| (relError).
 */
function assertValuesClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, label: string): number {
  assert.equal(got.length, want.length, `${label}: length`);
  const g = new Float64Array(got.length);
  const w = new Float64Array(want.length);
  for (let i = 0; i < got.length; i++) {
    const a = got[i]!, b = want[i]!;
    if (Number.isNaN(a) || Number.isNaN(b)) {
      assert.ok(Number.isNaN(a) && Number.isNaN(b), `${label}: element ${i}: native ${a}, cpu ${b}`);
    } else if (!Number.isFinite(a) || !Number.isFinite(b)) {
      assert.equal(a, b, `${label}: element ${i}: native ${a}, cpu ${b}`);
    } else {
      g[i] = a;
      w[i] = b;
    }
  }
  const e = relError(g, w);
  assert.ok(e <= tol, `${label}: relative error ${e.toExponential(2)} > ${tol}`);
  return e;
}

function assertOutsClose(nat: Out[], cpu: Out[], tol: number, label: string): void {
  assert.equal(nat.length, cpu.length, `${label}: number of outputs`);
  cpu.forEach((c, i) => {
    const n = nat[i]!;
    assert.deepEqual(n.shape, c.shape, `${label} [output ${i}]: shape`);
    assert.equal(n.dtype, c.dtype, `${label} [output ${i}]: dtype`);
    assertValuesClose(n.values, c.values, tol, `${label} [output ${i}]`);
  });
}

/** `fn` on cpu, then on native; outputs compared, addon use checked. */
async function check(label: string, fn: () => tf.Tensor | tf.Tensor[], tol: number, expect: Expect = {}): Promise<void> {
  const cpu = await compute('cpu', fn);
  const nat = await compute(NATIVE_BACKEND, fn);
  checkAddonUse(label, expect);
  assertOutsClose(nat, cpu, tol, label);
}

// ---- convolutions -------------------------------------------------------------

type Explicit = [[number, number], [number, number], [number, number], [number, number]];
type Pad = 'same' | 'valid' | number | Explicit;

/** x [n, h, w, c] * filter [k, k, c, oc], strides s, dilation d. */
interface ConvCase {
  n: number;
  h: number;
  w: number;
  c: number;
  oc: number;
  k: number;
  s: number | [number, number];
  pad: Pad;
  d?: number;
  round?: 'floor' | 'round' | 'ceil';
}

const padLabel = (p: Pad): string => (Array.isArray(p) ? `explicit ${JSON.stringify(p)}` : String(p));
const convLabel = (c: ConvCase): string =>
  `x ${c.n}x${c.h}x${c.w}x${c.c}, k${c.k} s${String(c.s)} ${padLabel(c.pad)}${c.d ? ` d${c.d}` : ''}${c.round ? ` ${c.round}` : ''}, oc ${c.oc}`;
const xShapeOf = (c: ConvCase): [number, number, number, number] => [c.n, c.h, c.w, c.c];
const fShapeOf = (c: ConvCase): [number, number, number, number] => [c.k, c.k, c.c, c.oc];

function conv(c: ConvCase, x: tf.Tensor, f: tf.Tensor): tf.Tensor4D {
  return tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.s, c.pad, 'NHWC', c.d ?? 1, c.round);
}

/** The forward output shape, from TF.js itself. */
function yShapeOf(c: ConvCase): [number, number, number, number] {
  const info = tf.backend_util.computeConv2DInfo(xShapeOf(c), fShapeOf(c), c.s, c.d ?? 1, c.pad, c.round);
  return info.outShape;
}

const FORWARD: ConvCase[] = [
  { n: 1, h: 8, w: 8, c: 1, oc: 4, k: 3, s: 1, pad: 'same' },
  { n: 3, h: 9, w: 9, c: 3, oc: 8, k: 4, s: 2, pad: 'same' },
  { n: 2, h: 11, w: 11, c: 20, oc: 24, k: 3, s: 2, pad: 'valid' },
  { n: 3, h: 7, w: 7, c: 17, oc: 5, k: 3, s: 1, pad: 1 },
  { n: 1, h: 12, w: 12, c: 3, oc: 4, k: 3, s: 1, pad: 'same', d: 2 },
  { n: 2, h: 11, w: 11, c: 4, oc: 3, k: 4, s: 1, pad: 'valid', d: 2 },
  { n: 3, h: 8, w: 8, c: 32, oc: 1, k: 4, s: 2, pad: 1 },
  { n: 2, h: 6, w: 9, c: 2, oc: 3, k: 4, s: [1, 2], pad: 'same' },
  { n: 2, h: 8, w: 8, c: 3, oc: 4, k: 4, s: 2, pad: [[0, 0], [1, 2], [2, 1], [0, 0]] },
  { n: 2, h: 10, w: 10, c: 3, oc: 2, k: 3, s: 2, pad: 1, round: 'ceil' }, // output needs more end padding than given
  { n: 2, h: 14, w: 14, c: 64, oc: 64, k: 4, s: 2, pad: 'same' }, // DCGAN-sized, threaded
];

/**
 * 'valid' k4 s3 on 11 (and k3 s2 on 10): the last input row is never read, a negative
 * end padding, which convParams() hands to the cpu kernel.
 */
const NEG_PAD: ConvCase = { n: 2, h: 11, w: 11, c: 2, oc: 3, k: 4, s: 3, pad: 'valid' };
const NEG_PAD_EVEN: ConvCase = { n: 2, h: 10, w: 10, c: 20, oc: 24, k: 3, s: 2, pad: 'valid' };

// As transposed convolutions these map y (the forward output) back to x.
const TRANSPOSED: ConvCase[] = [
  { n: 2, h: 14, w: 14, c: 1, oc: 16, k: 4, s: 2, pad: 'same' }, // 7 -> 14, out channels 1
  { n: 3, h: 8, w: 8, c: 3, oc: 20, k: 4, s: 2, pad: 'same' }, // 4 -> 8, out channels 3
  { n: 1, h: 28, w: 28, c: 1, oc: 64, k: 4, s: 2, pad: 'same' }, // 14 -> 28, 64 -> 1
  { n: 2, h: 13, w: 13, c: 3, oc: 4, k: 4, s: 2, pad: 'same' }, // 7 -> 13, odd output
  { n: 1, h: 11, w: 11, c: 2, oc: 3, k: 3, s: 2, pad: 'valid' },
  { n: 2, h: 8, w: 8, c: 3, oc: 4, k: 4, s: 2, pad: 1 },
  { n: 2, h: 10, w: 10, c: 3, oc: 2, k: 3, s: 2, pad: 1, round: 'ceil' }, // 6 -> 10
  { n: 2, h: 14, w: 14, c: 64, oc: 64, k: 4, s: 2, pad: 'same' },
];

const GRADS: ConvCase[] = [
  { n: 3, h: 9, w: 9, c: 3, oc: 8, k: 4, s: 2, pad: 'same' },
  { n: 2, h: 8, w: 8, c: 20, oc: 24, k: 3, s: 1, pad: 'same' },
  { n: 2, h: 8, w: 8, c: 3, oc: 4, k: 4, s: 2, pad: 1 },
  { n: 1, h: 11, w: 11, c: 17, oc: 5, k: 3, s: 2, pad: 'valid' },
  { n: 2, h: 8, w: 8, c: 3, oc: 4, k: 4, s: 2, pad: [[0, 0], [1, 2], [2, 1], [0, 0]] },
  { n: 2, h: 6, w: 9, c: 2, oc: 3, k: 4, s: [1, 2], pad: 'same' },
];

// ---- the suite -------------------------------------------------------------------

describe('native backend matches cpu', { skip }, () => {
  let previous: string | null = null;
  const originals = new Map<string, unknown>();

  before(async () => {
    previous = tf.engine().backendName;
    await setupBackend('cpu'); // mutes the cpu backend's Node banner
    await setupBackend('native');
    // Spy on the addon: the kernels look its functions up on each call.
    const addon = loaded.addon as unknown as Record<string, unknown>;
    for (const [name, f] of Object.entries(addon)) {
      if (typeof f !== 'function') continue;
      originals.set(name, f);
      addon[name] = (...args: unknown[]): unknown => {
        const r = (f as (...a: unknown[]) => unknown).apply(addon, args);
        const list = addonCalls.get(name) ?? [];
        list.push({ args, result: r });
        addonCalls.set(name, list);
        return r;
      };
    }
  });

  after(async () => {
    const addon = loaded.addon as unknown as Record<string, unknown>;
    for (const [name, f] of originals) addon[name] = f;
    await tf.setBackend(previous ?? 'cpu');
  });

  describe('setupBackend', () => {
    test("'native' and 'auto' both start the native backend", async () => {
      const threads = loaded.addon!.info().threads;
      assert.deepEqual(await setupBackend('native'), { name: 'native', threads, note: null });
      assert.equal(tf.getBackend(), NATIVE_BACKEND);
      await tf.setBackend('cpu');
      assert.deepEqual(await setupBackend('auto'), { name: 'native', threads, note: null });
      assert.equal(tf.getBackend(), NATIVE_BACKEND);
      for (const k of Object.keys(NATIVE_KERNELS)) assert.ok(tf.getKernel(k, NATIVE_BACKEND), `${k} registered on native`);
    });
  });

  describe('Conv2D / FusedConv2D', () => {
    for (const c of FORWARD) {
      test(`conv2d ${convLabel(c)}`, async () => {
        await check(convLabel(c), () => conv(c, rand(xShapeOf(c), 1), rand(fShapeOf(c), 2)), HEAVY, { uses: ['conv2d'] });
      });
    }

    const fused: [string, ConvCase, boolean, tf.fused.Activation, number?][] = [
      ['bias, linear', FORWARD[1]!, true, 'linear'],
      ['bias, relu', FORWARD[2]!, true, 'relu'],
      ['bias, leakyrelu 0.1', FORWARD[3]!, true, 'leakyrelu', 0.1],
      ['bias, leakyrelu 0.2', FORWARD[7]!, true, 'leakyrelu', 0.2],
      ['no bias, relu', FORWARD[4]!, false, 'relu'],
      ['no bias, relu6', FORWARD[6]!, false, 'relu6'],
      ['bias, sigmoid', FORWARD[8]!, true, 'sigmoid'],
      ['bias, elu', FORWARD[9]!, true, 'elu'],
      ['bias, relu, DCGAN-sized', FORWARD[10]!, true, 'relu'],
    ];
    for (const [name, c, withBias, activation, alpha] of fused) {
      test(`fused conv2d ${name}: ${convLabel(c)}`, async () => {
        await check(
          `fused ${name}`,
          () =>
            tf.fused.conv2d({
              x: rand(xShapeOf(c), 3) as tf.Tensor4D,
              filter: rand(fShapeOf(c), 4) as tf.Tensor4D,
              strides: c.s,
              pad: c.pad,
              dilations: c.d ?? 1,
              dimRoundingMode: c.round,
              bias: withBias ? rand([c.oc], 5) : undefined,
              activation,
              leakyreluAlpha: alpha,
            }),
          HEAVY,
          { uses: ['conv2d'] },
        );
      });
    }

    // tf.fused.conv2d has no default leakyreluAlpha: the cpu kernel then computes undefined * x = NaN
    // (a TF.js bug). The native kernel takes 0.2, the default of tf.leakyRelu, tf.fused.matMul and of
    // fused.conv2d's own unfused (gradient) path.
    test('fused conv2d leakyrelu without alpha: native uses 0.2 (cpu gives NaN, a TF.js bug)', async () => {
      const c = FORWARD[7]!;
      await check(
        'leakyrelu default alpha',
        () =>
          tf.fused.conv2d({
            x: rand(xShapeOf(c), 3) as tf.Tensor4D,
            filter: rand(fShapeOf(c), 4) as tf.Tensor4D,
            strides: c.s,
            pad: c.pad,
            bias: rand([c.oc], 5),
            activation: 'leakyrelu',
            leakyreluAlpha: tf.getBackend() === NATIVE_BACKEND ? undefined : 0.2,
          }),
        HEAVY,
        { uses: ['conv2d'] },
      );
    });

    test('falls back to cpu for NCHW', async () => {
      await check('conv2d NCHW', () => tf.conv2d(rand([2, 3, 9, 9], 6) as tf.Tensor4D, rand([3, 3, 3, 4], 7) as tf.Tensor4D, 2, 'same', 'NCHW'), HEAVY, {
        declines: ['conv2d'],
      });
    });

    for (const c of [NEG_PAD, NEG_PAD_EVEN]) {
      test(`falls back to cpu for negative end padding: ${convLabel(c)}`, async () => {
        await check(convLabel(c), () => conv(c, rand(xShapeOf(c), 8), rand(fShapeOf(c), 9)), HEAVY, { declines: ['conv2d'] });
      });
    }

    test('bias [1, 1, 1, oc] runs natively; a scalar-like bias [1] falls back to cpu', async () => {
      const c = FORWARD[1]!;
      const fused = (biasShape: number[]) => (): tf.Tensor =>
        tf.fused.conv2d({ x: rand(xShapeOf(c), 24) as tf.Tensor4D, filter: rand(fShapeOf(c), 25) as tf.Tensor4D, strides: c.s, pad: c.pad, bias: rand(biasShape, 26), activation: 'relu' });
      await check('bias [1, 1, 1, oc]', fused([1, 1, 1, c.oc]), HEAVY, { uses: ['conv2d'] });
      await check('bias [1]', fused([1]), HEAVY, { declines: ['conv2d'] });
    });

    test('falls back to cpu for a prelu activation', async () => {
      const c = FORWARD[1]!;
      await check(
        'fused prelu',
        () =>
          tf.fused.conv2d({
            x: rand(xShapeOf(c), 10) as tf.Tensor4D,
            filter: rand(fShapeOf(c), 11) as tf.Tensor4D,
            strides: c.s,
            pad: c.pad,
            bias: rand([c.oc], 12),
            activation: 'prelu',
            preluActivationWeights: rand([c.oc], 13, 0, 0.5),
          }),
        HEAVY,
        { declines: ['conv2d'] },
      );
    });
  });

  describe('Conv2DBackpropInput (conv2dTranspose)', () => {
    for (const c of TRANSPOSED) {
      test(convLabel(c), async () => {
        const s = c.s as number;
        const pad = c.pad as 'same';
        await check(convLabel(c), () => tf.conv2dTranspose(rand(yShapeOf(c), 14) as tf.Tensor4D, rand(fShapeOf(c), 15) as tf.Tensor4D, xShapeOf(c), s, pad, c.round), HEAVY, {
          uses: ['conv2dBackpropInput'],
        });
      });
    }

    test('falls back to cpu for negative end padding', async () => {
      const c = NEG_PAD;
      await check(convLabel(c), () => tf.conv2dTranspose(rand(yShapeOf(c), 16) as tf.Tensor4D, rand(fShapeOf(c), 17) as tf.Tensor4D, xShapeOf(c), 3, 'valid'), HEAVY, {
        declines: ['conv2dBackpropInput'],
      });
    });

    test('falls back to cpu for NCHW', async () => {
      const attrs = { strides: 2, pad: 'same', dataFormat: 'NCHW', inputShape: [2, 3, 8, 8] };
      await check('NCHW', () => tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: rand([2, 4, 4, 4], 18), filter: rand([3, 3, 3, 4], 19) }, attrs) as tf.Tensor, HEAVY, {
        declines: ['conv2dBackpropInput'],
      });
    });
  });

  describe('conv2d gradients (Conv2DBackpropInput, Conv2DBackpropFilter)', () => {
    const gradsOf = (c: ConvCase, seed: number) => (): tf.Tensor[] =>
      tf.grads((x: tf.Tensor, f: tf.Tensor) => {
        const y = conv(c, x, f);
        return tf.sum(tf.mul(y, rand(y.shape, seed)));
      })([rand(xShapeOf(c), seed + 1), rand(fShapeOf(c), seed + 2)]);

    for (const c of GRADS) {
      test(`w.r.t. x and filter: ${convLabel(c)}`, async () => {
        await check(convLabel(c), gradsOf(c, 20), HEAVY, { uses: ['conv2d', 'conv2dBackpropInput', 'conv2dBackpropFilter'] });
      });
    }

    for (const c of [NEG_PAD, NEG_PAD_EVEN]) {
      test(`falls back to cpu for negative end padding: ${convLabel(c)}`, async () => {
        await check(convLabel(c), gradsOf(c, 30), HEAVY, { declines: ['conv2d', 'conv2dBackpropInput', 'conv2dBackpropFilter'] });
      });
    }

    for (const activation of ['linear', 'relu'] as const) {
      test(`fused conv2d with bias, ${activation}: w.r.t. x, filter and bias`, async () => {
        const c = GRADS[0]!;
        await check(
          `fused grads ${activation}`,
          () =>
            tf.grads((x: tf.Tensor, f: tf.Tensor, b: tf.Tensor) => {
              const y = tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: c.s, pad: c.pad, bias: b, activation });
              return tf.sum(tf.mul(y, rand(y.shape, 40)));
            })([rand(xShapeOf(c), 41), rand(fShapeOf(c), 42), rand([c.oc], 43)]),
          HEAVY,
          { uses: ['conv2dBackpropInput', 'conv2dBackpropFilter'] },
        );
      });
    }
  });

  describe('BatchMatMul / _FusedMatMul', () => {
    const plain: [number[], number[], boolean, boolean][] = [
      [[5, 7], [7, 3], false, false],
      [[7, 5], [7, 3], true, false],
      [[5, 7], [3, 7], false, true],
      [[7, 5], [3, 7], true, true],
      [[3, 4, 6], [3, 6, 5], false, false], // batched
      [[3, 6, 4], [3, 5, 6], true, true],
      [[1, 4, 6], [3, 6, 5], false, false], // batch broadcast: a batch 1, b batch 3
      [[3, 4, 6], [1, 5, 6], false, true], // b batch 1
      [[3, 4, 6], [6, 5], false, false], // rank 3 x rank 2
      [[2, 3, 4, 5], [2, 3, 5, 2], false, false], // rank 4
      [[1, 9], [9, 1], false, false], // 1xK . Kx1
      [[9, 1], [1, 9], false, false], // outer product
      [[1, 9], [9, 6], false, false],
      [[6, 9], [9, 1], false, false],
      [[64, 128], [128, 96], false, false], // larger, threaded
    ];
    for (const [aShape, bShape, tA, tB] of plain) {
      const name = `[${aShape}]${tA ? '^T' : ''} x [${bShape}]${tB ? '^T' : ''}`;
      test(`matMul ${name}`, async () => {
        await check(name, () => tf.matMul(rand(aShape, 50), rand(bShape, 51), tA, tB), HEAVY, { uses: ['matmul'] });
      });
    }

    test('falls back to cpu for batch dims that broadcast both ways ([2,1] against [1,3])', async () => {
      await check('broadcast both ways', () => tf.matMul(rand([2, 1, 4, 5], 52), rand([1, 3, 5, 2], 53)), HEAVY, { declines: ['matmul'] });
    });

    test('empty operands: K = 0 gives zeros, M = 0 an empty result', async () => {
      await check('K = 0', () => tf.matMul(tf.zeros([3, 0]), tf.zeros([0, 4])), EXACT);
      await check('K = 0, fused with bias', () => tf.fused.matMul({ a: tf.zeros([3, 0]), b: tf.zeros([0, 4]), bias: rand([4], 56), activation: 'relu' }), EXACT);
      await check('M = 0', () => tf.matMul(tf.zeros([0, 5]), rand([5, 4], 57)), EXACT);
    });

    test('falls back to cpu for int32', async () => {
      await check('int32 matMul', () => tf.matMul(tf.cast(ints([4, 5], 54), 'int32'), tf.cast(ints([5, 3], 55), 'int32')), EXACT, { declines: ['matmul'] });
    });

    const fused: [string, number[], number[], boolean, boolean, number[] | null, tf.fused.Activation, number?][] = [
      ['bias, linear', [5, 7], [7, 3], false, false, [3], 'linear'],
      ['no bias, linear', [5, 7], [7, 3], false, false, null, 'linear'],
      ['bias, relu', [8, 16], [16, 12], false, false, [12], 'relu'],
      ['bias, leakyrelu 0.3', [8, 16], [12, 16], false, true, [12], 'leakyrelu', 0.3],
      ['bias, leakyrelu default alpha', [16, 8], [16, 12], true, false, [12], 'leakyrelu'],
      ['bias, sigmoid', [16, 8], [12, 16], true, true, [12], 'sigmoid'],
      ['bias, elu', [8, 16], [16, 12], false, false, [12], 'elu'],
      ['no bias, relu6', [8, 16], [16, 12], false, false, null, 'relu6'],
      ['bias [1, N], relu', [8, 16], [16, 12], false, false, [1, 12], 'relu'],
      ['batched, bias, relu', [3, 4, 6], [3, 6, 5], false, false, [5], 'relu'],
      ['batch broadcast, bias, leakyrelu', [1, 4, 6], [3, 6, 5], false, false, [5], 'leakyrelu', 0.2],
      ['1xK . Kx1, bias, sigmoid', [1, 9], [9, 1], false, false, [1], 'sigmoid'],
      ['dense-sized, bias, relu', [64, 128], [128, 96], false, false, [96], 'relu'],
    ];
    for (const [name, aShape, bShape, tA, tB, biasShape, activation, alpha] of fused) {
      test(`fused matMul ${name}`, async () => {
        await check(
          name,
          () =>
            tf.fused.matMul({
              a: rand(aShape, 60),
              b: rand(bShape, 61),
              transposeA: tA,
              transposeB: tB,
              bias: biasShape ? rand(biasShape, 62) : undefined,
              activation,
              leakyreluAlpha: alpha,
            }),
          HEAVY,
          { uses: ['matmul'] },
        );
      });
    }

    test('fused matMul falls back to cpu for a full [M, N] bias and for prelu', async () => {
      await check('bias [M, N]', () => tf.fused.matMul({ a: rand([5, 7], 63), b: rand([7, 3], 64), bias: rand([5, 3], 65), activation: 'relu' }), HEAVY, {
        declines: ['matmul'],
      });
      await check(
        'prelu',
        () => tf.fused.matMul({ a: rand([5, 7], 66), b: rand([7, 3], 67), bias: rand([3], 68), activation: 'prelu', preluActivationWeights: rand([3], 69, 0, 0.5) }),
        HEAVY,
        { declines: ['matmul'] },
      );
    });

    test('gradients of matMul and fused matMul', async () => {
      await check(
        'matMul grads',
        () =>
          tf.grads((a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) => {
            const y = tf.fused.matMul({ a, b, bias, activation: 'linear' });
            const z = tf.matMul(a, b, false, false);
            return tf.add(tf.sum(tf.mul(y, rand(y.shape, 70))), tf.sum(tf.mul(z, rand(z.shape, 71))));
          })([rand([16, 24], 72), rand([24, 10], 73), rand([10], 74)]),
        HEAVY,
        { uses: ['matmul'] },
      );
    });
  });

  describe('unary ops', () => {
    const ops: [string, (x: tf.Tensor) => tf.Tensor, (shape: number[], seed: number) => tf.Tensor][] = [
      ['relu', tf.relu, (s, k) => rand(s, k, -2, 2)],
      ['leakyRelu 0.15', (x) => tf.leakyRelu(x, 0.15), (s, k) => rand(s, k, -2, 2)],
      ['tanh', tf.tanh, (s, k) => rand(s, k, -4, 4)],
      ['sigmoid', tf.sigmoid, (s, k) => rand(s, k, -10, 10)],
      ['exp', tf.exp, (s, k) => rand(s, k, -5, 5)],
      ['log', tf.log, (s, k) => rand(s, k, 0.01, 10)],
      ['sqrt', tf.sqrt, (s, k) => rand(s, k, 0, 10)],
      ['rsqrt', tf.rsqrt, (s, k) => rand(s, k, 0.01, 10)],
      ['square', tf.square, (s, k) => rand(s, k, -3, 3)],
      ['neg', tf.neg, (s, k) => rand(s, k, -3, 3)],
      ['abs', tf.abs, (s, k) => rand(s, k, -3, 3)],
      ['step', (x) => tf.step(x), (s, k) => ints(s, k)],
      ['step 0.3', (x) => tf.step(x, 0.3), (s, k) => ints(s, k)],
      ['reciprocal', tf.reciprocal, (s, k) => awayFromZero(s, k)],
      ['softplus', tf.softplus, (s, k) => rand(s, k, -20, 20)],
      ['elu', tf.elu, (s, k) => rand(s, k, -3, 3)],
      ['log1p', tf.log1p, (s, k) => rand(s, k, -0.9, 5)],
      ['relu6', tf.relu6, (s, k) => rand(s, k, -3, 9)],
      ['sign', tf.sign, (s, k) => ints(s, k)],
    ];
    const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1e-30, -1e-30, 1e30, -1e30, 88, -88, 100, -100, 0.5, -0.5, 6, 7];

    for (const [name, op, data] of ops) {
      test(name, async () => {
        await check(`${name} [3, 7]`, () => op(data([3, 7], 80)), ELEMENTWISE, { uses: ['unary'] });
        await check(`${name} [180, 190] (threaded)`, () => op(data([180, 190], 81)), ELEMENTWISE, { uses: ['unary'] });
      });

      test(`${name}: NaN, infinities, zeros, extremes`, async () => {
        const fn = (): tf.Tensor => op(tf.tensor1d(SPECIAL));
        const cpu = await compute('cpu', fn);
        const nat = await compute(NATIVE_BACKEND, fn);
        checkAddonUse(name, { uses: ['unary'] });
        // element by element: relative, with an absolute floor for underflow (exp(-100) and the like)
        cpu[0]!.values.forEach((want, i) => {
          const got = nat[0]!.values[i]!;
          const x = SPECIAL[i]!;
          if (Number.isNaN(want) || Number.isNaN(got)) assert.ok(Number.isNaN(want) && Number.isNaN(got), `${name}(${x}): native ${got}, cpu ${want}`);
          else if (!Number.isFinite(want) || !Number.isFinite(got)) assert.equal(got, want, `${name}(${x}): native ${got}, cpu ${want}`);
          else assert.ok(Math.abs(got - want) <= ELEMENTWISE * Math.abs(want) + 1e-6, `${name}(${x}): native ${got}, cpu ${want}`);
        });
      });
    }

    test('int32 input falls back to cpu (abs, neg, square, sign)', async () => {
      await check('int32 unary', () => {
        const x = tf.cast(ints([4, 5], 82), 'int32');
        return [tf.abs(x), tf.neg(x), tf.square(x), tf.sign(x)];
      }, EXACT, { declines: ['unary'] });
    });
  });

  describe('binary ops with broadcasting', () => {
    const ops: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, 'any' | 'divisor' | 'pow'][] = [
      ['add', tf.add, 'any'],
      ['sub', tf.sub, 'any'],
      ['mul', tf.mul, 'any'],
      ['div', tf.div, 'divisor'],
      ['maximum', tf.maximum, 'any'],
      ['minimum', tf.minimum, 'any'],
      ['squaredDifference', tf.squaredDifference, 'any'],
      ['pow', tf.pow, 'pow'],
    ];
    const shapes: [string, number[], number[]][] = [
      ['same shape', [4, 5], [4, 5]],
      ['scalar on the right', [4, 5], []],
      ['scalar on the left', [], [4, 5]],
      ['[N, C] + [C]', [6, 8], [8]],
      ['[C] + [N, C]', [8], [6, 8]],
      ['[N, 1] + [N, C]', [6, 1], [6, 8]],
      ['[2, 1, 3] + [1, 4, 1]', [2, 1, 3], [1, 4, 1]],
      ['rank 0 + rank 0', [], []],
      ['[1] + [3, 1, 2]', [1], [3, 1, 2]],
      ['NHWC + [C] (threaded)', [8, 16, 16, 32], [32]],
      ['same shape (threaded)', [200, 180], [200, 180]],
      ['[N, 1, 1, C] + [N, H, W, 1] (threaded)', [4, 1, 1, 32], [4, 16, 16, 1]],
      ['empty', [0, 3], [3]],
    ];
    for (const [name, op, kind] of ops) {
      test(name, async () => {
        for (const [label, aShape, bShape] of shapes) {
          const a = (): tf.Tensor => (kind === 'pow' ? rand(aShape, 90, 0.1, 2) : rand(aShape, 90, -2, 2));
          const b = (): tf.Tensor => (kind === 'divisor' ? awayFromZero(bShape, 91) : kind === 'pow' ? rand(bShape, 91, -2, 2) : rand(bShape, 91, -2, 2));
          const empty = aShape.includes(0) || bShape.includes(0);
          await check(`${name} ${label}`, () => op(a(), b()), ELEMENTWISE, empty ? {} : { uses: ['binary'] });
        }
      });
    }

    test('NaN and infinities', async () => {
      const a = [NaN, 1, Infinity, -Infinity, 0, -0, 2, -2, 3, Infinity];
      const b = [1, NaN, Infinity, 1, 0, 5, 0, 0.5, -Infinity, -Infinity];
      for (const [name, op] of ops) {
        if (name === 'pow') continue; // below
        await check(`${name} special`, () => op(tf.tensor1d(a), tf.tensor1d(b)), ELEMENTWISE, { uses: ['binary'] });
      }
    });

    test('pow: NaN and infinities', async () => {
      const a = [NaN, 2, Infinity, -Infinity, 0, 0, 2, -2, -2, 0.5];
      const b = [1, NaN, 2, 3, -1, 0, Infinity, 0.5, 3, -Infinity];
      await check('pow special', () => tf.pow(tf.tensor1d(a), tf.tensor1d(b)), ELEMENTWISE, { uses: ['binary'] });
    });

    // Math.pow(1, NaN) and Math.pow(±1, ±Infinity) are NaN in JavaScript, where C's pow gives 1.
    test('pow(1, NaN), pow(±1, ±Infinity), pow(NaN, 0) as Math.pow', async () => {
      await check(
        'pow(1, NaN)',
        () => tf.pow(tf.tensor1d([1, -1, -1, 1, 1, NaN, NaN, 0, 1]), tf.tensor1d([NaN, Infinity, -Infinity, Infinity, -Infinity, 0, -0, NaN, 0])),
        ELEMENTWISE,
        { uses: ['binary'] },
      );
    });

    test('int32 inputs fall back to cpu', async () => {
      await check('int32 binary', () => {
        const a = tf.cast(ints([4, 5], 92), 'int32');
        const b = tf.cast(ints([5], 93), 'int32');
        return [tf.add(a, b), tf.sub(a, b), tf.mul(a, b), tf.maximum(a, b), tf.minimum(a, b), tf.squaredDifference(a, b)];
      }, EXACT, { declines: ['binary'] });
    });
  });

  describe('comparisons and Select', () => {
    const ops: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
      ['greater', tf.greater],
      ['greaterEqual', tf.greaterEqual],
      ['less', tf.less],
      ['lessEqual', tf.lessEqual],
      ['equal', tf.equal],
      ['notEqual', tf.notEqual],
    ];
    const shapes: [string, number[], number[]][] = [
      ['same shape', [4, 5], [4, 5]],
      ['scalar on the right', [4, 5], []],
      ['scalar on the left', [], [4, 5]],
      ['[N, C] vs [C]', [6, 8], [8]],
      ['[N, 1] vs [N, C]', [6, 1], [6, 8]],
      ['[2, 1, 3] vs [1, 4, 1]', [2, 1, 3], [1, 4, 1]],
      ['same shape (threaded)', [200, 180], [200, 180]],
    ];
    for (const [name, op] of ops) {
      test(name, async () => {
        for (const [label, aShape, bShape] of shapes) {
          await check(`${name} ${label}`, () => op(ints(aShape, 100), ints(bShape, 101)), EXACT, { uses: ['compare'] });
        }
        await check(`${name} NaN`, () => op(tf.tensor1d([NaN, NaN, 1, Infinity, -0]), tf.tensor1d([NaN, 1, NaN, Infinity, 0])), EXACT, { uses: ['compare'] });
      });
    }

    test('the results are bool', async () => {
      await tf.setBackend(NATIVE_BACKEND);
      const r = tf.tidy(() => tf.greater(tf.tensor1d([1, 2]), tf.tensor1d([2, 1])));
      assert.equal(r.dtype, 'bool');
      assert.deepEqual(Array.from(r.dataSync()), [0, 1]);
      r.dispose();
    });

    test('int32 comparisons fall back to cpu', async () => {
      await check('int32 compare', () => tf.greater(tf.cast(ints([4, 5], 102), 'int32'), tf.cast(ints([5], 103), 'int32')), EXACT, { declines: ['compare'] });
    });

    test('where (Select), same shapes', async () => {
      await check('where', () => tf.where(tf.greater(rand([5, 6], 104), 0), rand([5, 6], 105), rand([5, 6], 106)), EXACT, { uses: ['select'] });
      await check('where threaded', () => tf.where(tf.greater(rand([200, 180], 107), 0), rand([200, 180], 108), rand([200, 180], 109)), EXACT, { uses: ['select'] });
    });

    test('where with broadcasting (condition and operands tiled first)', async () => {
      await check('where broadcast', () => tf.where(tf.greater(rand([5, 1], 110), 0), rand([5, 6], 111), rand([6], 112)), EXACT, { uses: ['select'] });
    });

    test('Select with a rank-1 condition over rows falls back to cpu', async () => {
      await check(
        'select rows',
        () => tf.engine().runKernel(tf.Select, { condition: tf.greater(rand([5], 113), 0), t: rand([5, 6], 114), e: rand([5, 6], 115) }) as tf.Tensor,
        EXACT,
        { declines: ['select'] },
      );
    });

    test('Select on int32 falls back to cpu', async () => {
      await check('select int32', () => tf.where(tf.greater(rand([5, 6], 116), 0), tf.cast(ints([5, 6], 117), 'int32'), tf.cast(ints([5, 6], 118), 'int32')), EXACT, {
        declines: ['select'],
      });
    });
  });

  describe('reductions', () => {
    const ops: [string, (x: tf.Tensor, axis?: number | number[], keepDims?: boolean) => tf.Tensor][] = [
      ['sum', tf.sum],
      ['mean', tf.mean],
      ['max', tf.max],
      ['min', tf.min],
    ];
    const cases: [string, number[], number[] | number | undefined, boolean, boolean][] = [
      // label, shape, axes, keepDims, handled by the addon
      ['all axes', [4, 5, 6, 7], undefined, false, true],
      ['[0, 1, 2] of NHWC', [4, 5, 6, 7], [0, 1, 2], false, true],
      ['[0, 1, 2] of NHWC, keepDims', [4, 5, 6, 7], [0, 1, 2], true, true],
      ['trailing axis', [4, 5, 6, 7], [3], false, true],
      ['axis -1, keepDims', [4, 5, 6, 7], -1, true, true],
      ['middle axis', [4, 5, 6, 7], [1], false, true],
      ['middle axes [1, 2]', [4, 5, 6, 7], [1, 2], false, true],
      ['leading axis of a matrix', [9, 11], [0], false, true],
      ['size-1 axis between', [3, 1, 5], [1, 2], false, true],
      ['rank 1', [13], [0], false, true],
      ['[0, 1] of [64, 32, 32] (threaded)', [64, 32, 32], [0, 1], false, true],
      ['[2] of [64, 32, 32] (threaded)', [64, 32, 32], [2], false, true],
      ['[1] of [64, 32, 32] (threaded)', [64, 32, 32], [1], false, true],
      ['[1] of [1, 256, 160] (threaded, one outer block)', [1, 256, 160], [1], false, true],
      ['[0, 2] of a rank-3 tensor (cpu kernel)', [4, 5, 6], [0, 2], false, false],
      ['[0, 2] of a rank-3 tensor, keepDims (cpu kernel)', [4, 5, 6], [0, 2], true, false],
      ['[1, 3] of NHWC (cpu kernel)', [4, 5, 6, 7], [1, 3], false, false],
    ];
    for (const [name, op] of ops) {
      test(name, async () => {
        for (const [label, shape, axes, keepDims, handled] of cases) {
          await check(`${name} ${label}`, () => op(rand(shape, 120), axes, keepDims), HEAVY, handled ? { uses: ['reduce'] } : { declines: ['reduce'] });
        }
      });

      test(`${name}: NaN propagates`, async () => {
        const x = (): tf.Tensor => {
          const v = values([4, 5, 6], 121);
          v[7] = NaN; // row 0, col 1, 1
          v[6 * 5 * 2 + 6 * 3] = NaN; // batch 2, row 3, col 0
          v[v.length - 1] = NaN;
          return tf.tensor(v, [4, 5, 6]);
        };
        for (const axes of [undefined, [0], [1], [2], [0, 1], [1, 2]]) {
          await check(`${name} NaN over ${JSON.stringify(axes)}`, () => op(x(), axes), HEAVY, { uses: ['reduce'] });
        }
        // NaN first in a row, then larger and smaller values after it
        await check(`${name} NaN first`, () => op(tf.tensor2d([NaN, 5, -5, 1, 2, 3, 4, NaN, -7], [3, 3]), 1), HEAVY, { uses: ['reduce'] });
        await check(`${name} NaN first, columns`, () => op(tf.tensor2d([NaN, 5, -5, 1, NaN, 3, 4, 8, -7], [3, 3]), 0), HEAVY, { uses: ['reduce'] });
      });
    }

    test('int32 falls back to cpu', async () => {
      await check('int32 reductions', () => {
        const x = tf.cast(ints([4, 5, 6], 122), 'int32');
        return [tf.sum(x, [0, 1]), tf.max(x, 2), tf.min(x), tf.cast(tf.mean(tf.cast(x, 'float32'), 1), 'float32')];
      }, HEAVY, {});
      await check('int32 sum', () => tf.sum(tf.cast(ints([4, 5, 6], 123), 'int32'), 1), EXACT, { declines: ['reduce'] });
    });

    test('large values sum to within float rounding', async () => {
      await check('sum of large offsets', () => tf.sum(tf.add(rand([256, 300], 124), 1000), 0), HEAVY, { uses: ['reduce'] });
      await check('mean of large offsets', () => tf.mean(tf.add(rand([300, 256], 125), 1000)), HEAVY, { uses: ['reduce'] });
    });
  });

  describe('Transpose and Tile', () => {
    const perms: [number[], number[]][] = [
      [[5, 7], [1, 0]],
      [[5, 7], [0, 1]],
      [[2, 3, 4], [0, 2, 1]],
      [[2, 3, 4], [2, 0, 1]],
      [[2, 3, 4], [1, 0, 2]],
      [[2, 3, 4, 5], [0, 3, 1, 2]], // NHWC -> NCHW
      [[2, 5, 3, 4], [0, 2, 3, 1]], // NCHW -> NHWC
      [[2, 3, 4, 5], [3, 2, 1, 0]],
      [[2, 3, 2, 4, 3], [4, 0, 3, 1, 2]],
      [[2, 1, 3, 1, 4], [1, 3, 0, 4, 2]],
      [[2, 1, 3, 2, 2, 3], [5, 3, 1, 0, 4, 2]], // rank 6
      [[64, 64, 16], [2, 0, 1]], // threaded
    ];
    for (const [shape, perm] of perms) {
      test(`transpose [${shape}] by [${perm}]`, async () => {
        await check(`transpose [${shape}] [${perm}]`, () => tf.transpose(rand(shape, 130), perm), EXACT, { uses: ['transpose'] });
      });
    }

    test('transpose of int32 falls back to cpu', async () => {
      await check('int32 transpose', () => tf.transpose(tf.cast(ints([3, 4, 5], 131), 'int32'), [2, 0, 1]), EXACT, { declines: ['transpose'] });
    });

    const tiles: [number[], number[]][] = [
      [[3], [4]],
      [[2, 3], [2, 2]],
      [[2, 3], [1, 3]],
      [[3, 1], [1, 5]],
      [[2, 1, 3], [1, 4, 2]],
      [[2, 3, 2], [2, 2, 3]],
      [[1, 1, 1, 8], [4, 3, 3, 1]], // batch-norm style broadcast
      [[2, 3, 2, 3], [2, 2, 2, 2]],
      [[2, 3, 4, 5], [1, 1, 1, 1]],
      [[2, 1, 3, 1, 2], [1, 3, 2, 2, 1]], // rank 5
      [[16, 32], [8, 8]], // threaded
    ];
    for (const [shape, reps] of tiles) {
      test(`tile [${shape}] by [${reps}]`, async () => {
        await check(`tile [${shape}] [${reps}]`, () => tf.tile(rand(shape, 132), reps), EXACT, { uses: ['tile'] });
      });
    }

    test('empty tensors', async () => {
      await check('empty transpose / tile / sum / max', () => {
        const e = tf.zeros([0, 3]);
        return [tf.transpose(e), tf.tile(rand([2, 3], 135), [0, 1]), tf.sum(e, 0), tf.mean(rand([2, 3], 136), [])];
      }, EXACT);
    });

    test('tile of int32 and bool falls back to cpu', async () => {
      await check('int32 / bool tile', () => [tf.tile(tf.cast(ints([2, 3], 133), 'int32'), [2, 2]), tf.tile(tf.greater(rand([2, 3], 134), 0), [3, 1])], EXACT, {
        declines: ['tile'],
      });
    });
  });

  describe('Slice and SplitV (contiguous-run copies)', () => {
    const slices: [number[], number[], number[]][] = [
      [[7], [2], [3]],
      [[5, 7], [1, 2], [3, 4]],
      [[256, 129], [0, 128], [256, 1]], // a column: the minibatch-stddev concat's gradient
      [[256, 129], [0, 0], [256, 128]],
      [[2, 3, 4, 5], [1, 0, 1, 2], [1, 3, 2, 3]],
      [[2, 3, 4, 5], [0, 1, 0, 0], [2, 2, 4, 5]], // whole inner axes: one run per outer index
      [[3, 4], [0, 0], [0, 4]], // empty
    ];
    for (const [shape, begin, size] of slices) {
      test(`slice [${shape}] at [${begin}] size [${size}]`, async () => {
        await check(`slice [${shape}]`, () => tf.slice(rand(shape, 140), begin, size), EXACT);
      });
    }
    const splits: [number[], number[] | number, number][] = [
      [[256, 129], [128, 1], 1],
      [[6, 4, 5], [1, 2, 2], 2],
      [[6, 4, 5], 2, 0],
      [[2, 3, 4, 6], [3, 0, 3], -1],
    ];
    for (const [shape, sizes, axis] of splits) {
      test(`split [${shape}] into ${JSON.stringify(sizes)} along ${axis}`, async () => {
        await check(`split [${shape}]`, () => tf.split(rand(shape, 141), sizes, axis), EXACT);
      });
    }
    test("concat's gradient (SplitV) and int32 slices", async () => {
      await check('concat grad', () => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.concat([a, tf.ones([16, 1])], 1), rand([16, 9], 142))))(rand([16, 8], 143)), EXACT);
      await check('int32 slice', () => tf.slice(tf.cast(ints([4, 5], 144), 'int32'), [1, 1], [2, 3]), EXACT);
    });
  });

  describe('FusedBatchNorm (tf.batchNorm, given statistics)', () => {
    const C = 8;
    const stats = (seed: number) => ({ mean: rand([C], seed, -0.5, 0.5), variance: rand([C], seed + 1, 0.2, 2), offset: rand([C], seed + 2), scale: rand([C], seed + 3, 0.5, 1.5) });
    const cases: [string, boolean, boolean][] = [
      ['offset and scale', true, true],
      ['neither', false, false],
      ['offset only', true, false],
      ['scale only', false, true],
    ];
    for (const [name, withOffset, withScale] of cases) {
      test(`NHWC, ${name}`, async () => {
        await check(name, () => {
          const s = stats(140);
          return tf.batchNorm(rand([3, 4, 4, C], 141), s.mean, s.variance, withOffset ? s.offset : undefined, withScale ? s.scale : undefined, 1e-3);
        }, ELEMENTWISE, { uses: ['batchNormInfer'] });
      });
    }

    test('rank 2, rank-4 statistics [1, 1, 1, C], threaded size', async () => {
      await check('rank 2', () => {
        const s = stats(142);
        return tf.batchNorm(rand([6, C], 143), s.mean, s.variance, s.offset, s.scale, 1e-5);
      }, ELEMENTWISE, { uses: ['batchNormInfer'] });
      await check('rank-4 stats', () => {
        const s = stats(144);
        const r = (t: tf.Tensor): tf.Tensor4D => tf.reshape(t, [1, 1, 1, C]);
        return tf.batchNorm(rand([2, 3, 3, C], 145), r(s.mean), r(s.variance), r(s.offset), r(s.scale), 1e-3);
      }, ELEMENTWISE, { uses: ['batchNormInfer'] });
      await check('threaded', () => tf.batchNorm(rand([16, 16, 16, 16], 146), rand([16], 147), rand([16], 148, 0.2, 2), rand([16], 149), rand([16], 150), 1e-3), ELEMENTWISE, {
        uses: ['batchNormInfer'],
      });
    });

    test('statistics that are not per channel fall back to cpu', async () => {
      await check('mean [1]', () => tf.batchNorm(rand([3, 4, 4, C], 151), rand([1], 152), rand([1], 153, 0.2, 2), rand([C], 154), rand([C], 155), 1e-3), ELEMENTWISE, {
        declines: ['batchNormInfer'],
      });
      await check(
        'per-element statistics',
        () => tf.batchNorm(rand([2, 3, C], 156), rand([2, 3, C], 157), rand([2, 3, C], 158, 0.2, 2), undefined, undefined, 1e-3),
        ELEMENTWISE,
        { declines: ['batchNormInfer'] },
      );
    });
  });

  describe('training batch norm (ForgerBatchNormTrain / ForgerBatchNormGrad) against the stock layer on cpu', () => {
    interface BnResult {
      y: Float32Array;
      dx: Float32Array;
      dGamma: Float32Array;
      dBeta: Float32Array;
      movingMean: Float32Array;
      movingVariance: Float32Array;
      kernels: string[];
    }

    /** One training call of a layer (fused or stock) and the gradients of sum(y * w). */
    async function bnRun(backend: string, fused: boolean, shape: number[], seed: number): Promise<BnResult> {
      await tf.setBackend(backend);
      const C = shape[shape.length - 1]!;
      const args = { axis: -1, momentum: 0.9, epsilon: 1e-3 };
      const layer = fused ? fusedBatchNormalization(args) : tf.layers.batchNormalization(args);
      tf.tidy(() => {
        layer.apply(tf.zeros(shape)); // builds (inference: no statistics update)
        layer.setWeights([rand([C], seed, 0.5, 1.5), rand([C], seed + 1), rand([C], seed + 2, -0.2, 0.2), rand([C], seed + 3, 0.5, 1.5)]);
      });
      const x = tf.variable(rand(shape, seed + 4, -2, 3), true, `bn-x-${backend}-${String(fused)}-${seed}`);
      const w = rand(shape, seed + 5);
      const [gamma, beta] = layer.trainableWeights.map((v) => v.read() as tf.Variable);
      const read = (t: tf.Tensor): Float32Array => t.dataSync().slice() as Float32Array;
      let y: Float32Array | undefined;
      const info = await tf.profile(() => {
        const { grads, value } = tf.variableGrads(() => {
          const out = layer.apply(x, { training: true }) as tf.Tensor;
          y = read(out);
          return tf.sum(tf.mul(out, w)) as tf.Scalar;
        }, [x, gamma!, beta!]);
        const res = [grads[x.name]!, grads[gamma!.name]!, grads[beta!.name]!];
        value.dispose();
        return res;
      });
      const [dx, dGamma, dBeta] = (info.result as tf.Tensor[]).map((t) => {
        const v = read(t);
        t.dispose();
        return v;
      });
      const weights = layer.getWeights();
      const result = { y: y!, dx: dx!, dGamma: dGamma!, dBeta: dBeta!, movingMean: read(weights[2]!), movingVariance: read(weights[3]!), kernels: info.kernelNames };
      if (backend === NATIVE_BACKEND) for (const k of info.kernelNames) nativeKernelsSeen.add(k);
      layer.dispose();
      tf.dispose([x, w]);
      return result;
    }

    const compare = (got: BnResult, want: BnResult, label: string): void => {
      for (const k of ['y', 'dx', 'dGamma', 'dBeta', 'movingMean', 'movingVariance'] as const) assertValuesClose(got[k], want[k], HEAVY, `${label}: ${k}`);
    };

    const shapes: number[][] = [
      [4, 5, 5, 16], // conv feature map
      [6, 3], // dense
      [8, 16, 16, 32], // threaded (R * C >= 32768)
      [2, 3, 2, 64],
    ];
    for (const shape of shapes) {
      test(`[${shape}]: y, dx, dgamma, dbeta, moving statistics`, async () => {
        const stock = await bnRun('cpu', false, shape, 160);
        const composite = await bnRun('cpu', true, shape, 160);
        assert.ok(!composite.kernels.includes('ForgerBatchNormTrain'), 'cpu runs the composite path');
        compare(composite, stock, `cpu composite [${shape}]`);
        addonCalls.clear();
        const native = await bnRun(NATIVE_BACKEND, true, shape, 160);
        assert.ok(native.kernels.includes('ForgerBatchNormTrain') && native.kernels.includes('ForgerBatchNormGrad'), 'native runs the kernels');
        checkAddonUse(`native [${shape}]`, { uses: ['batchNormTrain', 'batchNormGrad'] });
        compare(native, stock, `native kernels [${shape}]`);
      });
    }
  });

  describe('ForgerActivationGrad (relu and leakyRelu gradients)', () => {
    const ops: [string, (x: tf.Tensor) => tf.Tensor][] = [
      ['relu', tf.relu],
      ['leakyRelu 0.2', (x) => tf.leakyRelu(x, 0.2)],
      ['leakyRelu 0.15', (x) => tf.leakyRelu(x, 0.15)],
    ];
    const gradOf = (op: (x: tf.Tensor) => tf.Tensor, x: () => tf.Tensor, seed: number) => (): tf.Tensor =>
      tf.grad((xi: tf.Tensor) => {
        const y = op(xi);
        return tf.sum(tf.mul(y, rand(y.shape, seed)));
      })(x());

    for (const [name, op] of ops) {
      test(name, async () => {
        await check(`${name} grad, ties at 0`, gradOf(op, () => ints([5, 7], 190), 191), ELEMENTWISE, { uses: ['activationGrad'] });
        await check(`${name} grad (threaded)`, gradOf(op, () => rand([180, 190], 192), 193), ELEMENTWISE, { uses: ['activationGrad'] });
        await check(`${name} grad, infinities and zeros`, gradOf(op, () => tf.tensor1d([Infinity, -Infinity, 0, -0, 1e-30, -1e-30]), 194), ELEMENTWISE, {
          uses: ['activationGrad'],
        });
      });
    }

    test('leakyReLU layer and a relu-activated dense layer, through variableGrads', async () => {
      await check(
        'layers',
        () => {
          const dense = tf.layers.dense({ units: 6, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }), inputShape: [5] });
          const leaky = tf.layers.leakyReLU({ alpha: 0.2 });
          const x = rand([8, 5], 195);
          dense.apply(x); // builds: variableGrads() takes the variables that exist when it is called
          const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(leaky.apply(dense.apply(x)) as tf.Tensor)) as tf.Scalar);
          const out = [value, ...Object.keys(grads).sort().map((k) => grads[k]!)];
          dense.dispose();
          return out;
        },
        ELEMENTWISE,
        { uses: ['activationGrad'] },
      );
    });

    // TF.js's relu gradient is dy * step(x): NaN where x is NaN.
    test('relu gradient where x is NaN', async () => {
      await check('relu grad NaN', gradOf(tf.relu, () => tf.tensor1d([NaN, 1, -1]), 196), ELEMENTWISE, { uses: ['activationGrad'] });
    });

    test('leakyRelu gradient where x is NaN', async () => {
      await check('leakyRelu grad NaN', gradOf((x) => tf.leakyRelu(x, 0.2), () => tf.tensor1d([NaN, 1, -1]), 197), ELEMENTWISE, { uses: ['activationGrad'] });
    });
  });

  describe('Adam (ForgerFusedAdam)', () => {
    const STEPS = 4;
    interface AdamRun {
      /** per variable: w after all steps, and that minus w before them */
      weights: Float32Array[];
      updates: Float32Array[];
      m: Float32Array[];
      v: Float32Array[];
      /** a clone of variable 2 taken after step 1 (sharing its buffer): its values then (cpu only) and after all steps */
      alias: { before: Float32Array | null; after: Float32Array };
      kernels: Set<string>;
      /** per addon.adam call (native), whether it wrote in place */
      inPlace: boolean[];
    }

    /** Nothing is read back between steps: a buffer once read (dataSync, data) is never written in place. */
    async function adamRun(backend: string): Promise<AdamRun> {
      await tf.setBackend(backend);
      const shapes = [[4, 5], [7], [3, 3, 2, 8]];
      // small weights, so that float32 rounding of w stays well below 1e-6 of the updates (~lr per step)
      const vars = shapes.map((s, i) => tf.tidy(() => tf.variable(rand(s, 170 + i, -0.1, 0.1), true, `adam-${backend}-${i}`)));
      const w0 = vars.map((v) => v.dataSync().slice() as Float32Array);
      const opt = new Adam({ learningRate: 0.01, beta1: 0.5, beta2: 0.999 });
      const kernels = new Set<string>();
      const inPlace: boolean[] = [];
      let alias: tf.Tensor | undefined;
      let aliasBefore: Float32Array | null = null;
      for (let step = 0; step < STEPS; step++) {
        if (step === 1) {
          // variable 2's buffer is now another tensor's too: the update must not be written into it
          alias = tf.clone(vars[2]!);
          if (backend === 'cpu') aliasBefore = alias.dataSync().slice() as Float32Array;
        }
        const grads = Object.fromEntries(vars.map((v, i) => [v.name, rand(v.shape, 180 + 10 * step + i, -2, 2)]));
        addonCalls.clear();
        const info = await tf.profile(() => {
          opt.applyGradients(grads);
          return [];
        });
        for (const c of addonCalls.get('adam') ?? []) inPlace.push(c.args[0] === c.args[4]);
        for (const k of info.kernelNames) kernels.add(k);
        tf.dispose(Object.values(grads));
      }
      const state = await opt.getState();
      const run = {
        weights: vars.map((v) => v.dataSync().slice() as Float32Array),
        updates: vars.map((v, i) => Float32Array.from(v.dataSync(), (x, j) => x - w0[i]![j]!)),
        m: state.moments.map((s) => s.m.slice()),
        v: state.moments.map((s) => s.v.slice()),
        alias: { before: aliasBefore, after: alias!.dataSync().slice() as Float32Array },
        kernels,
        inPlace,
      };
      opt.dispose();
      tf.dispose([...vars, alias!]);
      return run;
    }

    let runs: Promise<{ cpu: AdamRun; nat: AdamRun }> | undefined;
    const both = (): Promise<{ cpu: AdamRun; nat: AdamRun }> =>
      (runs ??= (async () => {
        const cpu = await adamRun('cpu');
        const nat = await adamRun(NATIVE_BACKEND);
        for (const k of nat.kernels) nativeKernelsSeen.add(k);
        return { cpu, nat };
      })());

    test(`${STEPS} steps on native (fused kernel) match cpu (ops): variables, their updates, m and v to 1e-6`, async () => {
      const { cpu, nat } = await both();
      assert.ok(!cpu.kernels.has('ForgerFusedAdam'), 'cpu takes the op path');
      assert.ok(nat.kernels.has('ForgerFusedAdam'), 'native runs the fused kernel');
      cpu.weights.forEach((w, i) => assertValuesClose(nat.weights[i]!, w, 1e-6, `variable ${i}`));
      cpu.updates.forEach((u, i) => assertValuesClose(nat.updates[i]!, u, 1e-6, `update of variable ${i}`));
      cpu.m.forEach((m, i) => assertValuesClose(nat.m[i]!, m, 1e-6, `m ${i}`));
      cpu.v.forEach((v, i) => assertValuesClose(nat.v[i]!, v, 1e-6, `v ${i}`));
    });

    test('writes in place only where the variable and its moments own their buffers', async () => {
      const { cpu, nat } = await both();
      assert.equal(nat.inPlace.length, 3 * STEPS, 'one addon.adam call per variable and step');
      // step 1: copies (w was read for w0; the moments were just made from zerosLike tensors the optimizer's tidy
      // still holds); step 2: in place but for the aliased variable 2; later: all in place (the step-2 assign gave
      // variable 2 a buffer of its own)
      assert.deepEqual(nat.inPlace, [false, false, false, true, true, false, ...Array<boolean>(3 * (STEPS - 2)).fill(true)]);
      assert.deepEqual(Array.from(cpu.alias.after), Array.from(cpu.alias.before!), 'cpu: the alias kept its values');
      // a step written into the alias would move it by ~lr = 0.01
      assertValuesClose(nat.alias.after, cpu.alias.before!, ELEMENTWISE, 'native: the alias kept its values');
    });

    // On the cpu backend dataSync() / data() hand out the tensor's own buffer; the in-place update must
    // leave such buffers alone.
    test('getState() and dataSync() arrays read before a step keep their values', async () => {
      for (const backend of ['cpu', NATIVE_BACKEND]) {
        await tf.setBackend(backend);
        const w = tf.tidy(() => tf.variable(rand([6], 198), true, `snapshot-${backend}`));
        const opt = new Adam({ learningRate: 0.1, beta1: 0.5, beta2: 0.999 });
        const g = rand([6], 199);
        opt.applyGradients({ [w.name]: g });
        const state = await opt.getState();
        const m = state.moments[0]!.m;
        const wRead = w.dataSync();
        const copies = [Array.from(m), Array.from(wRead)];
        addonCalls.clear();
        opt.applyGradients({ [w.name]: g });
        const after = [Array.from(m), Array.from(wRead)];
        if (backend === NATIVE_BACKEND) {
          const calls = addonCalls.get('adam') ?? [];
          assert.equal(calls.length, 1);
          assert.notEqual(calls[0]!.args[0], calls[0]!.args[4], 'native: a read-back buffer is not written in place');
        }
        opt.dispose();
        tf.dispose([w, g]);
        assert.deepEqual(after, copies, `${backend}: getState().m and w.dataSync() changed after a later step`);
      }
    });
  });

  describe('memory on native', () => {
    before(async () => {
      await tf.setBackend(NATIVE_BACKEND);
    });

    /** expectNoLeaks (live tensors), and the backend's own data buffers flat too (a kernel's dropped intermediates). */
    async function expectNoNativeLeaks(fn: () => void): Promise<void> {
      const backend = tf.engine().backend;
      fn();
      const buffers = backend.numDataIds();
      await expectNoLeaks(fn);
      assert.equal(backend.numDataIds(), buffers, `native data buffers grew from ${buffers} to ${backend.numDataIds()}`);
    }

    test('a conv step with gradients leaks no tensors', async () => {
      const c = GRADS[0]!;
      const x = rand(xShapeOf(c), 200);
      const f = rand(fShapeOf(c), 201);
      const b = rand([c.oc], 202);
      const dy = rand(yShapeOf(c), 203);
      await expectNoNativeLeaks(() => {
        const g = tf.grads((xi: tf.Tensor, fi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.fused.conv2d({ x: xi as tf.Tensor4D, filter: fi as tf.Tensor4D, strides: c.s, pad: c.pad, bias: bi })))([x, f, b]);
        const t = tf.conv2dTranspose(dy as tf.Tensor4D, f as tf.Tensor4D, xShapeOf(c), c.s as number, c.pad as 'same');
        tf.dispose([...g, t]);
      });
      tf.dispose([x, f, b, dy]);
    });

    test('a matmul (plain, fused, gradients) leaks no tensors', async () => {
      const a = rand([16, 24], 204);
      const b = rand([24, 10], 205);
      const bias = rand([10], 206);
      await expectNoNativeLeaks(() => {
        const outs = [
          tf.matMul(a, b),
          tf.fused.matMul({ a, b, bias, activation: 'relu' }),
          ...tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.matMul(p, q, false, false)))([a, b]),
        ];
        tf.dispose(outs);
      });
      tf.dispose([a, b, bias]);
    });

    test('element-wise, comparison, select, reduction, transpose, tile and batchNorm kernels leak no tensors', async () => {
      const x = rand([4, 6, 6, 8], 207);
      const y = rand([8], 208, 0.1, 1);
      await expectNoNativeLeaks(() => {
        const cond = tf.greater(x, 0);
        const negX = tf.neg(x);
        const condY = tf.greater(y, 0.5);
        const outs = [
          cond,
          negX,
          condY,
          tf.sigmoid(x),
          tf.add(x, y),
          tf.where(cond, x, negX),
          tf.where(condY, y, 0), // broadcasts (tiles) its operands first
          tf.sum(x, [0, 1, 2]),
          tf.max(x, -1),
          tf.sum(x, [0, 2]),
          tf.transpose(x, [0, 3, 1, 2]),
          tf.tile(y, [3]),
          tf.batchNorm(x, y, y, y, y),
        ];
        tf.dispose(outs);
      });
      tf.dispose([x, y]);
    });

    test('a batch-norm training forward and backward leaks no tensors', async () => {
      const layer = fusedBatchNormalization({ axis: -1 });
      const x = rand([4, 5, 5, 16], 209);
      tf.tidy(() => {
        layer.apply(x); // build
      });
      await expectNoNativeLeaks(() => {
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(layer.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar);
        tf.dispose([value, ...Object.values(grads)]);
      });
      layer.dispose();
      x.dispose();
    });

    test('an Adam step leaks no tensors', async () => {
      const vars = [tf.variable(rand([4, 5], 210), true, 'leak-adam-0'), tf.variable(rand([7], 211), true, 'leak-adam-1')];
      const opt = new Adam({ learningRate: 0.01, beta1: 0.5, beta2: 0.999 });
      await expectNoNativeLeaks(() => {
        const grads = Object.fromEntries(vars.map((v, i) => [v.name, rand(v.shape, 212 + i)]));
        opt.applyGradients(grads);
        tf.dispose(Object.values(grads));
      });
      opt.dispose();
      tf.dispose(vars);
    });
  });

  test('every kernel of NATIVE_KERNELS ran on native', () => {
    const missing = Object.keys(NATIVE_KERNELS).filter((k) => !nativeKernelsSeen.has(k));
    assert.deepEqual(missing, [], `kernels never exercised: ${missing.join(', ')}`);
  });
});
