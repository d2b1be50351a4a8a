import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ForgerError } from '../../core/errors.ts';
import { checkLimit, interleaveByClass } from './select.ts';

test('interleaveByClass: a permutation whose prefixes stay balanced', () => {
  const labels = [...new Array(30).fill(0), ...new Array(10).fill(1), ...new Array(20).fill(2)];
  const order = interleaveByClass(labels);
  assert.deepEqual([...order].sort((a, b) => a - b), labels.map((_, i) => i));
  for (const k of [6, 12, 30]) {
    const counts = [0, 0, 0];
    for (const i of order.subarray(0, k)) counts[labels[i]!]!++;
    assert.deepEqual(counts, [k / 2, k / 6, k / 3]);
  }
  // each class keeps its own order
  const zeros = [...order].filter((i) => labels[i] === 0);
  assert.deepEqual(zeros, [...zeros].sort((a, b) => a - b));
});

test('checkLimit', () => {
  assert.equal(checkLimit(null), null);
  assert.equal(checkLimit(undefined), null);
  assert.equal(checkLimit(5), 5);
  for (const bad of [0, -1, 2.5, NaN]) assert.throws(() => checkLimit(bad), (e: unknown) => e instanceof ForgerError && e.code === 'E_CONFIG');
});
