/** Test helpers shared by the suites. */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';

/**
 * Run `fn` once to warm up (lazy variables, kernel caches), then `times` more,
 * and assert the live tensor count did not grow.
 */
export async function expectNoLeaks(fn: () => unknown | Promise<unknown>, times = 2): Promise<void> {
  await fn();
  const before = tf.memory().numTensors;
  for (let i = 0; i < times; i++) await fn();
  const after = tf.memory().numTensors;
  assert.equal(after, before, `tensor count grew from ${before} to ${after}`);
}

/** max |a - b| / max(|b|_inf, tiny): one relative error for a whole tensor. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length mismatch');
  let num = 0;
  let den = 1e-12;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}
