/**
 * Kernels the TF.js wasm backend (4.22) lacks or runs slowly, composed from its
 * XNNPACK-backed ops so that GANs train on wasm with the cpu backend's results:
 *
 *  - Conv2DBackpropFilter (missing: every conv's weight gradient): one dilated
 *    conv2d of transposed tensors, or for 1-4 input channels one matMul of the
 *    patches and dy.
 *  - Conv2DBackpropInput (a naive loop; also what conv2dTranspose runs forward):
 *    sub-pixel decomposition into one stride-1 conv2d per output phase and an
 *    interleave.
 *  - UnsortedSegmentSum (missing: the gradient of gather, e.g. an embedding):
 *    a one-hot matMul.
 *  - OneHot (wrong for dtype float32: the wasm kernel writes int32 bits whatever
 *    the dtype): the int32 one-hot, then on/off values of the asked dtype.
 *  - Cast to bool (the wasm kernel copies with Uint8Array.set: 0.5 -> false,
 *    -1 -> 255): x != 0, as on cpu.
 *  - BatchMatMul with transposeA/transposeB (every dense layer's gradient): the
 *    stock kernel leaves XNNPACK for a loop 10-25x slower (a^T g for a 64x1024
 *    by 64x784 weight gradient: 174 ms vs 7 ms); transposing first is exact.
 *  - Tile (an element-by-element loop, ~10x slower than a broadcast; batch norm's
 *    gradient tiles its per-channel terms to the full activation shape): a
 *    broadcasting multiply by ones.
 *
 * Forger's own fused kernels (batch norm, activation gradients, Adam) are added
 * too, as JS loops over the heap: see wasm-fused.ts.
 *
 * A kernelFunc here calls tf ops (they run on wasm, off the gradient tape) inside
 * tf.tidy and returns a tf.Tensor, which the engine accepts as the output.
 */
import * as tf from '@tensorflow/tfjs';
import type { Conv2DBackpropFilterAttrs, Conv2DBackpropInputAttrs, KernelFunc } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { ForgerError } from '../../core/errors.ts';
import { registerActivationGradients } from './native-gradients.ts';
import { registerWasmFastOps } from './wasm-fast-ops.ts';
import { registerWasmFusedKernels } from './wasm-fused.ts';
import { attrsOf, replaceKernel, runStock, tensorInput } from './wasm-kernel-util.ts';

type Conv2DInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;
type Pads = [[number, number], [number, number], [number, number], [number, number]];

/** The kernel names registerWasmTrainingKernels() provides on wasm. */
export const WASM_TRAINING_KERNELS = [tf.Conv2DBackpropFilter, tf.Conv2DBackpropInput, tf.UnsortedSegmentSum, tf.OneHot, tf.Cast, tf.Tile, tf.BatchMatMul] as const;

/**
 * Register (once) the kernels above for the 'wasm' backend, replacing stock ones
 * where they exist, with the faster element-wise ones (wasm-fast-ops.ts) and
 * Forger's fused kernels (wasm-fused.ts). Safe to call before or after the
 * backend is initialised.
 */
export function registerWasmTrainingKernels(): void {
  replaceKernel(tf.Conv2DBackpropFilter, conv2dBackpropFilter);
  replaceKernel(tf.Conv2DBackpropInput, conv2dBackpropInput);
  replaceKernel(tf.UnsortedSegmentSum, unsortedSegmentSum);
  replaceKernel(tf.OneHot, oneHot);
  replaceKernel(tf.Cast, cast);
  replaceKernel(tf.Tile, tile);
  replaceKernel(tf.BatchMatMul, batchMatMul);
  registerWasmFastOps();
  registerWasmFusedKernels();
  registerActivationGradients();
}

function conv2dInfo(xShape: number[], filterShape: number[], a: { strides: [number, number] | number; pad: Conv2DBackpropInputAttrs['pad']; dimRoundingMode?: 'floor' | 'round' | 'ceil' }): Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/**
 * dW[a, b, c, o] = sum_{n,i,j} x[n, i*sh - top + a, j*sw - left + b, c] * dy[n, i, j, o]
 * which is a stride-1 conv of x^T [inC, H, W, N] (channels as the batch) with dy^T
 * [outH, outW, N, outC] as the filter, dilated by the forward stride.
 */
const conv2dBackpropFilter: KernelFunc = ({ inputs, attrs, backend }) => {
  const name = tf.Conv2DBackpropFilter;
  const a = attrsOf<Conv2DBackpropFilterAttrs>(attrs);
  if (a.dataFormat !== 'NHWC') throw new ForgerError('E_BACKEND', `${name} on wasm supports dataFormat NHWC only (got ${a.dataFormat})`);
  const x = tensorInput(inputs, 'x', name);
  const dy = tensorInput(inputs, 'dy', name);
  if (x === null || dy === null) throw new ForgerError('E_BACKEND', `${name} on wasm needs tensor inputs, not bare TensorInfos`);
  const info = conv2dInfo(x.shape, a.filterShape, a);
  if (info.inChannels <= MAX_IM2COL_CHANNELS && x.dtype === 'float32' && dy.dtype === 'float32') return filterGradIm2col(x, dy, info, backend as BackendWasm);
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const { top, left } = info.padInfo;
  // Pad x at the bottom/right so the dilated conv yields at least kh x kw outputs; extra ones are cropped.
  const bottom = Math.max(0, sh * (info.outHeight - 1) + kh - info.inHeight - top);
  const right = Math.max(0, sw * (info.outWidth - 1) + kw - info.inWidth - left);
  return tf.tidy(() => {
    const xT = tf.transpose(x, [3, 1, 2, 0]); // [inC, H, W, N]
    const dyT = tf.transpose(dy, [1, 2, 0, 3]); // [outH, outW, N, outC]
    const pads: Pads = [[0, 0], [top, bottom], [left, right], [0, 0]];
    const g = tf.conv2d(xT as tf.Tensor4D, dyT as tf.Tensor4D, 1, pads, 'NHWC', [sh, sw]); // [inC, >=kh, >=kw, outC]
    const gk = g.shape[1] === kh && g.shape[2] === kw ? g : tf.slice(g, [0, 0, 0, 0], [-1, kh, kw, -1]);
    return tf.transpose(gk, [1, 2, 0, 3]); // [kh, kw, inC, outC]
  });
};

/**
 * Up to this many input channels the filter gradient is one matMul of the
 * patches (built in JS) and dy: the dilated conv would run as a batch of 1-4
 * images with a huge filter (64x28x28x1 by 64x14x14x64: 7.1 -> 2.6 ms;
 * 64x64x64x3 by 64x32x32x64: 58 -> 28 ms; at 8 channels the conv is faster).
 */
const MAX_IM2COL_CHANNELS = 4;

/** dW [kh*kw*inC, outC] = cols [kh*kw*inC, N*outH*outW] x dy [N*outH*outW, outC], cols[(a, b, c), (n, i, j)] = x[n, i*sh - top + a, j*sw - left + b, c] or 0. */
function filterGradIm2col(x: tf.Tensor, dy: tf.Tensor, info: Conv2DInfo, backend: BackendWasm): tf.Tensor {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, outChannels: oc } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const { top, left } = info.padInfo;
  const src = backend.typedArrayFromHeap(x) as Float32Array;
  const p = n * oh * ow;
  const cols = new Float32Array(kh * kw * c * p);
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      for (let ch = 0; ch < c; ch++) {
        let o = ((a * kw + b) * c + ch) * p;
        for (let bn = 0; bn < n; bn++) {
          for (let i = 0; i < oh; i++, o += ow) {
            const y = i * sh - top + a;
            if (y < 0 || y >= h) continue;
            const row = (bn * h + y) * w;
            for (let j = 0; j < ow; j++) {
              const xx = j * sw - left + b;
              if (xx >= 0 && xx < w) cols[o + j] = src[(row + xx) * c + ch]!;
            }
          }
        }
      }
    }
  }
  return tf.tidy(() => tf.reshape(tf.matMul(tf.tensor2d(cols, [kh * kw * c, p]), tf.reshape(dy, [p, oc])), [kh, kw, c, oc]));
}

/**
 * One axis of the sub-pixel plan. Output p of the transposed conv (forward input
 * row) gathers dy[i] * f[a] over i*s + a = p + pad. With P = p + pad, phase r = P mod s
 * and u = floor(P / s), the taps are a = r + s*m, i = u - m for m < M = ceil(k / s):
 * a stride-1 correlation of dy with the phase's sub-filter, flipped.
 */
interface AxisPlan {
  /** taps per phase, ceil(k / s) */
  m: number;
  /** explicit conv padding before/after dy */
  padBefore: number;
  padAfter: number;
  /** first conv output row to keep, and how many (one per u) */
  start: number;
  count: number;
  /** first row of the interleaved phases that is output row 0 (pad mod s) */
  offset: number;
}

function axisPlan(k: number, s: number, pad: number, outLen: number, dyLen: number): AxisPlan {
  const m = Math.ceil(k / s);
  const uMin = Math.floor(pad / s);
  const uMax = Math.floor((pad + outLen - 1) / s);
  const count = uMax - uMin + 1;
  // conv output row t reads dy rows t - padBefore .. t - padBefore + m - 1, i.e. u = t + m - 1 - padBefore
  const padBefore = Math.max(0, m - 1 - uMin);
  const start = uMin - (m - 1) + padBefore;
  const padAfter = Math.max(0, start + count + m - 1 - dyLen - padBefore);
  return { m, padBefore, padAfter, start, count, offset: pad - uMin * s };
}

/**
 * f [kh, kw, inC, outC] -> K [Mh, Mw, outC, (rh, rw, inC)] with
 * K[th, tw, o, (rh, rw, c)] = f[rh + sh(Mh-1-th), rw + sw(Mw-1-tw), c, o], 0 past the kernel.
 * Built in JS: the filter is small, and the wasm 6-D transpose and reverse are slow.
 */
function subPixelFilter(filter: tf.Tensor, sh: number, sw: number, h: AxisPlan, w: AxisPlan): tf.Tensor4D {
  const [kh, kw, inC, outC] = filter.shape as [number, number, number, number];
  const f = filter.dataSync();
  const phases = sh * sw * inC;
  const k = new Float32Array(h.m * w.m * outC * phases);
  for (let th = 0; th < h.m; th++) {
    for (let rh = 0; rh < sh; rh++) {
      const a = rh + sh * (h.m - 1 - th);
      if (a >= kh) continue;
      for (let tw = 0; tw < w.m; tw++) {
        for (let rw = 0; rw < sw; rw++) {
          const b = rw + sw * (w.m - 1 - tw);
          if (b >= kw) continue;
          const src = (a * kw + b) * inC * outC;
          const dst = (th * w.m + tw) * outC * phases + (rh * sw + rw) * inC;
          for (let c = 0; c < inC; c++) {
            for (let o = 0; o < outC; o++) k[dst + o * phases + c] = f[src + c * outC + o]!;
          }
        }
      }
    }
  }
  return tf.tensor4d(k, [h.m, w.m, outC, phases]);
}

/**
 * One output phase q (output rows p = t*s + q) of one axis: a stride-1 conv of dy
 * with the taps a = r + s*m of kernel phase r = (q + pad) mod s, whose output row
 * t is u = uLo + t of the AxisPlan notation.
 */
interface PhasePlan {
  q: number;
  r: number;
  /** output rows of this phase, ceil((outLen - q) / s) */
  count: number;
  padBefore: number;
  padAfter: number;
}

/**
 * The phases of one axis, or null when one would need negative padding before dy
 * (a padding of more than a kernel's worth) or has no rows (the one-conv plan runs then).
 */
function phasePlans(k: number, s: number, pad: number, outLen: number, dyLen: number): PhasePlan[] | null {
  const m = Math.ceil(k / s);
  const plans: PhasePlan[] = [];
  for (let q = 0; q < s; q++) {
    const r = (q + pad) % s;
    const uLo = (q + pad - r) / s;
    const count = Math.ceil((outLen - q) / s);
    const padBefore = m - 1 - uLo;
    if (padBefore < 0 || count <= 0) return null;
    plans.push({ q, r, count, padBefore, padAfter: Math.max(0, count + m - 1 - dyLen - padBefore) });
  }
  return plans;
}

/** The sub-filter of kernel phase (rh, rw): K[th, tw, o, c] = f[rh + sh(Mh-1-th), rw + sw(Mw-1-tw), c, o], 0 past the kernel. */
function phaseFilter(f: Float32Array | Int32Array | Uint8Array, shape: number[], sh: number, sw: number, rh: number, rw: number): tf.Tensor4D {
  const [kh, kw, inC, outC] = shape as [number, number, number, number];
  const mh = Math.ceil(kh / sh);
  const mw = Math.ceil(kw / sw);
  const k = new Float32Array(mh * mw * outC * inC);
  for (let th = 0; th < mh; th++) {
    const a = rh + sh * (mh - 1 - th);
    if (a >= kh) continue;
    for (let tw = 0; tw < mw; tw++) {
      const b = rw + sw * (mw - 1 - tw);
      if (b >= kw) continue;
      const src = (a * kw + b) * inC * outC;
      const dst = (th * mw + tw) * outC * inC;
      for (let c = 0; c < inC; c++) {
        for (let o = 0; o < outC; o++) k[dst + o * inC + c] = f[src + c * outC + o]!;
      }
    }
  }
  return tf.tensor4d(k, [mh, mw, outC, inC]);
}

/**
 * Below this many output channels one conv of all phases is faster: a conv per
 * phase would have only inC output channels (64x14x14x64 -> 64x28x28x1: 2.2 ms as
 * one conv, 5.4 ms by phases; 64x32x32x64 -> 64x64x64x3: 16 vs 30 ms).
 */
const MIN_PHASE_CHANNELS = 16;

/**
 * Transposed conv by phases: each of the sh*sw output phases is one stride-1
 * conv2d of dy with that phase's sub-filter, computing exactly the outputs it
 * owns (7x7 of a 7 -> 14 layer, where one conv of all phases computes 8x8, 30%
 * more), then the phases are interleaved into the output on the heap.
 */
const conv2dBackpropInput: KernelFunc = (args) => {
  const name = tf.Conv2DBackpropInput;
  const { inputs, attrs } = args;
  const a = attrsOf<Conv2DBackpropInputAttrs>(attrs);
  const dy = tensorInput(inputs, 'dy', name);
  const filter = tensorInput(inputs, 'filter', name);
  if (dy === null || filter === null || a.dataFormat !== 'NHWC' || dy.dtype !== 'float32' || filter.dtype !== 'float32') return runStock(name, args);
  const info = conv2dInfo(a.inputShape, filter.shape, a);
  const { strideHeight: sh, strideWidth: sw } = info;
  const hs = phasePlans(info.filterHeight, sh, info.padInfo.top, info.inHeight, info.outHeight);
  const ws = phasePlans(info.filterWidth, sw, info.padInfo.left, info.inWidth, info.outWidth);
  if (hs === null || ws === null || info.batchSize === 0 || info.inChannels < MIN_PHASE_CHANNELS) return oneConvTransposed(dy, filter, info);
  const f = filter.dataSync();
  const phases = tf.tidy(() =>
    hs.flatMap((h) =>
      ws.map((w) => {
        const pads: Pads = [[0, 0], [h.padBefore, h.padAfter], [w.padBefore, w.padAfter], [0, 0]];
        return tf.conv2d(dy as tf.Tensor4D, phaseFilter(f, filter.shape, sh, sw, h.r, w.r), 1, pads); // [N, >=count_h, >=count_w, inC]
      }),
    ),
  );
  const backend = args.backend as BackendWasm;
  const out = backend.makeOutput(a.inputShape, 'float32');
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  let i = 0;
  for (const h of hs) for (const w of ws) interleavePhase(backend.typedArrayFromHeap(phases[i++]!) as Float32Array, phases[i - 1]!.shape, dst, info, h, w);
  tf.dispose(phases);
  return out;
};

/** out[n, t*sh + qh, v*sw + qw, :] = z[n, t, v, :] for the phase's rows and columns. */
function interleavePhase(z: Float32Array, zShape: number[], out: Float32Array, info: Conv2DInfo, h: PhasePlan, w: PhasePlan): void {
  const { batchSize: n, inHeight: oh, inWidth: ow, inChannels: c, strideHeight: sh, strideWidth: sw } = info;
  const [, zh, zw] = zShape as [number, number, number, number];
  for (let b = 0; b < n; b++) {
    for (let t = 0; t < h.count; t++) {
      let src = ((b * zh + t) * zw) * c;
      let dst = ((b * oh + t * sh + h.q) * ow + w.q) * c;
      for (let v = 0; v < w.count; v++, src += c, dst += sw * c) {
        if (c >= 16) out.set(z.subarray(src, src + c), dst);
        else for (let j = 0; j < c; j++) out[dst + j] = z[src + j]!;
      }
    }
  }
}

/**
 * Transposed conv as one stride-1 conv2d that yields all sh*sw phases as
 * channels, an interleave of the phases into space, and a crop: for paddings of
 * more than a kernel's worth, which phasePlans() leaves out.
 */
function oneConvTransposed(dy: tf.Tensor, filter: tf.Tensor, info: Conv2DInfo): tf.Tensor {
  const { strideHeight: sh, strideWidth: sw, batchSize: n, inHeight, inWidth, inChannels } = info;
  const h = axisPlan(info.filterHeight, sh, info.padInfo.top, inHeight, info.outHeight);
  const w = axisPlan(info.filterWidth, sw, info.padInfo.left, inWidth, info.outWidth);
  return tf.tidy(() => {
    const k = subPixelFilter(filter, sh, sw, h, w);
    const pads: Pads = [[0, 0], [h.padBefore, h.padAfter], [w.padBefore, w.padAfter], [0, 0]];
    const z = tf.conv2d(dy as tf.Tensor4D, k, 1, pads); // [N, >=Uh, >=Uw, (rh, rw, inC)]
    const exact = h.start === 0 && w.start === 0 && z.shape[1] === h.count && z.shape[2] === w.count;
    const zc = exact ? z : tf.slice(z, [0, h.start, w.start, 0], [-1, h.count, w.count, -1]);
    // [N*Uh, Uw, rh, (rw, c)] -> [N*Uh, rh, Uw, (rw, c)] is [N, Uh*sh, Uw*sw, inC] (a 4-D transpose; wasm depthToSpace is 30x slower)
    const d = sh === 1 ? zc : tf.transpose(tf.reshape(zc, [n * h.count, w.count, sh, sw * inChannels]), [0, 2, 1, 3]);
    const full = tf.reshape(d, [n, h.count * sh, w.count * sw, inChannels]);
    const cropped = h.offset === 0 && w.offset === 0 && full.shape[1] === inHeight && full.shape[2] === inWidth;
    return cropped ? full : tf.slice(full, [0, h.offset, w.offset, 0], [-1, inHeight, inWidth, -1]);
  });
}

/** out[k, ...] = sum over i with ids[i] = k of x[i, ...]; ids outside [0, numSegments) are dropped, as on cpu. */
const unsortedSegmentSum: KernelFunc = ({ inputs, attrs }) => {
  const name = tf.UnsortedSegmentSum;
  const x = tensorInput(inputs, 'x', name);
  const segmentIds = tensorInput(inputs, 'segmentIds', name);
  if (x === null || segmentIds === null) throw new ForgerError('E_BACKEND', `${name} on wasm needs tensor inputs, not bare TensorInfos`);
  const { numSegments } = attrsOf<{ numSegments: number }>(attrs);
  const rest = x.shape.slice(segmentIds.rank);
  return tf.tidy(() => {
    const ids = tf.cast(tf.reshape(segmentIds, [-1]), 'int32');
    const rows = tf.reshape(tf.cast(x, 'float32'), [ids.size, -1]); // [n, D]
    const hot = tf.cast(tf.oneHot(ids, numSegments), 'float32'); // [n, numSegments]
    const sums = tf.reshape(tf.matMul(hot, rows, true, false), [numSegments, ...rest]);
    return x.dtype === 'float32' ? sums : tf.cast(sums, x.dtype);
  });
};

/** The stock kernel fills int32 bits whatever the dtype; keep it for int32 and select the values for other dtypes. */
const oneHot: KernelFunc = (args) => {
  const name = tf.OneHot;
  const a = attrsOf<{ depth: number; onValue: number; offValue: number; dtype: tf.DataType }>(args.attrs);
  const indices = tensorInput(args.inputs, 'indices', name);
  if (a.dtype === 'int32' || indices === null) return runStock(name, args);
  return tf.tidy(() => {
    const hot = tf.cast(tf.oneHot(indices, a.depth), 'bool'); // int32 one-hot through the stock kernel
    return tf.where(hot, tf.scalar(a.onValue, a.dtype), tf.scalar(a.offValue, a.dtype));
  });
};

/** To bool: x != 0 (the stock kernel wraps values modulo 256); every other cast is the stock one. */
const cast: KernelFunc = (args) => {
  const name = tf.Cast;
  const x = tensorInput(args.inputs, 'x', name);
  const { dtype } = attrsOf<{ dtype: tf.DataType }>(args.attrs);
  if (dtype !== 'bool' || x === null || x.dtype === 'bool' || x.dtype === 'string' || x.dtype === 'complex64') return runStock(name, args);
  return tf.tidy(() => tf.notEqual(x, tf.scalar(0, x.dtype)));
};

/** XNNPACK's broadcasting binary ops take up to 6 dims; tiles needing more go to the stock kernel. */
const MAX_BROADCAST_RANK = 6;

/**
 * tile(x, reps) viewed as [r0, x0, r1, x1, ...] is x viewed as [1, x0, 1, x1, ...]
 * broadcast; size-1 axes are dropped and neighbours of the same kind merged
 * ([1, 1, 1, C] by [N, H, W, 1] is [N*H*W, C] from [1, C]). x * 1 keeps every
 * value bit for bit (-0 and NaN included).
 */
const tile: KernelFunc = (args) => {
  const name = tf.Tile;
  const x = tensorInput(args.inputs, 'x', name);
  const { reps } = attrsOf<{ reps: number[] }>(args.attrs);
  if (x === null || (x.dtype !== 'float32' && x.dtype !== 'int32')) return runStock(name, args);
  const axes: { size: number; tiled: boolean }[] = [];
  x.shape.forEach((size, i) => {
    for (const axis of [{ size: reps[i] ?? 1, tiled: true }, { size, tiled: false }]) {
      if (axis.size === 1) continue;
      const last = axes[axes.length - 1];
      if (last !== undefined && last.tiled === axis.tiled) last.size *= axis.size;
      else axes.push(axis);
    }
  });
  if (axes.length > MAX_BROADCAST_RANK || x.size === 0) return runStock(name, args);
  const outShape = x.shape.map((size, i) => size * (reps[i] ?? 1));
  return tf.tidy(() => {
    const ones = tf.ones(axes.map((a) => a.size), x.dtype);
    const spread = tf.mul(tf.reshape(x, axes.map((a) => (a.tiled ? 1 : a.size))), ones);
    return tf.reshape(spread, outShape);
  });
};

/**
 * matMul(a, b, transposeA, transposeB) as matMul(a^T, b^T) with explicit
 * transposes of the last two axes, so the product runs on XNNPACK's fast path.
 * The transposes only move values; the product is the same sum in XNNPACK's order.
 */
const batchMatMul: KernelFunc = (args) => {
  const name = tf.BatchMatMul;
  const { transposeA, transposeB } = attrsOf<{ transposeA: boolean; transposeB: boolean }>(args.attrs);
  const a = tensorInput(args.inputs, 'a', name);
  const b = tensorInput(args.inputs, 'b', name);
  if ((!transposeA && !transposeB) || a === null || b === null || a.dtype !== 'float32' || b.dtype !== 'float32') return runStock(name, args);
  const swapLast = (t: tf.Tensor) => {
    const perm = t.shape.map((_, i) => i);
    [perm[t.rank - 2], perm[t.rank - 1]] = [perm[t.rank - 1]!, perm[t.rank - 2]!];
    return tf.transpose(t, perm);
  };
  return tf.tidy(() => tf.matMul(transposeA ? swapLast(a) : a, transposeB ? swapLast(b) : b));
};
