/**
 * Class labels for conditional GANs: one-hot batches, uniformly drawn fake labels,
 * the class-per-row layout of grids, and reading a class given by index or name.
 *
 * Labels reach the networks as one-hot rows [B, K], built here in plain JS (no OneHot
 * or gather kernel, so no UnsortedSegmentSum in the gradient: the wasm backend lacks it).
 */
import * as tf from '@tensorflow/tfjs';
import { ForgerError } from './errors.ts';
import type { Rng } from './rng.ts';

/** Labels (integers in [0, K)) as a one-hot float32 [n, K] tensor. */
export function oneHot(labels: ArrayLike<number>, numClasses: number): tf.Tensor2D {
  const n = labels.length;
  const out = new Float32Array(n * numClasses);
  for (let i = 0; i < n; i++) {
    const c = labels[i]!;
    if (!Number.isInteger(c) || c < 0 || c >= numClasses) {
      throw new ForgerError('E_SHAPE', `label ${c} (sample ${i}) is outside the ${numClasses} classes [0, ${numClasses - 1}]`);
    }
    out[i * numClasses + c] = 1;
  }
  return tf.tensor2d(out, [n, numClasses]);
}

/** n labels drawn uniformly from [0, K) (the classes G is asked for during training). */
export function drawLabels(n: number, numClasses: number, rng: Rng): Int32Array {
  return Int32Array.from({ length: n }, () => rng.int(numClasses));
}

/**
 * A grid with one row per class: row r holds `perClass` samples of class r, and
 * column j uses noise vector j in every row (so a column shows one z across classes).
 * Returns the label and the noise index of each of the K * perClass samples, row-major.
 */
export function classRows(numClasses: number, perClass: number): { labels: Int32Array; noiseIndex: Int32Array } {
  const n = numClasses * perClass;
  return {
    labels: Int32Array.from({ length: n }, (_, i) => Math.floor(i / perClass)),
    noiseIndex: Int32Array.from({ length: n }, (_, i) => i % perClass),
  };
}

/** Samples per class row when about `n` samples are wanted over K classes: ceil(n / K). */
export function perClassFor(n: number, numClasses: number): number {
  return Math.max(1, Math.ceil(n / numClasses));
}

/** Class i for messages: "7 Sneaker", or just "7" where the name is the index (MNIST's digits). */
export function classLabel(classNames: readonly string[], i: number): string {
  const name = classNames[i] ?? String(i);
  return name === String(i) ? name : `${i} ${name}`;
}

/** "0 T-shirt/top, 1 Trouser, ..." or "0, 1, 2, ..." (at most `max` entries shown). */
export function listClasses(classNames: readonly string[], max = 12): string {
  const shown = classNames.slice(0, max).map((_, i) => classLabel(classNames, i));
  return classNames.length > max ? `${shown.join(', ')}, ... (${classNames.length} in all)` : shown.join(', ');
}

/**
 * A class given as a name (exact, then ignoring case) or, where no class has that
 * name, an index in [0, K). `what` names the option in the error (e.g. '--class').
 */
export function parseClass(raw: string, classNames: readonly string[], what = 'class'): number {
  const k = classNames.length;
  const exact = classNames.indexOf(raw);
  if (exact >= 0) return exact;
  const folded = classNames.findIndex((n) => n.toLowerCase() === raw.toLowerCase());
  if (folded >= 0) return folded;
  const s = raw.trim();
  if (/^\d+$/.test(s) && Number(s) < k) return Number(s);
  throw new ForgerError('E_USAGE', `${what} ${JSON.stringify(raw)} is not one of the ${k} classes; use an index 0-${k - 1} or a name: ${listClasses(classNames)}`);
}
