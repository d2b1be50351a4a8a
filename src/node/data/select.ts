/** Shared option checks and orderings for the dataset loaders. */
import { ForgerError } from '../../core/errors.ts';

/** null/undefined -> null (all); otherwise a positive integer or E_CONFIG. */
export function checkLimit(limit: number | null | undefined): number | null {
  if (limit === null || limit === undefined) return null;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new ForgerError('E_CONFIG', `data limit ${limit} is not allowed; use a positive integer, or null for all images`);
  }
  return limit;
}

/**
 * An order of the indices 0..n-1 that interleaves the classes in proportion to
 * their sizes, keeping each class's own order: sample j of a class of size m sits
 * at (j + 0.5) / m. Any prefix is then (nearly) class-balanced, so a `limit`
 * keeps every class.
 */
export function interleaveByClass(labels: ArrayLike<number>): Int32Array {
  const n = labels.length;
  const sizes = new Map<number, number>();
  for (let i = 0; i < n; i++) sizes.set(labels[i]!, (sizes.get(labels[i]!) ?? 0) + 1);
  const seen = new Map<number, number>();
  const key = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = labels[i]!;
    const j = seen.get(c) ?? 0;
    seen.set(c, j + 1);
    key[i] = (j + 0.5) / sizes.get(c)!;
  }
  const order = Int32Array.from({ length: n }, (_, i) => i);
  // Ties (same position within classes of equal size) go by class, then index.
  order.sort((a, b) => key[a]! - key[b]! || labels[a]! - labels[b]! || a - b);
  return order;
}
