/**
 * The kernels of Forger's 'native' backend: TF.js's cpu backend (its storage, its
 * light kernels) with the heavy ones run by the native addon: oneDNN convolutions
 * (forward, backward-data = the transposed conv, backward-weights) and matrix
 * products with bias and activation fused, and multi-threaded element-wise,
 * comparison, select, reduction and transpose loops. Every kernel takes the cpu
 * kernel's path for what it does not handle (other dtypes, layouts or patterns), so
 * results are the cpu backend's to float rounding; kernels.test.ts-style checks in
 * native.test.ts hold each one to that.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { BN_GRAD_KERNEL, BN_TRAIN_KERNEL } from '../../core/models/batch-norm.ts';
import { FUSED_ADAM } from '../../core/optim.ts';
import { copyBlock } from './copy-block.ts';
import { FUSED_FALLBACKS } from './fused-fallbacks.ts';
import type { NativeAddon } from './native-addon.ts';
import { ACTIVATION_GRAD } from './native-gradients.ts';

/** A native implementation; null means "not handled: run the cpu kernel". */
type NativeImpl = (args: { inputs: Record<string, TensorInfo | undefined>; backend: MathBackendCPU; attrs: NamedAttrMap }, addon: NativeAddon) => TensorInfo | TensorInfo[] | null;

function f32(b: MathBackendCPU, t: TensorInfo | undefined): Float32Array | null {
  if (t === undefined || t.dtype !== 'float32') return null;
  const v = b.data.get(t.dataId)?.values;
  return v instanceof Float32Array ? v : null;
}
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const i32 = (xs: readonly number[]) => Int32Array.from(xs);

// ---- convolutions ----------------------------------------------------------

type ConvInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

const dataFormat = (attrs: NamedAttrMap) => tf.backend_util.convertConv2DDataFormat((attrs['dataFormat'] as 'NHWC' | 'NCHW' | undefined) ?? 'NHWC');

/** [n, ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, dh, dw, pt, pl], or null when oneDNN cannot take it (NCHW, negative end padding). */
function convParams(c: ConvInfo): Int32Array | null {
  if (c.dataFormat !== 'channelsLast') return null;
  const { top, left } = c.padInfo;
  const pb = (c.outHeight - 1) * c.strideHeight + (c.filterHeight - 1) * c.dilationHeight + 1 - c.inHeight - top;
  const pr = (c.outWidth - 1) * c.strideWidth + (c.filterWidth - 1) * c.dilationWidth + 1 - c.inWidth - left;
  if (pb < 0 || pr < 0 || top < 0 || left < 0 || c.batchSize === 0) return null;
  return i32([c.batchSize, c.inHeight, c.inWidth, c.inChannels, c.outHeight, c.outWidth, c.outChannels, c.filterHeight, c.filterWidth,
    c.strideHeight, c.strideWidth, c.dilationHeight, c.dilationWidth, top, left]);
}

/** tfjs fused activation names -> addon codes (prelu is left to the cpu kernel). */
const ACT: Record<string, number> = { linear: 0, relu: 1, leakyrelu: 2, sigmoid: 3, elu: 5, relu6: 6 };

function actCode(attrs: NamedAttrMap): number | null {
  const a = (attrs['activation'] as string | undefined) ?? 'linear';
  return ACT[a] ?? null;
}

const conv2d: NativeImpl = ({ inputs, backend, attrs }, addon) => {
  const { x, filter, bias } = inputs;
  const xv = f32(backend, x), wv = f32(backend, filter);
  if (!xv || !wv) return null;
  const act = actCode(attrs);
  if (act === null || inputs['preluActivationWeights'] !== undefined) return null;
  let bv: Float32Array | null = null;
  if (bias !== undefined) {
    bv = f32(backend, bias);
    if (!bv || bv.length !== filter!.shape[3]) return null;
  }
  const c = tf.backend_util.computeConv2DInfo(x!.shape as [number, number, number, number], filter!.shape as [number, number, number, number],
    attrs['strides'] as [number, number], (attrs['dilations'] as [number, number] | number | undefined) ?? 1, attrs['pad'] as 'same',
    attrs['dimRoundingMode'] as 'floor' | undefined, false, dataFormat(attrs));
  const p = convParams(c);
  if (!p) return null;
  const y = new Float32Array(size(c.outShape));
  addon.conv2d(xv, wv, bv, y, p, act, (attrs['leakyreluAlpha'] as number | undefined) ?? 0.2);
  return backend.makeTensorInfo(c.outShape, 'float32', y);
};

const conv2dBackpropInput: NativeImpl = ({ inputs, backend, attrs }, addon) => {
  const { dy, filter } = inputs;
  const dyv = f32(backend, dy), wv = f32(backend, filter);
  if (!dyv || !wv) return null;
  const inShape = attrs['inputShape'] as [number, number, number, number];
  const c = tf.backend_util.computeConv2DInfo(inShape, filter!.shape as [number, number, number, number], attrs['strides'] as [number, number], 1,
    attrs['pad'] as 'same', attrs['dimRoundingMode'] as 'floor' | undefined, false, dataFormat(attrs));
  const p = convParams(c);
  if (!p) return null;
  const dx = new Float32Array(size(inShape));
  addon.conv2dBackpropInput(dyv, wv, dx, p);
  return backend.makeTensorInfo(inShape, 'float32', dx);
};

const conv2dBackpropFilter: NativeImpl = ({ inputs, backend, attrs }, addon) => {
  const { x, dy } = inputs;
  const xv = f32(backend, x), dyv = f32(backend, dy);
  if (!xv || !dyv) return null;
  const fShape = attrs['filterShape'] as [number, number, number, number];
  const c = tf.backend_util.computeConv2DInfo(x!.shape as [number, number, number, number], fShape, attrs['strides'] as [number, number], 1,
    attrs['pad'] as 'same', attrs['dimRoundingMode'] as 'floor' | undefined, false, dataFormat(attrs));
  const p = convParams(c);
  if (!p) return null;
  const dw = new Float32Array(size(fShape));
  addon.conv2dBackpropFilter(xv, dyv, dw, p);
  return backend.makeTensorInfo(fShape, 'float32', dw);
};

// ---- matrix products -------------------------------------------------------

function matmulImpl(fused: boolean): NativeImpl {
  return ({ inputs, backend, attrs }, addon) => {
    const { a, b, bias } = inputs;
    const av = f32(backend, a), bv = f32(backend, b);
    if (!av || !bv || a!.shape.length < 2 || b!.shape.length < 2) return null;
    const act = fused ? actCode(attrs) : 0;
    if (act === null || inputs['preluActivationWeights'] !== undefined) return null;
    const tA = attrs['transposeA'] === true, tB = attrs['transposeB'] === true;
    const ra = a!.shape.length, rb = b!.shape.length;
    const M = tA ? a!.shape[ra - 1]! : a!.shape[ra - 2]!;
    const K = tA ? a!.shape[ra - 2]! : a!.shape[ra - 1]!;
    const K2 = tB ? b!.shape[rb - 1]! : b!.shape[rb - 2]!;
    const N = tB ? b!.shape[rb - 2]! : b!.shape[rb - 1]!;
    if (K !== K2) return null; // the cpu kernel reports the mismatch
    const batchA = a!.shape.slice(0, -2), batchB = b!.shape.slice(0, -2);
    const bA = size(batchA), bB = size(batchB);
    let batchOut: number[];
    if (bA === bB && batchA.join() === batchB.join()) batchOut = batchA;
    else if (bA === 1) batchOut = batchB;
    else if (bB === 1) batchOut = batchA;
    else return null;
    let biasV: Float32Array | null = null;
    if (bias !== undefined) {
      biasV = f32(backend, bias);
      if (!biasV || biasV.length !== N || bias.shape[bias.shape.length - 1] !== N) return null;
    }
    const outShape = [...(batchOut.length > 0 ? batchOut : ra > 2 || rb > 2 ? [1] : []), M, N];
    const c = new Float32Array(Math.max(bA, bB) * M * N);
    if (c.length > 0) addon.matmul(av, bv, biasV, c, i32([bA, bB, M, K, N, tA ? 1 : 0, tB ? 1 : 0]), act, (attrs['leakyreluAlpha'] as number | undefined) ?? 0.2);
    return backend.makeTensorInfo(ra === 2 && rb === 2 ? [M, N] : outShape, 'float32', c);
  };
}

// ---- element-wise ----------------------------------------------------------

/** Codes as in native/src/elementwise.cc. */
const UNARY: Record<string, number> = {
  [tf.Relu]: 0, [tf.LeakyRelu]: 1, [tf.Tanh]: 2, [tf.Sigmoid]: 3, [tf.Exp]: 4, [tf.Log]: 5, [tf.Sqrt]: 6, [tf.Rsqrt]: 7, [tf.Square]: 8,
  [tf.Neg]: 9, [tf.Abs]: 10, [tf.Step]: 11, [tf.Reciprocal]: 12, [tf.Softplus]: 13, [tf.Elu]: 14, [tf.Log1p]: 15, [tf.Relu6]: 16, [tf.Sign]: 17,
};
const BINARY: Record<string, number> = {
  [tf.Add]: 0, [tf.Sub]: 1, [tf.Multiply]: 2, [tf.RealDiv]: 3, [tf.Maximum]: 4, [tf.Minimum]: 5, [tf.SquaredDifference]: 6, [tf.Pow]: 7,
};
const COMPARE: Record<string, number> = {
  [tf.Greater]: 0, [tf.GreaterEqual]: 1, [tf.Less]: 2, [tf.LessEqual]: 3, [tf.Equal]: 4, [tf.NotEqual]: 5,
};

function unaryImpl(name: string): NativeImpl {
  const op = UNARY[name]!;
  return ({ inputs, backend, attrs }, addon) => {
    const x = inputs['x'];
    const xv = f32(backend, x);
    if (!xv) return null;
    const alpha = name === tf.LeakyRelu ? (attrs['alpha'] as number) : name === tf.Step ? ((attrs['alpha'] as number | undefined) ?? 0) : 0;
    const y = new Float32Array(xv.length);
    addon.unary(op, xv, y, alpha);
    return backend.makeTensorInfo(x!.shape, 'float32', y);
  };
}

function binaryImpl(name: string): NativeImpl {
  const op = BINARY[name]!;
  return ({ inputs, backend }, addon) => {
    const { a, b } = inputs;
    const av = f32(backend, a), bv = f32(backend, b);
    if (!av || !bv) return null;
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a!.shape, b!.shape);
    const out = new Float32Array(size(outShape));
    if (out.length > 0) addon.binary(op, av, i32(a!.shape), bv, i32(b!.shape), out, i32(outShape));
    return backend.makeTensorInfo(outShape, 'float32', out);
  };
}

function compareImpl(name: string): NativeImpl {
  const op = COMPARE[name]!;
  return ({ inputs, backend }, addon) => {
    const { a, b } = inputs;
    const av = f32(backend, a), bv = f32(backend, b);
    if (!av || !bv) return null;
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a!.shape, b!.shape);
    const out = new Uint8Array(size(outShape));
    if (out.length > 0) addon.compare(op, av, i32(a!.shape), bv, i32(b!.shape), out, i32(outShape));
    return backend.makeTensorInfo(outShape, 'bool', out);
  };
}

const select: NativeImpl = ({ inputs, backend }, addon) => {
  const { condition, t, e } = inputs;
  const tv = f32(backend, t), ev = f32(backend, e);
  const cv = condition?.dtype === 'bool' ? backend.data.get(condition.dataId)?.values : null;
  if (!tv || !ev || !(cv instanceof Uint8Array) || cv.length !== tv.length || ev.length !== tv.length) return null;
  const out = new Float32Array(tv.length);
  addon.select(cv, tv, ev, out);
  return backend.makeTensorInfo(t!.shape, 'float32', out);
};

// ---- reductions and transpose ----------------------------------------------

function reduceImpl(op: number, axisAttr: 'axis' | 'reductionIndices'): NativeImpl {
  return ({ inputs, backend, attrs }, addon) => {
    const x = inputs['x'];
    const xv = f32(backend, x);
    if (!xv || xv.length === 0) return null;
    const axes = tf.util.parseAxisParam(attrs[axisAttr] as number | number[], x!.shape);
    const reduced = new Set(axes);
    const outShape = attrs['keepDims'] === true ? x!.shape.map((d, i) => (reduced.has(i) ? 1 : d)) : x!.shape.filter((_, i) => !reduced.has(i));
    const out = new Float32Array(size(outShape));
    if (!addon.reduce(op, xv, i32(x!.shape), i32(axes), out)) return null;
    return backend.makeTensorInfo(outShape, 'float32', out);
  };
}

const transpose: NativeImpl = ({ inputs, backend, attrs }, addon) => {
  const x = inputs['x'];
  const xv = f32(backend, x);
  if (!xv) return null;
  const perm = attrs['perm'] as number[];
  const outShape = perm.map((p) => x!.shape[p]!);
  const out = new Float32Array(xv.length);
  if (out.length > 0) addon.transpose(xv, i32(x!.shape), i32(perm), out);
  return backend.makeTensorInfo(outShape, 'float32', out);
};

const tile: NativeImpl = ({ inputs, backend, attrs }, addon) => {
  const x = inputs['x'];
  const xv = f32(backend, x);
  const reps = attrs['reps'] as number[];
  if (!xv || x!.shape.length === 0 || reps.length !== x!.shape.length) return null;
  const outShape = x!.shape.map((d, i) => d * reps[i]!);
  const out = new Float32Array(size(outShape));
  if (out.length > 0) addon.tile(xv, i32(x!.shape), i32(reps), out);
  return backend.makeTensorInfo(outShape, 'float32', out);
};

/** Slice as contiguous-run copies (the cpu kernel walks strided slices element by element). */
const slice: NativeImpl = ({ inputs, backend, attrs }) => {
  const x = inputs['x'];
  const xv = f32(backend, x);
  if (!xv) return null;
  const [b, z] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs['begin'] as number[], attrs['size'] as number[]) as [number[], number[]];
  const out = new Float32Array(size(z));
  if (out.length > 0) copyBlock(xv, out, x!.shape, b, z);
  return backend.makeTensorInfo(z, 'float32', out);
};

/** SplitV (concat's gradient) as one block copy per piece along the axis. */
const splitV: NativeImpl = ({ inputs, backend, attrs }) => {
  const x = inputs['x'];
  const xv = f32(backend, x);
  if (!xv) return null;
  const shape = x!.shape;
  const axis = tf.util.parseAxisParam(attrs['axis'] as number, shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs['numOrSizeSplits'] as number | number[], axis);
  const begin = shape.map(() => 0);
  return sizes.map((s) => {
    const z = [...shape];
    z[axis] = s;
    const out = new Float32Array(size(z));
    if (out.length > 0) copyBlock(xv, out, shape, begin, z);
    begin[axis]! += s;
    return backend.makeTensorInfo(z, 'float32', out);
  });
};

// ---- batch norm ------------------------------------------------------------

/** Per-channel operands of a channels-last batch norm: C values each (any shape of that size). */
function channelArrays(b: MathBackendCPU, channels: number, ...ts: (TensorInfo | undefined)[]): (Float32Array | null)[] | null {
  const out: (Float32Array | null)[] = [];
  for (const t of ts) {
    if (t === undefined) {
      out.push(null);
      continue;
    }
    const v = f32(b, t);
    if (!v || v.length !== channels) return null;
    out.push(v);
  }
  return out;
}

/** TF.js's FusedBatchNorm (given statistics: inference, sampling). */
const fusedBatchNorm: NativeImpl = ({ inputs, backend, attrs }, addon) => {
  const { x, mean, variance, offset, scale } = inputs;
  const xv = f32(backend, x);
  if (!xv || x!.shape.length === 0) return null;
  const c = x!.shape[x!.shape.length - 1]!;
  const ch = channelArrays(backend, c, mean, variance, offset, scale);
  if (!ch || !ch[0] || !ch[1] || c === 0) return null;
  const y = new Float32Array(xv.length);
  addon.batchNormInfer(xv, ch[0], ch[1], ch[2]!, ch[3]!, y, c, (attrs['varianceEpsilon'] as number | undefined) ?? 0.001);
  return backend.makeTensorInfo(x!.shape, 'float32', y);
};

/** Forger's training batch norm (core/models/batch-norm.ts): y, batch mean, batch variance. */
const bnTrain: NativeImpl = ({ inputs, backend, attrs }, addon) => {
  const { x, gamma, beta } = inputs;
  const xv = f32(backend, x);
  if (!xv || x!.shape.length === 0) return null;
  const c = x!.shape[x!.shape.length - 1]!;
  const ch = channelArrays(backend, c, gamma, beta);
  if (!ch || c === 0 || xv.length === 0) return null;
  const y = new Float32Array(xv.length), mean = new Float32Array(c), variance = new Float32Array(c);
  addon.batchNormTrain(xv, ch[0]!, ch[1]!, y, mean, variance, c, attrs['epsilon'] as number);
  return [backend.makeTensorInfo(x!.shape, 'float32', y), backend.makeTensorInfo([c], 'float32', mean), backend.makeTensorInfo([c], 'float32', variance)];
};

const bnGrad: NativeImpl = ({ inputs, backend, attrs }, addon) => {
  const { dy, x, mean, variance, gamma } = inputs;
  const xv = f32(backend, x), dyv = f32(backend, dy);
  if (!xv || !dyv || dyv.length !== xv.length || x!.shape.length === 0) return null;
  const c = x!.shape[x!.shape.length - 1]!;
  const ch = channelArrays(backend, c, mean, variance, gamma);
  if (!ch || c === 0 || xv.length === 0) return null;
  const dx = new Float32Array(xv.length), dGamma = new Float32Array(c), dBeta = new Float32Array(c);
  addon.batchNormGrad(dyv, xv, ch[0]!, ch[1]!, ch[2]!, dx, dGamma, dBeta, c, attrs['epsilon'] as number);
  return [backend.makeTensorInfo(x!.shape, 'float32', dx), backend.makeTensorInfo(gamma!.shape, 'float32', dGamma), backend.makeTensorInfo(gamma!.shape, 'float32', dBeta)];
};

// ---- activation gradients -------------------------------------------------

/**
 * One-pass gradients of Relu and LeakyRelu. TF.js's own gradients take three passes
 * (step, cast, mul; greater, mul, where); native-gradients.ts routes them here.
 */

const activationGrad: NativeImpl = ({ inputs, backend, attrs }, addon) => {
  const { dy, x } = inputs;
  const dyv = f32(backend, dy), xv = f32(backend, x);
  if (!dyv || !xv || dyv.length !== xv.length) return null;
  const dx = new Float32Array(xv.length);
  addon.activationGrad(attrs['op'] as number, dyv, xv, dx, (attrs['alpha'] as number | undefined) ?? 0);
  return backend.makeTensorInfo(x!.shape, 'float32', dx);
};

// ---- Adam ------------------------------------------------------------------

/**
 * One Adam step for one variable. When the variable and its moments own their
 * buffers (refCount 1, never handed out by a read) the update is written in place and
 * a [1] marker is returned; otherwise the new param, m and v come back as tensors.
 */
const fusedAdam: NativeImpl = ({ inputs, backend, attrs }, addon) => {
  const { param, m, v, grad } = inputs;
  const pv = f32(backend, param), mv = f32(backend, m), vv = f32(backend, v), gv = f32(backend, grad);
  if (!pv || !mv || !vv || !gv || mv.length !== pv.length || vv.length !== pv.length || gv.length !== pv.length) return null;
  const { lrOverC1, c2, beta1, beta2, epsilon } = attrs as Record<string, number>;
  // in place only where no other tensor shares the buffer and no caller was given it (dataSync, data)
  const handedOut = (backend as Partial<{ wasHandedOut(v: object): boolean }>).wasHandedOut;
  const owned = handedOut !== undefined && [param!, m!, v!].every((t) => {
    const d = backend.data.get(t.dataId);
    return d?.refCount === 1 && !handedOut.call(backend, d.values as object);
  });
  if (owned) {
    addon.adam(pv, mv, vv, gv, pv, mv, vv, lrOverC1!, c2!, beta1!, beta2!, epsilon!);
    return backend.makeTensorInfo([1], 'float32', new Float32Array([1]));
  }
  const n = pv.length;
  const np = new Float32Array(n), nm = new Float32Array(n), nv = new Float32Array(n);
  addon.adam(pv, mv, vv, gv, np, nm, nv, lrOverC1!, c2!, beta1!, beta2!, epsilon!);
  const shape = param!.shape;
  return [backend.makeTensorInfo(shape, 'float32', np), backend.makeTensorInfo(shape, 'float32', nm), backend.makeTensorInfo(shape, 'float32', nv)];
};

// ---- registration ----------------------------------------------------------

export const NATIVE_KERNELS: Record<string, NativeImpl> = {
  [tf.Conv2D]: conv2d,
  [tf.FusedConv2D]: conv2d,
  [tf.Conv2DBackpropInput]: conv2dBackpropInput,
  [tf.Conv2DBackpropFilter]: conv2dBackpropFilter,
  [tf.BatchMatMul]: matmulImpl(false),
  [tf._FusedMatMul]: matmulImpl(true),
  ...Object.fromEntries(Object.keys(UNARY).map((k) => [k, unaryImpl(k)])),
  ...Object.fromEntries(Object.keys(BINARY).map((k) => [k, binaryImpl(k)])),
  ...Object.fromEntries(Object.keys(COMPARE).map((k) => [k, compareImpl(k)])),
  [tf.Select]: select,
  [tf.Sum]: reduceImpl(0, 'axis'),
  [tf.Mean]: reduceImpl(1, 'axis'),
  [tf.Max]: reduceImpl(2, 'reductionIndices'),
  [tf.Min]: reduceImpl(3, 'axis'),
  [tf.Transpose]: transpose,
  [tf.Tile]: tile,
  [tf.Slice]: slice,
  [tf.SplitV]: splitV,
  [tf.FusedBatchNorm]: fusedBatchNorm,
  [BN_TRAIN_KERNEL]: bnTrain,
  [BN_GRAD_KERNEL]: bnGrad,
  [FUSED_ADAM]: fusedAdam,
  [ACTIVATION_GRAD]: activationGrad,
};

/**
 * Register every cpu kernel under `backendName`, with the native ones above in
 * front of their cpu counterparts.
 */
export function registerNativeKernels(backendName: string, addon: NativeAddon): void {
  const registered = new Set(tf.getKernelsForBackend(backendName).map((k) => k.kernelName));
  for (const k of tf.getKernelsForBackend('cpu')) {
    if (registered.has(k.kernelName) || k.kernelName in NATIVE_KERNELS) continue;
    tf.registerKernel({ ...k, backendName } as KernelConfig);
  }
  for (const [kernelName, impl] of Object.entries(NATIVE_KERNELS)) {
    if (registered.has(kernelName)) continue;
    const fallback: KernelFunc | undefined = tf.getKernel(kernelName, 'cpu')?.kernelFunc ?? FUSED_FALLBACKS[kernelName];
    if (fallback === undefined) throw new Error(`native kernel ${kernelName} has no fallback`);
    const kernelFunc: KernelFunc = (args) => impl(args as Parameters<NativeImpl>[0], addon) ?? fallback(args);
    tf.registerKernel({ kernelName, backendName, kernelFunc });
  }
}
