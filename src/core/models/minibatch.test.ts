/**
 * Minibatch standard deviation and minibatch discrimination: values against hand-computed
 * examples and a float64 reference, gradients against central finite differences of that
 * reference, cross-sample dependence of a whole D, batches of 1, save -> load through
 * model-files.ts, config and flags, and a few training steps on cpu, wasm and native
 * (native skipped, with the reason, when the addon is not built) with no tensor leaks.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { NATIVE_BACKEND, registerNativeBackend } from '../../node/backend/native.ts';
import { setupBackend } from '../../node/backend/setup.ts';
import { flagNameFor, flagsToUserConfig } from '../../node/cli/flags.ts';
import { loadModelFiles, loadWeightsInto, saveModelFiles } from '../../node/run/model-files.ts';
import { relError } from '../../testing/leaks.ts';
import { stepLosses } from '../../testing/train-losses.ts';
import { resolveConfig, type UserConfig } from '../config.ts';
import { circlesSampler, toySampler } from '../data.ts';
import { ForgerError } from '../errors.ts';
import { Rng } from '../rng.ts';
import { scoreReal } from '../sample.ts';
import { GanRun } from '../trainer.ts';
import { buildDiscriminator } from './index.ts';
import { MinibatchDiscrimination, MinibatchStdDev, STDDEV_EPSILON, minibatchDiscrimination, minibatchStdDev, stddevGroupSize } from './minibatch.ts';

const loaded = registerNativeBackend();
const nativeSkip = loaded.addon === null ? `native backend unavailable: ${loaded.reason}` : false;

let dir: string;
before(async () => {
  await setupBackend('wasm');
  if (!nativeSkip) await setupBackend('native');
  await setupBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'forger-minibatch-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const prod = (a: number[]) => a.reduce((x, y) => x * y, 1);

function values(n: number, seed: number): number[] {
  const rng = new Rng(seed, 'minibatch.test');
  return Array.from({ length: n }, () => 2 * rng.next() - 1);
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, label: string): void {
  assert.equal(got.length, want.length, `${label}: length`);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= tol, `${label}[${i}]: got ${got[i]}, want ${want[i]}`);
}

/** Float64 minibatch stddev of x [n, ...f] (flat, row-major), groups i mod M, as the paper / StyleGAN. */
function refStdDev(x: number[], shape: number[], group: number): number[] {
  const [n, ...f] = shape as [number, ...number[]];
  const per = prod(f);
  const c = f[f.length - 1]!;
  const g = stddevGroupSize(n, group);
  const m = n / g;
  const s = new Array<number>(m).fill(0);
  for (let j = 0; j < m; j++) {
    for (let k = 0; k < per; k++) {
      const xs = Array.from({ length: g }, (_, q) => x[(j + q * m) * per + k]!);
      const mean = xs.reduce((a, b) => a + b, 0) / g;
      const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / g;
      s[j]! += Math.sqrt(variance + STDDEV_EPSILON) / per;
    }
  }
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < per / c; p++) out.push(...x.slice(i * per + p * c, i * per + (p + 1) * c), s[i % m]!);
  }
  return out;
}

/** Float64 minibatch discrimination of x [n, a] with T [a, b*c]; j = i left out of the sum. */
function refDisc(x: number[], T: number[], n: number, a: number, b: number, c: number): number[] {
  const M = Array.from({ length: n }, (_, i) => Array.from({ length: b * c }, (_, k) => x.slice(i * a, (i + 1) * a).reduce((acc, v, q) => acc + v * T[q * b * c + k]!, 0)));
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(...x.slice(i * a, (i + 1) * a));
    for (let kb = 0; kb < b; kb++) {
      let o = 0;
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        let l1 = 0;
        for (let kc = 0; kc < c; kc++) l1 += Math.abs(M[i]![kb * c + kc]! - M[j]![kb * c + kc]!);
        o += Math.exp(-l1);
      }
      out.push(o);
    }
  }
  return out;
}

describe('minibatch stddev: values', () => {
  test('group sizes: min(group, N) when it divides N, else its largest divisor below, else one group of N', () => {
    const cases: [number, number, number][] = [
      [64, 4, 4],
      [4, 4, 4],
      [4, 3, 2],
      [6, 4, 3],
      [10, 4, 2],
      [7, 4, 7],
      [2, 4, 2],
      [3, 4, 3],
      [1, 4, 1],
    ];
    for (const [n, group, want] of cases) assert.equal(stddevGroupSize(n, group), want, `N ${n}, group ${group}`);
  });

  test('flat, N=4 of 3 features, groups of 2 (samples 0,2 and 1,3): hand-computed', () => {
    // group {0, 2}: [1,2,3], [3,2,7] -> std [1, 0, 2]; group {1, 3}: [0,0,0], [4,-2,6] -> std [2, 1, 3]
    const x = tf.tensor2d([
      [1, 2, 3],
      [0, 0, 0],
      [3, 2, 7],
      [4, -2, 6],
    ]);
    const y = minibatchStdDev(x, 2);
    assert.deepEqual(y.shape, [4, 4]);
    const s0 = (1 + Math.sqrt(STDDEV_EPSILON) + 2) / 3;
    const s1 = (2 + 1 + 3) / 3;
    assertClose(y.dataSync(), [1, 2, 3, s0, 0, 0, 0, s1, 3, 2, 7, s0, 4, -2, 6, s1], 1e-6, 'y');
    // group 4: one group; the std of each feature over all four samples
    const std = [0, 1, 2].map((k) => {
      const col = [[1, 0, 3, 4], [2, 0, 2, -2], [3, 0, 7, 6]][k]!;
      const mean = col.reduce((a, b) => a + b, 0) / 4;
      return Math.sqrt(col.reduce((a, b) => a + (b - mean) ** 2, 0) / 4 + STDDEV_EPSILON);
    });
    const s = (std[0]! + std[1]! + std[2]!) / 3;
    const y4 = minibatchStdDev(x, 4);
    assertClose(Array.from(y4.dataSync()).filter((_, i) => i % 4 === 3), [s, s, s, s], 1e-6, 'group 4');
    // group 3 does not divide 4: groups of 2, the same as above
    assertClose(minibatchStdDev(x, 3).dataSync(), y.dataSync(), 0, 'group 3 -> 2');
    tf.dispose([x, y, y4]);
  });

  test('NHWC, N=2 of 2x2x1: one constant extra channel holding the mean std over positions', () => {
    // x0 = 0, x1 = [2, 4, 6, 8]: std per position |x1 - x0| / 2 = [1, 2, 3, 4], mean 2.5
    const x = tf.tensor4d([0, 0, 0, 0, 2, 4, 6, 8], [2, 2, 2, 1]);
    const y = minibatchStdDev(x, 4);
    assert.deepEqual(y.shape, [2, 2, 2, 2]);
    assertClose(y.dataSync(), [0, 2.5, 0, 2.5, 0, 2.5, 0, 2.5, 2, 2.5, 4, 2.5, 6, 2.5, 8, 2.5], 1e-6, 'y');
    tf.dispose([x, y]);
  });

  for (const [shape, group] of [
    [[8, 5], 4],
    [[6, 3, 3, 2], 2],
    [[6, 3, 3, 2], 4],
    [[5, 2, 2, 3], 4],
  ] as [number[], number][]) {
    test(`[${shape}] group ${group} matches the float64 reference (through the layer)`, () => {
      const xs = values(prod(shape), 1);
      const layer = new MinibatchStdDev({ groupSize: group });
      const x = tf.tensor(xs, shape);
      const y = layer.apply(x) as tf.Tensor;
      assert.deepEqual(y.shape, [...shape.slice(0, -1), shape[shape.length - 1]! + 1]);
      assert.deepEqual(layer.computeOutputShape([null, ...shape.slice(1)]), [null, ...y.shape.slice(1)]);
      assertClose(y.dataSync(), refStdDev(xs, shape, group), 1e-5, 'y');
      tf.dispose([x, y]);
    });
  }
});

describe('minibatch discrimination: values', () => {
  test('N=3, A=2, B=2, C=2: hand-computed', () => {
    // T maps f = [u, v] to M = [[u, v], [v, u]]: x0 -> 0, x1 = [1, 0], x2 = [0, 2].
    // Kernel 0: M = [0,0], [1,0], [0,2]; kernel 1: [0,0], [0,1], [2,0]; L1 distances d01 = 1, d02 = 2, d12 = 3 in both.
    const x = tf.tensor2d([
      [0, 0],
      [1, 0],
      [0, 2],
    ]);
    const T = tf.tensor2d([
      [1, 0, 0, 1],
      [0, 1, 1, 0],
    ]);
    const y = minibatchDiscrimination(x, T, 2, 2);
    assert.deepEqual(y.shape, [3, 4]);
    const e = Math.exp;
    const o = [e(-1) + e(-2), e(-1) + e(-3), e(-2) + e(-3)];
    assertClose(y.dataSync(), [0, 0, o[0]!, o[0]!, 1, 0, o[1]!, o[1]!, 0, 2, o[2]!, o[2]!], 1e-6, 'y');
    tf.dispose([x, T, y]);
  });

  test('N=6, A=7, B=4, C=3 matches the float64 reference; the layer reads its T', () => {
    const [n, a, b, c] = [6, 7, 4, 3];
    const xs = values(n * a, 2);
    const ts = values(a * b * c, 3);
    const layer = new MinibatchDiscrimination({ kernels: b, dims: c });
    const x = tf.tensor2d(xs, [n, a]);
    layer.build([null, a]);
    assert.deepEqual(layer.weights.map((w) => w.shape), [[a, b * c]]);
    const T = tf.tensor2d(ts, [a, b * c]);
    layer.setWeights([T]);
    const y = layer.apply(x) as tf.Tensor;
    assert.deepEqual(y.shape, [n, a + b]);
    assertClose(y.dataSync(), refDisc(xs, ts, n, a, b, c), 1e-5, 'y');
    tf.dispose([x, T, y, layer.weights[0]!.read()]);
  });

  test('images must be flattened first: a clear E_SHAPE', () => {
    const layer = new MinibatchDiscrimination({ kernels: 2, dims: 2, name: 'mb' });
    assert.throws(() => layer.build([null, 4, 4, 2]), (e: unknown) => e instanceof ForgerError && e.code === 'E_SHAPE' && /mb: .*\[N, A\], got \[,4,4,2\]; flatten first/.test(e.message));
  });
});

describe('gradients against central finite differences of the float64 reference (cpu)', () => {
  /** Central differences of sum(ref(v) * w) with respect to each entry of v. */
  function numericGrad(v: number[], f: (v: number[]) => number[], w: number[], h = 1e-6): number[] {
    const loss = (u: number[]) => f(u).reduce((acc, y, i) => acc + y * w[i]!, 0);
    return v.map((_, i) => {
      const up = v.slice();
      const down = v.slice();
      up[i]! += h;
      down[i]! -= h;
      return (loss(up) - loss(down)) / (2 * h);
    });
  }

  for (const [shape, group] of [
    [[4, 3], 2],
    [[4, 2, 2, 2], 4],
    [[3, 2, 2, 1], 2],
  ] as [number[], number][]) {
    test(`stddev [${shape}] group ${group}: d/dx`, () => {
      const xs = values(prod(shape), 4);
      const outShape = [...shape.slice(0, -1), shape[shape.length - 1]! + 1];
      const w = values(prod(outShape), 5);
      const [gx] = tf.tidy(() => tf.grads((x: tf.Tensor) => tf.sum(tf.mul(minibatchStdDev(x, group), tf.tensor(w, outShape))))([tf.tensor(xs, shape)]).map((g) => g.dataSync()));
      const want = numericGrad(xs, (v) => refStdDev(v, shape, group), w);
      assert.ok(relError(gx!, want) < 1e-4, `relative error ${relError(gx!, want)}`);
      assert.ok(Math.max(...want.map(Math.abs)) > 1e-2, 'the gradient is not trivially zero');
    });
  }

  test('discrimination N=5, A=4, B=3, C=2: d/dx and d/dT', () => {
    const [n, a, b, c] = [5, 4, 3, 2];
    const xs = values(n * a, 6);
    const ts = values(a * b * c, 7);
    const w = values(n * (a + b), 8);
    const [gx, gT] = tf.tidy(() =>
      tf
        .grads((x: tf.Tensor, T: tf.Tensor) => tf.sum(tf.mul(minibatchDiscrimination(x, T, b, c), tf.tensor2d(w, [n, a + b]))))([tf.tensor2d(xs, [n, a]), tf.tensor2d(ts, [a, b * c])])
        .map((g) => g.dataSync()),
    );
    const wantX = numericGrad(xs, (v) => refDisc(v, ts, n, a, b, c), w);
    const wantT = numericGrad(ts, (v) => refDisc(xs, v, n, a, b, c), w);
    assert.ok(relError(gx!, wantX) < 1e-4, `d/dx relative error ${relError(gx!, wantX)}`);
    assert.ok(relError(gT!, wantT) < 1e-4, `d/dT relative error ${relError(gT!, wantT)}`);
    assert.ok(Math.max(...wantT.map(Math.abs)) > 1e-2, 'd/dT is not trivially zero');
  });
});

/** Small Ds: an MLP on points and a strided-conv D on 8x8 images. */
const ARCHS: [string, UserConfig, string][] = [
  ['mlp 2-8-8', { model: { dWidths: [8, 8] }, train: { batchSize: 16 } }, 'toy-ring8'],
  ['dcgan 8x8x1 -> 4 -> 8', { model: { dataShape: [8, 8, 1], baseSize: 2, gWidths: [8, 4], dWidths: [4, 8] }, train: { batchSize: 16 } }, 'mnist-dcgan'],
];
const MODES = ['stddev', 'discrimination'] as const;

function configFor(user: UserConfig, preset: string, minibatch: 'off' | 'stddev' | 'discrimination', extra: UserConfig['model'] = {}) {
  return resolveConfig({ ...user, model: { ...user.model, minibatch, minibatchKernels: 6, minibatchDims: 3, ...extra } }, preset);
}

describe('in D', () => {
  for (const [name, user, preset] of ARCHS) {
    test(`${name}: layer names and shapes, before the logit`, () => {
      for (const mode of MODES) {
        const c = configFor(user, preset, mode);
        const D = buildDiscriminator(c.model, 1);
        const names = D.layers.map((l) => l.name);
        const i = names.indexOf(mode === 'stddev' ? 'd_mbstd' : 'd_mbdisc');
        assert.ok(i >= 0, names.join(', '));
        assert.equal(names[names.length - 1], 'd_logit');
        const inShape = D.layers[i - 1]!.outputShape as (number | null)[];
        const outShape = D.layers[i]!.outputShape as (number | null)[];
        const extra = mode === 'stddev' ? 1 : 6;
        assert.equal(outShape[outShape.length - 1], inShape[inShape.length - 1]! + extra);
        if (c.model.arch === 'dcgan') assert.equal(names[mode === 'stddev' ? i + 1 : i - 1], 'd_flatten', names.join(', '));
        else assert.equal(i, names.length - 2);
        D.dispose();
      }
    });

    test(`${name}: D(x_0) changes when x_1 changes (off: it does not); stddev groups of 2 couple 0 with 2, not 1`, () => {
      const c0 = configFor(user, preset, 'off');
      const shape = [4, ...c0.model.dataShape];
      const xs = values(prod(shape), 9);
      const changed = (k: number) => xs.map((v, i) => (Math.floor(i / prod(c0.model.dataShape)) === k ? -v + 0.3 : v));
      const firstOut = (D: tf.LayersModel, v: number[]) => tf.tidy(() => (D.predict(tf.tensor(v, shape)) as tf.Tensor).dataSync()[0]!);
      const cases: [string, UserConfig['model'], number, boolean][] = [
        ['off', {}, 1, false],
        ['stddev', { minibatchGroup: 4 }, 1, true],
        ['stddev', { minibatchGroup: 2 }, 1, false],
        ['stddev', { minibatchGroup: 2 }, 2, true],
        ['discrimination', {}, 1, true],
      ];
      for (const [mode, extra, k, moves] of cases) {
        const D = buildDiscriminator(configFor(user, preset, mode as 'off', extra).model, 2);
        const d = Math.abs(firstOut(D, xs) - firstOut(D, changed(k)));
        assert.ok(moves ? d > 1e-7 : d === 0, `${mode} ${JSON.stringify(extra)}, sample ${k} changed: D(x_0) moved by ${d}`);
        D.dispose();
      }
    });

    test(`${name}: a batch of 1 gives a finite score and finite weight gradients`, () => {
      for (const mode of MODES) {
        const c = configFor(user, preset, mode);
        const D = buildDiscriminator(c.model, 3);
        const x = values(prod(c.model.dataShape), 10);
        const p = scoreReal(D, Float32Array.from(x), c.model.dataShape);
        assert.equal(p.length, 1);
        assert.ok(Number.isFinite(p[0]!) && p[0]! > 0 && p[0]! < 1, `${mode}: ${p[0]}`);
        const vars = D.trainableWeights.map((w) => w.read() as tf.Variable);
        const grads = tf.tidy(() => {
          const { grads: g } = tf.variableGrads(() => tf.sum(D.apply(tf.tensor(x, [1, ...c.model.dataShape]), { training: true }) as tf.Tensor) as tf.Scalar, vars);
          return vars.map((v) => Array.from(g[v.name]!.dataSync()));
        });
        assert.ok(grads.flat().every(Number.isFinite), `${mode}: non-finite gradient`);
        D.dispose();
      }
    });

    test(`${name}: save -> load (model-files) gives identical outputs; loadWeightsInto too`, async () => {
      for (const mode of MODES) {
        const c = configFor(user, preset, mode);
        const D = buildDiscriminator(c.model, 4);
        const path = join(dir, `${name.split(' ')[0]}-${mode}`);
        await saveModelFiles(D, path);
        const json = JSON.parse(await readFile(join(path, 'model.json'), 'utf8'));
        const classes = (json.modelTopology.config.layers as { class_name: string }[]).map((l) => l.class_name);
        assert.ok(classes.includes(mode === 'stddev' ? 'ForgerMinibatchStdDev' : 'ForgerMinibatchDiscrimination'), classes.join(', '));
        const { model } = await loadModelFiles(path);
        const other = buildDiscriminator(c.model, 5);
        await loadWeightsInto(other, path);
        const shape = [6, ...c.model.dataShape];
        const x = values(prod(shape), 11);
        const out = (m: tf.LayersModel) => tf.tidy(() => Array.from((m.predict(tf.tensor(x, shape)) as tf.Tensor).dataSync()));
        const want = out(D);
        assert.deepEqual(out(model), want);
        assert.deepEqual(out(other), want);
        assert.equal(new Set(want).size, want.length, 'the outputs differ between samples: the check compares something');
        [D, model, other].forEach((m) => m.dispose());
      }
    });
  }

  test('turning discrimination on adds d_mbdisc and leaves the other layers and initial weights as they were (but the logit kernel, which grows)', () => {
    const [, user, preset] = ARCHS[1]!;
    const off = buildDiscriminator(configFor(user, preset, 'off').model, 6);
    const on = buildDiscriminator(configFor(user, preset, 'discrimination').model, 6);
    const w = (m: tf.LayersModel) => m.weights.filter((v) => !v.originalName.startsWith('d_mbdisc')).map((v) => ({ name: v.originalName, values: Array.from(v.read().dataSync()) }));
    assert.deepEqual(
      off.layers.map((l) => l.name),
      on.layers.map((l) => l.name).filter((n) => n !== 'd_mbdisc'),
    );
    const [a, b] = [w(off), w(on)];
    assert.deepEqual(a.map((v) => v.name), b.map((v) => v.name));
    // the logit's kernel grows by the B new inputs; every other weight is the same
    for (let i = 0; i < a.length; i++) if (!a[i]!.name.startsWith('d_logit/kernel')) assert.deepEqual(a[i]!.values, b[i]!.values, a[i]!.name);
    off.dispose();
    on.dispose();
  });
});

describe('config and flags', () => {
  test('defaults, flags, and one-line E_CONFIG errors naming the key and what is allowed', () => {
    const m = resolveConfig({}).model;
    assert.deepEqual([m.minibatch, m.minibatchKernels, m.minibatchDims, m.minibatchGroup], ['off', 50, 5, 4]);
    const user = flagsToUserConfig({ minibatch: 'discrimination', 'minibatch-kernels': '20', 'minibatch-dims': '3', 'minibatch-group': '8' }, {}, 'mnist-dcgan');
    const r = resolveConfig(user, 'mnist-dcgan').model;
    assert.deepEqual([r.minibatch, r.minibatchKernels, r.minibatchDims, r.minibatchGroup], ['discrimination', 20, 3, 8]);
    const bad: [UserConfig, RegExp][] = [
      [{ model: { minibatch: 'batch' as 'off' } }, /^model\.minibatch "batch" is invalid; use one of off, stddev, discrimination$/],
      [{ model: { minibatchKernels: 0 } }, /^model\.minibatchKernels 0 is invalid; expected an integer in \[1, 4096\]$/],
      [{ model: { minibatchDims: 2.5 } }, /^model\.minibatchDims 2\.5 is invalid/],
      [{ model: { minibatchGroup: 1 } }, /^model\.minibatchGroup 1 is invalid; expected an integer in \[2, 65536\]$/],
      [{ model: { minibatch: 'stddev', minibatchGroup: 4 }, train: { batchSize: 50 } }, /^model\.minibatchGroup 4 is invalid; groups must split train\.batchSize 50 evenly; use 2 or another divisor/],
      [{ model: { minibatch: 'stddev', minibatchGroup: 4 }, train: { batchSize: 7 } }, /use 7 or another divisor/],
    ];
    for (const [u, re] of bad) assert.throws(() => resolveConfig(u), (e: unknown) => e instanceof ForgerError && e.code === 'E_CONFIG' && re.test(e.message), JSON.stringify(u));
    // a group larger than the batch is one group of the whole batch; only discrimination ignores the group
    assert.equal(resolveConfig({ model: { minibatch: 'stddev', minibatchGroup: 64 }, train: { batchSize: 50 } }).model.minibatchGroup, 64);
    assert.equal(resolveConfig({ model: { minibatch: 'discrimination', minibatchGroup: 4 }, train: { batchSize: 50 } }).train.batchSize, 50);
    assert.equal(flagNameFor('model.minibatchGroup'), '--minibatch-group');
    assert.equal(flagNameFor('model.minibatch'), '--minibatch');
  });
});

describe('training: a few steps on every backend, finite, no leaks, the same numbers as cpu', () => {
  const RUNS: [string, () => ReturnType<typeof resolveConfig>, () => ConstructorParameters<typeof GanRun>[1]][] = [];
  for (const mode of MODES) {
    // points, with wgan-gp and R1: the penalties' double backprop runs through the layer
    RUNS.push([
      `mlp ${mode}, wgan-gp + R1`,
      () => resolveConfig({ model: { gWidths: [16], dWidths: [16], minibatch: mode, minibatchKernels: 8, minibatchDims: 4 }, train: { steps: 4, batchSize: 16, gridSize: 8, loss: 'wgan-gp', r1Weight: 1 } }, 'toy-ring8'),
      () => toySampler('ring8', 1),
    ]);
    // 3x3 images through a stride-1 dcgan, non-saturating
    RUNS.push([
      `dcgan ${mode}, non-saturating`,
      () =>
        resolveConfig(
          { model: { arch: 'dcgan', baseSize: 3, kernelSize: 3, stride: 1, padding: 1, gWidths: [4], dWidths: [4, 4], dBatchNorm: true, minibatch: mode, minibatchKernels: 8, minibatchDims: 4 }, train: { steps: 4, batchSize: 16, gridSize: 8 } },
          'circles-3x3',
        ),
      () => circlesSampler([0, 1], 1),
    ]);
  }

  for (const [name, config, data] of RUNS) {
    for (const backend of ['wasm', NATIVE_BACKEND]) {
      test(`${name} on ${backend}`, { skip: backend === NATIVE_BACKEND ? nativeSkip : false }, async () => {
        const cpu = await stepLosses('cpu', config(), data());
        const got = await stepLosses(backend, config(), data());
        await tf.setBackend('cpu');
        assert.ok(relError(got, cpu) < 1e-3, `${backend} ${got} vs cpu ${cpu}`);
        assert.ok(new Set(cpu).size > 2, 'the losses move: the run trained');
      });
    }
  }
});
