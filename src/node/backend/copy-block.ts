/** Block copies for Slice-like kernels (wasm heap views and the native backend's arrays alike). */
import * as tf from '@tensorflow/tfjs';

export type Typed = Float32Array | Int32Array | Uint8Array;

/**
 * Copy the block src[begin : begin + size] of a row-major array of `shape` into dst,
 * one contiguous run at a time (TypedArray.set for runs of 16 or more). The stock cpu
 * kernels walk a strided slice element by element through TensorBuffer.get: 90 ms for
 * a [256, 129] column split that this does in microseconds.
 */
export function copyBlock(src: Typed, dst: Typed, shape: number[], begin: number[], size: number[]): void {
  const rank = shape.length;
  if (rank === 0) {
    dst[0] = src[0]!;
    return;
  }
  const strides = tf.util.computeStrides(shape).concat(1);
  // k: the innermost axis not taken whole; everything inside it is one contiguous run
  let k = rank - 1;
  while (k > 0 && size[k] === shape[k]) k--;
  const run = size[k]! * strides[k]!;
  const idx = new Array<number>(k).fill(0);
  const count = size.slice(0, k).reduce((p, d) => p * d, 1);
  for (let n = 0, d = 0; n < count; n++, d += run) {
    let o = begin[k]! * strides[k]!;
    for (let a = 0; a < k; a++) o += (begin[a]! + idx[a]!) * strides[a]!;
    if (run >= 16) dst.set(src.subarray(o, o + run), d);
    else for (let i = 0; i < run; i++) dst[d + i] = src[o + i]!;
    for (let a = k - 1; a >= 0; a--) {
      if (++idx[a]! < size[a]!) break;
      idx[a] = 0;
    }
  }
}
