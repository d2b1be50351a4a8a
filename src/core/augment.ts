/**
 * DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
 * Training"): every image D sees, real or fake, in D's update and in G's, is augmented
 * with fresh random parameters per sample, by ops differentiable w.r.t. the image, so
 * G's gradient flows back through them. The ops follow the authors' DiffAugment_pytorch.py:
 *
 *   color        brightness x + b, b ~ U(-0.5, 0.5) on [-1, 1] data (scaled to the data range:
 *                U(-0.25, 0.25) on [0, 1]); saturation (x - mean_c x) s + mean_c x, s ~ U(0, 2),
 *                mean_c over the channels of each pixel; contrast (x - mean x) c + mean x,
 *                c ~ U(0.5, 1.5), mean over the whole image
 *   translation  shift by (dy, dx), each an integer in [-r, r], r = round(size / 8), zero fill
 *   cutout       zero a square of side round(size / 2) at a random place (clipped at the edges)
 *
 * applied in that order. Translation and cutout are written as a 0/1 shift matrix product
 * and a 0/1 mask product (no gather: TF.js's wasm backend has no gradient for it).
 * Random parameters are drawn in JS from a seeded Rng, so runs and resumed runs repeat.
 */
import * as tf from '@tensorflow/tfjs';
import type { AugmentOp } from './config.ts';
import type { Rng } from './rng.ts';

/** Per-sample parameters of one augmentation call ([N] each); an op's entry is absent when it is off. */
export interface AugmentParams {
  color?: { brightness: Float32Array; saturation: Float32Array; contrast: Float32Array };
  /** Content moves down by dy and right by dx pixels: out[i][j] = x[i - dy][j - dx], 0 outside. */
  translation?: { dy: Int32Array; dx: Int32Array };
  /** The zeroed square's top-left corner (may lie outside the image) and side. */
  cutout?: { y0: Int32Array; x0: Int32Array; size: number };
}

/** Largest translation in pixels for an image side: round(size / 8), the paper's ratio 0.125. */
export function maxShift(size: number): number {
  return Math.floor(size * 0.125 + 0.5);
}

/** Side of the cutout square: round(size / 2), the paper's ratio 0.5. */
export function cutoutSize(size: number): number {
  return Math.floor(size * 0.5 + 0.5);
}

/**
 * Draw parameters for n images of side `size` with data range [lo, hi]: per op in AUGMENT_OPS
 * order, n values of each parameter in turn (color: 3n uniforms; translation: 2n integers;
 * cutout: 2n integers).
 */
export function drawAugmentParams(ops: readonly AugmentOp[], n: number, size: number, range: [number, number], rng: Rng): AugmentParams {
  const p: AugmentParams = {};
  const uniforms = (lo: number, hi: number) => Float32Array.from({ length: n }, () => lo + (hi - lo) * rng.next());
  const ints = (lo: number, hi: number) => Int32Array.from({ length: n }, () => lo + rng.int(hi - lo + 1));
  if (ops.includes('color')) {
    const half = (range[1] - range[0]) / 4; // 0.5 on [-1, 1], 0.25 on [0, 1]
    p.color = { brightness: uniforms(-half, half), saturation: uniforms(0, 2), contrast: uniforms(0.5, 1.5) };
  }
  if (ops.includes('translation')) {
    const r = maxShift(size);
    p.translation = { dy: ints(-r, r), dx: ints(-r, r) };
  }
  if (ops.includes('cutout')) {
    // As the authors' code: the centre is uniform in [0, size - side % 2], the corner half a side up-left of it.
    const side = cutoutSize(size);
    const half = Math.floor(side / 2);
    const hi = size - (side % 2);
    p.cutout = { y0: ints(-half, hi - half), x0: ints(-half, hi - half), size: side };
  }
  return p;
}

/** [N] per-sample factors -> [N, 1, 1, 1], to broadcast over an image batch. */
function perSample(v: Float32Array): tf.Tensor4D {
  return tf.tensor4d(v, [v.length, 1, 1, 1]);
}

/** Color: brightness, then saturation, then contrast. */
function color(x: tf.Tensor4D, c: NonNullable<AugmentParams['color']>): tf.Tensor4D {
  return tf.tidy(() => {
    let y = tf.add(x, perSample(c.brightness));
    const pixelMean = tf.mean(y, 3, true);
    y = tf.add(tf.mul(tf.sub(y, pixelMean), perSample(c.saturation)), pixelMean);
    const imageMean = tf.mean(y, [1, 2, 3], true);
    return tf.add(tf.mul(tf.sub(y, imageMean), perSample(c.contrast)), imageMean) as tf.Tensor4D;
  });
}

/** out[n, i] = x[n, i - shift[n]] along axis 1 (0 outside): a [N, H, H] 0/1 matrix times x viewed as [N, H, W*C]. */
function shiftRows(x: tf.Tensor4D, shift: Int32Array): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const m = new Float32Array(n * h * h);
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < h; i++) {
      const k = i - shift[s]!;
      if (k >= 0 && k < h) m[s * h * h + i * h + k] = 1;
    }
  }
  return tf.tidy(() => tf.reshape(tf.matMul(tf.tensor3d(m, [n, h, h]), tf.reshape(x, [n, h, w * c])), [n, h, w, c]) as tf.Tensor4D);
}

/** Translation by (dy, dx) with zero fill: rows, then columns (the image transposed). */
function translate(x: tf.Tensor4D, t: NonNullable<AugmentParams['translation']>): tf.Tensor4D {
  return tf.tidy(() => {
    const rows = shiftRows(x, t.dy);
    const cols = shiftRows(tf.transpose(rows, [0, 2, 1, 3]), t.dx);
    return tf.transpose(cols, [0, 2, 1, 3]);
  });
}

/** Cutout: x times a [N, H, W, 1] mask that is 0 on each sample's square. */
function cutout(x: tf.Tensor4D, c: NonNullable<AugmentParams['cutout']>): tf.Tensor4D {
  const [n, h, w] = x.shape;
  const mask = new Float32Array(n * h * w).fill(1);
  for (let s = 0; s < n; s++) {
    for (let i = Math.max(0, c.y0[s]!); i < Math.min(h, c.y0[s]! + c.size); i++) {
      for (let j = Math.max(0, c.x0[s]!); j < Math.min(w, c.x0[s]! + c.size); j++) mask[(s * h + i) * w + j] = 0;
    }
  }
  return tf.tidy(() => tf.mul(x, tf.tensor4d(mask, [n, h, w, 1])));
}

/** Apply the drawn augmentation to an image batch [N, H, W, C] (a new tensor; x is left alone). */
export function applyAugment(x: tf.Tensor, p: AugmentParams): tf.Tensor4D {
  return tf.tidy(() => {
    let y = x as tf.Tensor4D;
    if (p.color) y = color(y, p.color);
    if (p.translation) y = translate(y, p.translation);
    if (p.cutout) y = cutout(y, p.cutout);
    return y === x ? tf.clone(y) : y;
  });
}

/** DiffAugment of an image batch with parameters drawn from rng (see drawAugmentParams). */
export function diffAugment(x: tf.Tensor, ops: readonly AugmentOp[], range: [number, number], rng: Rng): tf.Tensor4D {
  const [n, size] = x.shape as [number, number, number, number];
  return applyAugment(x, drawAugmentParams(ops, n, size, range, rng));
}
