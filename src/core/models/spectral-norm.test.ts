/**
 * Spectral normalisation: sigma against the largest singular value from a float64 Jacobi
 * eigen-solve, one training call against a float64 power-iteration step, gradients against
 * central finite differences (u, v held fixed, as PyTorch), inference leaving u alone,
 * optimizer.minimize, the builders, save -> load, config and flags, and a few training
 * steps on cpu, wasm and native (native skipped, with the reason, when the addon is not
 * built) with no tensor leaks.
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
import { expectNoLeaks, relError } from '../../testing/leaks.ts';
import { resolveConfig, type ResolvedConfig, type SpectralNormMode, type UserConfig } from '../config.ts';
import { circlesSampler, toySampler } from '../data.ts';
import { ForgerError } from '../errors.ts';
import { Rng } from '../rng.ts';
import { GanRun } from '../trainer.ts';
import { buildDiscriminator, buildGenerator } from './index.ts';
import { SNConv2D, SNConv2DTranspose, SNDense, spectralNormalize, type OutAxis } from './spectral-norm.ts';

const loaded = registerNativeBackend();
const nativeSkip = loaded.addon === null ? `native backend unavailable: ${loaded.reason}` : false;

let dir: string;
before(async () => {
  await setupBackend('wasm');
  if (!nativeSkip) await setupBackend('native');
  await setupBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'forger-sn-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const prod = (a: number[]) => a.reduce((x, y) => x * y, 1);

function values(n: number, seed: number): number[] {
  const rng = new Rng(seed, 'spectral-norm.test');
  return Array.from({ length: n }, () => 2 * rng.next() - 1);
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, label: string): void {
  assert.equal(got.length, want.length, `${label}: length`);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= tol, `${label}[${i}]: got ${got[i]}, want ${want[i]}`);
}

// ---- float64 reference -------------------------------------------------------------

type Mat = number[][];

/**
 * The kernel as W [out][in], indexed by hand: Dense [in, out] and Conv2D [kh, kw, inC, outC]
 * (out last), Conv2DTranspose [kh, kw, outC, inC] (out second-last, PyTorch's dim=1).
 */
function kernelMatrix(k: ArrayLike<number>, shape: number[], outAxis: OutAxis): Mat {
  if (outAxis === 'last') {
    const out = shape[shape.length - 1]!;
    const rows = k.length / out;
    return Array.from({ length: out }, (_, o) => Array.from({ length: rows }, (_, r) => k[r * out + o]!));
  }
  const [kh, kw, out, inC] = shape as [number, number, number, number];
  return Array.from({ length: out }, (_, o) =>
    Array.from({ length: kh * kw * inC }, (_, j) => {
      const c = j % inC;
      const hw = (j - c) / inC;
      return k[(hw * out + o) * inC + c]!;
    }),
  );
}

/** The inverse of kernelMatrix: W [out][in] back to a flat kernel of `shape`. */
function matrixKernel(w: Mat, shape: number[], outAxis: OutAxis): number[] {
  const k = new Array<number>(prod(shape)).fill(0);
  if (outAxis === 'last') {
    const out = shape[shape.length - 1]!;
    w.forEach((row, o) => row.forEach((x, r) => (k[r * out + o] = x)));
  } else {
    const [, , out, inC] = shape as [number, number, number, number];
    w.forEach((row, o) => row.forEach((x, j) => (k[(((j - (j % inC)) / inC) * out + o) * inC + (j % inC)] = x)));
  }
  return k;
}

const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const unit = (a: number[]) => {
  const n = Math.max(Math.sqrt(dot(a, a)), 1e-12);
  return a.map((x) => x / n);
};
const mv = (w: Mat, x: number[]) => w.map((row) => dot(row, x));
const mtv = (w: Mat, y: number[]) => w[0]!.map((_, j) => w.reduce((s, row, i) => s + row[j]! * y[i]!, 0));

/** One power iteration from u: v = normalize(W^T u), u' = normalize(W v), sigma = u'^T W v. */
function powerStep(w: Mat, u: number[]): { u: number[]; v: number[]; sigma: number } {
  const v = unit(mtv(w, u));
  const wv = mv(w, v);
  const u1 = unit(wv);
  return { u: u1, v, sigma: dot(u1, wv) };
}

/** Inference: sigma from the stored u (normalised), no update. */
function inferenceSigma(w: Mat, u: number[]): number {
  const uh = unit(u);
  return dot(uh, mv(w, unit(mtv(w, uh))));
}

/** All eigenvalues of a symmetric matrix (cyclic Jacobi), descending. */
function symmetricEigenvalues(m: Mat): number[] {
  const a = m.map((r) => r.slice());
  const n = a.length;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p]![q]! ** 2;
    if (off < 1e-26) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p]![q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q]![q]! - a[p]![p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k]![p]!;
          const akq = a[k]![q]!;
          a[k]![p] = c * akp - s * akq;
          a[k]![q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p]![k]!;
          const aqk = a[q]![k]!;
          a[p]![k] = c * apk - s * aqk;
          a[q]![k] = s * apk + c * aqk;
        }
      }
    }
  }
  return a.map((r, i) => r[i]!).sort((x, y) => y - x);
}

/** Singular values of W, descending: sqrt of the eigenvalues of W W^T. */
function singularValues(w: Mat): number[] {
  const wwt = w.map((ri) => w.map((rj) => dot(ri, rj)));
  return symmetricEigenvalues(wwt).map((l) => Math.sqrt(Math.max(l, 0)));
}

// ---- layers under test ---------------------------------------------------------------

interface LayerCase {
  name: string;
  outAxis: OutAxis;
  make: () => tf.layers.Layer;
  input: number[];
  /** The stock op with kernel k (W / sigma) and bias b. */
  reference: (x: tf.Tensor, k: tf.Tensor, b: tf.Tensor) => tf.Tensor;
}

const init = (seed: number) => ({ kernelInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed }), biasInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: seed + 1 }) });

const LAYERS: LayerCase[] = [
  { name: 'dense 7 -> 5', outAxis: 'last', make: () => new SNDense({ units: 5, uSeed: 3, ...init(1) }), input: [4, 7], reference: (x, k, b) => tf.add(tf.matMul(x as tf.Tensor2D, k as tf.Tensor2D), b) },
  {
    name: 'conv2d 3x3 stride 2 same, 2 -> 4 channels',
    outAxis: 'last',
    make: () => new SNConv2D({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', uSeed: 5, ...init(2) }),
    input: [2, 6, 6, 2],
    reference: (x, k, b) => tf.add(tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, 2, 'same'), b),
  },
  {
    name: 'conv2dTranspose 4x4 stride 2 valid, 3 -> 4 channels',
    outAxis: 'second-last',
    make: () => new SNConv2DTranspose({ filters: 4, kernelSize: 4, strides: 2, padding: 'valid', uSeed: 7, ...init(3) }),
    input: [2, 3, 3, 3],
    reference: (x, k, b) => tf.add(tf.conv2dTranspose(x as tf.Tensor4D, k as tf.Tensor4D, [2, 8, 8, 4], 2, 'valid'), b),
  },
];

/** The layer in a one-layer model (which builds it, and disposes it). */
function built(c: LayerCase): { model: tf.Sequential; layer: tf.layers.Layer; kernel: tf.LayerVariable; bias: tf.LayerVariable; u: tf.LayerVariable } {
  const layer = c.make();
  const model = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: c.input.slice(1) }), layer] });
  const [kernel, bias, u] = layer.weights as [tf.LayerVariable, tf.LayerVariable, tf.LayerVariable];
  assert.deepEqual([kernel, bias, u].map((w) => w.originalName.split('/').pop()), ['kernel', 'bias', 'sn_u']);
  assert.deepEqual([kernel.trainable, bias.trainable, u.trainable], [true, true, false]);
  return { model, layer, kernel, bias, u };
}

const read = (w: tf.LayerVariable) => Array.from(w.read().dataSync());

describe('power iteration', () => {
  for (const c of LAYERS) {
    test(`${c.name}: after many training calls sigma is the largest singular value (float64 Jacobi) and W / sigma has norm 1`, () => {
      const { model, layer, kernel, u } = built(c);
      const x = tf.tensor(values(prod(c.input), 1), c.input);
      for (let i = 0; i < 300; i++) tf.dispose(layer.apply(x, { training: true }) as tf.Tensor);
      const w = kernelMatrix(kernel.read().dataSync(), kernel.shape as number[], c.outAxis);
      const s = singularValues(w);
      assert.ok(s[1]! / s[0]! < 0.95, `the test matrix has a spectral gap (${s[0]}, ${s[1]}): 300 iterations converge`);
      const r = spectralNormalize(kernel.read(), u.read() as tf.Tensor1D, c.outAxis, false);
      const sigma = r.sigma.dataSync()[0]!;
      assert.ok(Math.abs(sigma - s[0]!) / s[0]! < 1e-5, `sigma ${sigma} vs largest singular value ${s[0]}`);
      const sn = singularValues(kernelMatrix(r.kernel.dataSync(), kernel.shape as number[], c.outAxis));
      assert.ok(Math.abs(sn[0]! - 1) < 1e-5, `largest singular value of W / sigma: ${sn[0]}`);
      assert.ok(s[0]! > 1.5, `the raw kernel's norm (${s[0]}) is far from 1, so the check means something`);
      tf.dispose([x, r.kernel, r.u, r.sigma]);
      model.dispose();
    });

    test(`${c.name}: one training call is exactly one power iteration and the output uses W / sigma; an inference call uses the stored u and keeps it`, () => {
      const { model, layer, kernel, bias, u } = built(c);
      const shape = kernel.shape as number[];
      const k = read(kernel);
      const w = kernelMatrix(k, shape, c.outAxis);
      const u0 = read(u);
      assert.ok(Math.abs(dot(u0, u0) - 1) < 1e-6, 'u starts as a unit vector');
      const x = tf.tensor(values(prod(c.input), 2), c.input);
      const check = (training: boolean, sigma: number, label: string) => {
        const got = layer.apply(x, { training }) as tf.Tensor;
        const want = tf.tidy(() => c.reference(x, tf.tensor(k.map((a) => a / sigma), shape), bias.read()));
        assertClose(got.dataSync(), want.dataSync(), 1e-5, label);
        tf.dispose([got, want]);
      };
      // training: u0 -> u1, one step
      const step = powerStep(w, u0);
      check(true, step.sigma, 'training output');
      const u1 = read(u);
      assertClose(u1, step.u, 1e-6, 'u after one training call');
      assert.ok(Math.max(...u1.map((a, i) => Math.abs(a - u0[i]!))) > 1e-3, 'u moved');
      // a second step starts from the stored u1
      const step2 = powerStep(w, u1);
      check(true, step2.sigma, 'second training output');
      const u2 = read(u);
      assertClose(u2, step2.u, 1e-6, 'u after two training calls');
      // inference: sigma from u2 as stored, u unchanged bit for bit (apply and predict)
      check(false, inferenceSigma(w, u2), 'inference output');
      assert.deepEqual(read(u), u2);
      tf.dispose(model.predict(x) as tf.Tensor);
      assert.deepEqual(read(u), u2);
      assert.deepEqual(read(kernel), k, 'the raw kernel is never written');
      x.dispose();
      model.dispose();
    });
  }
});

describe('gradient', () => {
  for (const c of LAYERS) {
    test(`${c.name}: d/dW of sum(A * W / sigma) matches central finite differences with u, v fixed (not with u, v moving)`, () => {
      const shape = c.name.startsWith('dense') ? [7, 5] : c.outAxis === 'last' ? [3, 3, 2, 4] : [4, 4, 4, 3];
      const n = prod(shape);
      const k = values(n, 3);
      const a = values(n, 4);
      const out = c.outAxis === 'last' ? shape[shape.length - 1]! : shape[shape.length - 2]!;
      const u0 = unit(values(out, 5));
      const K = tf.tensor(k, shape);
      const A = tf.tensor(a, shape);
      const U = tf.tensor1d(u0);
      const grad = tf.grad((kk: tf.Tensor) => {
        const r = spectralNormalize(kk, U, c.outAxis, true);
        tf.dispose([r.u, r.sigma]);
        return tf.sum(tf.mul(A, r.kernel));
      })(K);
      const got = Array.from(grad.dataSync());
      // float64: u, v from one step at K, then held fixed while K moves
      const { u: u1, v } = powerStep(kernelMatrix(k, shape, c.outAxis), u0);
      const fixed = (kk: number[]) => {
        const sigma = dot(u1, mv(kernelMatrix(kk, shape, c.outAxis), v));
        return dot(a, kk) / sigma;
      };
      const moving = (kk: number[]) => dot(a, kk) / powerStep(kernelMatrix(kk, shape, c.outAxis), u0).sigma;
      const fd = (f: (kk: number[]) => number) =>
        k.map((_, i) => {
          const h = 1e-6;
          const plus = k.slice();
          const minus = k.slice();
          plus[i] = plus[i]! + h;
          minus[i] = minus[i]! - h;
          return (f(plus) - f(minus)) / (2 * h);
        });
      const want = fd(fixed);
      assert.ok(relError(got, want) < 1e-4, `relative error ${relError(got, want)}`);
      // the closed form of the same gradient, laid back in the kernel's layout: (A - <A, W / sigma> u v^T) / sigma
      const sigma = dot(u1, mv(kernelMatrix(k, shape, c.outAxis), v));
      const g = dot(a, k) / sigma;
      const closed = matrixKernel(
        u1.map((ui) => v.map((vj) => ui * vj)),
        shape,
        c.outAxis,
      ).map((uv, i) => (a[i]! - g * uv) / sigma);
      assert.ok(relError(want, closed) < 1e-6, `finite differences vs closed form ${relError(want, closed)}`);
      // differentiating through the iteration would give another gradient: the test tells them apart
      assert.ok(relError(got, fd(moving)) > 1e-3, `u, v fixed vs moving differ by ${relError(got, fd(moving))}`);
      tf.dispose([K, A, U, grad]);
    });
  }

  test('inside optimizer.minimize: one SGD step moves W by -lr (G - <G, W / sigma> u v^T) / sigma and u by one iteration', () => {
    const layer = new SNDense({ units: 3, uSeed: 9, ...init(11) });
    const model = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [4] }), layer] });
    const [kernel, bias, u] = layer.weights as [tf.LayerVariable, tf.LayerVariable, tf.LayerVariable];
    const k = read(kernel);
    const b0 = read(bias);
    const u0 = read(u);
    const xs = values(8, 12);
    const cs = values(6, 13);
    const x = tf.tensor2d(xs, [2, 4]);
    const cT = tf.tensor2d(cs, [2, 3]);
    const lr = 0.1;
    const opt = tf.train.sgd(lr);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    assert.equal(vars.length, 2, 'u is not trainable');
    tf.dispose(opt.minimize(() => tf.sum(tf.mul(cT, model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar, true, vars) ?? []);
    // float64: G = dL/d(W / sigma) = x^T c, W [out][in] = kernel^T
    const w = kernelMatrix(k, [4, 3], 'last');
    const { u: u1, v, sigma } = powerStep(w, u0);
    const gw = w.map((_, o) => w[0]!.map((_, i) => xs[i]! * cs[o]! + xs[4 + i]! * cs[3 + o]!));
    const inner = gw.reduce((s, row, o) => s + dot(row, w[o]!), 0) / sigma;
    const dW = gw.map((row, o) => row.map((gi, i) => (gi - inner * u1[o]! * v[i]!) / sigma));
    const want = matrixKernel(
      w.map((row, o) => row.map((wi, i) => wi - lr * dW[o]![i]!)),
      [4, 3],
      'last',
    );
    assertClose(read(kernel), want, 1e-5, 'kernel after the step');
    assertClose(read(u), u1, 1e-6, 'u after the step');
    assertClose(read(bias), b0.map((bi, o) => bi - lr * (cs[o]! + cs[3 + o]!)), 1e-6, 'bias after the step');
    assert.ok(relError(read(kernel), k) > 1e-3, 'the kernel moved');
    tf.dispose([x, cT]);
    opt.dispose();
    model.dispose();
  });
});

// ---- builders, files, config ---------------------------------------------------------

const ARCHS: [string, UserConfig, string][] = [
  ['mlp on points', { model: { gWidths: [8, 8], dWidths: [8, 8] } }, 'toy-ring8'],
  ['mlp on 3x3 images', { model: { gWidths: [8], dWidths: [8] } }, 'circles-3x3'],
  ['dcgan 8x8', { data: { source: 'circles' }, model: { arch: 'dcgan', dataShape: [8, 8, 1], baseSize: 2, gWidths: [8, 4], dWidths: [4, 8], dBatchNorm: false } }, 'circles-3x3'],
];

function configFor(user: UserConfig, preset: string, spectralNorm: SpectralNormMode): ResolvedConfig {
  return resolveConfig({ ...user, model: { ...user.model, spectralNorm } }, preset);
}

const SN_CLASSES: Record<string, string> = { Dense: 'ForgerSNDense', Conv2D: 'ForgerSNConv2D', Conv2DTranspose: 'ForgerSNConv2DTranspose' };

describe('builders', () => {
  for (const [name, user, preset] of ARCHS) {
    test(`${name}: 'd' normalises every dense/conv layer of D, 'both' of G too; names and initial kernels as with 'off'`, () => {
      const nets = (mode: SpectralNormMode) => {
        const m = configFor(user, preset, mode).model;
        return { g: buildGenerator(m, 4), d: buildDiscriminator(m, 4) };
      };
      const off = nets('off');
      for (const mode of ['d', 'both'] as const) {
        const on = nets(mode);
        for (const net of ['g', 'd'] as const) {
          const normalised = net === 'd' || mode === 'both';
          const a = off[net];
          const b = on[net];
          assert.deepEqual(b.layers.map((l) => l.name), a.layers.map((l) => l.name));
          const weighted = a.layers.filter((l) => SN_CLASSES[l.getClassName()] !== undefined);
          assert.ok(weighted.length >= 2, `${net} has dense/conv layers`);
          a.layers.forEach((l, i) => {
            const want = normalised ? (SN_CLASSES[l.getClassName()] ?? l.getClassName()) : l.getClassName();
            assert.equal(b.layers[i]!.getClassName(), want, `${mode} ${net} ${l.name}`);
          });
          // trainable weights: the same names and initial values; each normalised layer adds a unit sn_u
          const tw = (m: tf.LayersModel) => m.trainableWeights.map((w) => [w.originalName, Array.from(w.read().dataSync())]);
          assert.deepEqual(tw(b), tw(a));
          const us = b.nonTrainableWeights.filter((w) => w.originalName.endsWith('/sn_u'));
          assert.deepEqual(
            us.map((w) => w.originalName),
            normalised ? weighted.map((l) => `${l.name}/sn_u`) : [],
          );
          for (const w of us) assert.ok(Math.abs(tf.tidy(() => tf.sum(tf.square(w.read())).dataSync()[0]!) - 1) < 1e-6, `${w.originalName} is a unit vector`);
        }
        // u is seeded: the same seed gives the same u, another seed another
        const again = buildDiscriminator(configFor(user, preset, mode).model, 4);
        const other = buildDiscriminator(configFor(user, preset, mode).model, 5);
        const u = (m: tf.LayersModel) => m.nonTrainableWeights.filter((w) => w.originalName.endsWith('/sn_u')).map((w) => Array.from(w.read().dataSync()));
        assert.deepEqual(u(again), u(on.d));
        assert.notDeepEqual(u(other), u(on.d));
        [on.g, on.d, again, other].forEach((m) => m.dispose());
      }
      off.g.dispose();
      off.d.dispose();
    });
  }
});

describe('save and load', () => {
  for (const [name, user, preset] of ARCHS) {
    test(`${name}, 'both': model.json names the SN classes; u is saved; loaded models give the same outputs and continue the same iteration`, async () => {
      const m = configFor(user, preset, 'both').model;
      for (const [net, build] of [['generator', buildGenerator], ['discriminator', buildDiscriminator]] as const) {
        const model = build(m, 4);
        const inShape = net === 'generator' ? [6, m.latentDim] : [6, ...m.dataShape];
        const x = tf.tensor(values(prod(inShape), 21), inShape);
        // move u away from its initial value before saving
        for (let i = 0; i < 2; i++) tf.dispose(model.apply(x, { training: true }) as tf.Tensor);
        const path = join(dir, `${name.split(' ').join('-')}-${net}`);
        await saveModelFiles(model, path);
        const json = JSON.parse(await readFile(join(path, 'model.json'), 'utf8'));
        const classes = (json.modelTopology.config.layers as { class_name: string }[]).map((l) => l.class_name);
        assert.ok(classes.some((c) => c.startsWith('ForgerSN')), classes.join(', '));
        const names = (json.weightsManifest[0].weights as { name: string }[]).map((w) => w.name);
        assert.ok(names.some((n) => n.endsWith('/sn_u')), names.join(', '));
        const { model: back } = await loadModelFiles(path);
        const other = build(m, 5);
        await loadWeightsInto(other, path);
        const all = (mm: tf.LayersModel) => mm.weights.map((w) => [w.originalName, Array.from(w.read().dataSync())]);
        assert.deepEqual(all(back), all(model));
        assert.deepEqual(all(other), all(model));
        const out = (mm: tf.LayersModel, training: boolean) => tf.tidy(() => Array.from((mm.apply(x, { training }) as tf.Tensor).dataSync()));
        const want = out(model, false);
        assert.deepEqual(out(back, false), want);
        assert.deepEqual(out(other, false), want);
        // one more training call on each: the same next u, bit for bit
        const next = out(model, true);
        assert.deepEqual(out(back, true), next);
        assert.deepEqual(out(other, true), next);
        assert.deepEqual(all(back), all(model));
        assert.deepEqual(all(other), all(model));
        x.dispose();
        [model, back, other].forEach((mm) => mm.dispose());
      }
    });
  }

  test('save and load leak no tensors', async () => {
    const m = configFor(ARCHS[2]![1], ARCHS[2]![2], 'both').model;
    const model = buildDiscriminator(m, 4);
    const path = join(dir, 'leaks');
    await expectNoLeaks(async () => {
      await saveModelFiles(model, path);
      (await loadModelFiles(path)).model.dispose();
      await loadWeightsInto(model, path);
    });
    model.dispose();
  });
});

describe('config and flags', () => {
  test("default 'off', the --spectral-norm flag, and a one-line E_CONFIG error", () => {
    assert.equal(resolveConfig({}).model.spectralNorm, 'off');
    for (const mode of ['off', 'd', 'both'] as const) {
      assert.equal(resolveConfig(flagsToUserConfig({ 'spectral-norm': mode }, {}, 'mnist-dcgan'), 'mnist-dcgan').model.spectralNorm, mode);
    }
    assert.equal(flagNameFor('model.spectralNorm'), '--spectral-norm');
    assert.throws(
      () => resolveConfig({ model: { spectralNorm: 'g' as 'd' } }),
      (e: unknown) => e instanceof ForgerError && e.code === 'E_CONFIG' && /^model\.spectralNorm "g" is invalid; use one of off, d, both$/.test(e.message),
    );
  });

  test('unsupported conv settings are E_CONFIG errors', () => {
    assert.throws(
      () => new SNConv2D({ filters: 2, kernelSize: 3, dilationRate: 2 }),
      (e: unknown) => e instanceof ForgerError && e.code === 'E_CONFIG' && /no dilation/.test(e.message),
    );
  });
});

describe('training: a few steps on every backend, finite, no leaks, the same numbers as cpu', () => {
  const RUNS: [string, () => ResolvedConfig, () => ConstructorParameters<typeof GanRun>[1]][] = [
    // points, 'd', with wgan-gp and R1: the penalties' double backprop runs through W / sigma
    [
      "mlp 'd', wgan-gp + R1",
      () => resolveConfig({ model: { gWidths: [16], dWidths: [16], spectralNorm: 'd' }, train: { steps: 4, batchSize: 16, gridSize: 8, loss: 'wgan-gp', r1Weight: 1 } }, 'toy-ring8'),
      () => toySampler('ring8', 1),
    ],
    // 3x3 images through a stride-1 dcgan, 'both' (dense, conv, transposed conv), non-saturating
    [
      "dcgan 'both', non-saturating",
      () =>
        resolveConfig(
          { model: { arch: 'dcgan', baseSize: 3, kernelSize: 3, stride: 1, padding: 1, gWidths: [4], dWidths: [4, 4], dBatchNorm: true, spectralNorm: 'both' }, train: { steps: 4, batchSize: 16, gridSize: 8 } },
          'circles-3x3',
        ),
      () => circlesSampler([0, 1], 1),
    ],
  ];

  const losses = async (backend: string, config: ResolvedConfig, data: ConstructorParameters<typeof GanRun>[1]): Promise<{ losses: number[]; u: number[] }> => {
    await tf.setBackend(backend);
    const run = new GanRun(config, data);
    const out: number[] = [];
    await expectNoLeaks(async () => {
      const r = await run.trainOnce();
      assert.ok(Number.isFinite(r.lossD) && Number.isFinite(r.lossG), `${backend}: lossD ${r.lossD}, lossG ${r.lossG}`);
      out.push(r.lossD, r.lossG);
    }, 2);
    const u = run.discriminator.nonTrainableWeights.filter((w) => w.originalName.endsWith('/sn_u')).flatMap((w) => Array.from(w.read().dataSync()));
    run.dispose();
    return { losses: out, u };
  };

  for (const [name, config, data] of RUNS) {
    for (const backend of ['cpu', 'wasm', NATIVE_BACKEND]) {
      test(`${name} on ${backend}`, { skip: backend === NATIVE_BACKEND ? nativeSkip : false }, async () => {
        const cpu = await losses('cpu', config(), data());
        assert.ok(new Set(cpu.losses).size > 2, 'the losses move: the run trained');
        assert.ok(cpu.u.length > 0, 'D has u vectors');
        if (backend === 'cpu') return;
        const got = await losses(backend, config(), data());
        await tf.setBackend('cpu');
        assert.ok(relError(got.losses, cpu.losses) < 1e-3, `${backend} ${got.losses} vs cpu ${cpu.losses}`);
        assert.ok(relError(got.u, cpu.u) < 1e-3, `${backend} u vs cpu: ${relError(got.u, cpu.u)}`);
      });
    }
  }
});
