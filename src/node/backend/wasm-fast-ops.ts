/**
 * Stock wasm kernels that run as scalar loops, 5-20x slower than the backend's
 * XNNPACK-backed ones, rerouted through fast ones (on a 64x14x14x64 tensor:
 * LeakyRelu 4.7 -> 0.15 ms, Tanh 19 -> 2 ms, Slice 3.8 -> 0.4 ms):
 *
 *  - LeakyRelu: Prelu with alpha per channel (XNNPACK's prelu); the same values.
 *  - Tanh: 2 sigmoid(2x) - 1 (XNNPACK's sigmoid); within 1e-7 of tanh.
 *  - Slice: copies of contiguous runs of the wasm heap (TypedArray.set).
 *  - Sum and Mean over leading axes: XNNPACK's average pooling.
 *  - Identity (a copy on wasm; TF.js's gradients and customGrad run it often):
 *    the same data with one more reference, as Reshape and the cpu backend do.
 *    Safe because no wasm kernel writes into its inputs (wasm-fused.ts's Adam
 *    writes new tensors for that reason too).
 *
 * Small tensors, other dtypes and other axis patterns run the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { copyBlock } from './copy-block.ts';
import { attrsOf, replaceKernel, runStock, tensorInput } from './wasm-kernel-util.ts';

/** Below this many elements the stock kernel's lower fixed cost wins. */
const MIN_SIZE = 4096;

/** The kernel names registerWasmFastOps() replaces on wasm. */
export const WASM_FAST_OPS = [tf.LeakyRelu, tf.Tanh, tf.Slice, tf.Sum, tf.Mean, tf.Identity] as const;

export function registerWasmFastOps(): void {
  replaceKernel(tf.LeakyRelu, leakyRelu);
  replaceKernel(tf.Tanh, tanh);
  replaceKernel(tf.Slice, slice);
  replaceKernel(tf.Sum, sumLeading);
  replaceKernel(tf.Mean, meanLeading);
  replaceKernel(tf.Identity, identity);
}

const identity: KernelFunc = (args) => {
  const x = args.inputs['x'] as TensorInfo;
  if (x.dtype === 'string') return runStock(tf.Identity, args);
  (args.backend as BackendWasm).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

const leakyRelu: KernelFunc = (args) => {
  const x = tensorInput(args.inputs, 'x', tf.LeakyRelu);
  const { alpha } = attrsOf<{ alpha: number }>(args.attrs);
  if (x === null || x.dtype !== 'float32' || x.rank === 0 || x.size < MIN_SIZE) return runStock(tf.LeakyRelu, args);
  return tf.tidy(() => tf.prelu(x, tf.fill([x.shape[x.rank - 1]!], alpha)));
};

const tanh: KernelFunc = (args) => {
  const x = tensorInput(args.inputs, 'x', tf.Tanh);
  if (x === null || x.dtype !== 'float32' || x.size < MIN_SIZE) return runStock(tf.Tanh, args);
  return tf.tidy(() => tf.sub(tf.mul(tf.sigmoid(tf.mul(x, 2)), 2), 1));
};

/** Copy the block x[begin : begin + size] out of the heap, one contiguous run at a time. */
const slice: KernelFunc = (args) => {
  const x = args.inputs['x'] as TensorInfo;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') return runStock(tf.Slice, args);
  const { begin, size } = attrsOf<{ begin: number | number[]; size: number | number[] }>(args.attrs);
  const [b, z] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size) as [number[], number[]];
  const backend = args.backend as BackendWasm;
  const out = backend.makeOutput(z, x.dtype);
  if (tf.util.sizeFromShape(z) === 0) return out;
  copyBlock(backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(out), x.shape, b, z);
  return out;
};

/**
 * Sum or mean over leading axes ([R, C] -> [C]: every conv bias gradient and
 * batch-norm statistic) as XNNPACK's average pooling of [1, R, 1, C] with an
 * R x 1 window; the stock kernel transposes to [C, R] first (4 ms -> 0.2 ms on
 * 64x14x14x64). Other axis patterns run the stock kernel.
 */
function reduceLeading(kernelName: string, mean: boolean): KernelFunc {
  return (args) => {
    const x = tensorInput(args.inputs, 'x', kernelName);
    if (x === null || x.dtype !== 'float32' || x.size < MIN_SIZE) return runStock(kernelName, args);
    const { axis, keepDims } = attrsOf<{ axis: number | number[]; keepDims: boolean }>(args.attrs);
    const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((p, q) => p - q);
    if (axes.length === 0 || axes.length === x.rank || !axes.every((a, i) => a === i)) return runStock(kernelName, args);
    const rows = axes.reduce((p, a) => p * x.shape[a]!, 1);
    const cols = x.size / rows;
    const outShape = keepDims ? x.shape.map((d, i) => (i < axes.length ? 1 : d)) : x.shape.slice(axes.length);
    return tf.tidy(() => {
      const avg = tf.avgPool(tf.reshape(x, [1, rows, 1, cols]) as tf.Tensor4D, [rows, 1], 1, 'valid');
      return tf.reshape(mean ? avg : tf.mul(avg, rows), outShape);
    });
  };
}

// Made once: replaceKernel recognises a kernel it already registered by identity.
const sumLeading = reduceLeading(tf.Sum, false);
const meanLeading = reduceLeading(tf.Mean, true);
