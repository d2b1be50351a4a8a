import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadMnist } from './mnist.ts';

test('all 10000 digits of the mnist package as uint8 [28, 28, 1]', async () => {
  const s = await loadMnist();
  assert.deepEqual(s.shape, [28, 28, 1]);
  assert.equal(s.count, 10000);
  assert.equal(s.pixels.length, 10000 * 784);
  const perClass = new Array<number>(10).fill(0);
  for (const l of s.labels!) perClass[l]!++;
  assert.deepEqual(perClass, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
  let min = 255;
  let max = 0;
  let sum = 0;
  for (const p of s.pixels) {
    min = Math.min(min, p);
    max = Math.max(max, p);
    sum += p;
  }
  assert.equal(min, 0);
  assert.equal(max, 255);
  const mean = sum / s.pixels.length / 255;
  assert.ok(mean > 0.08 && mean < 0.2, `mean ${mean} like MNIST's ~0.13`);
});

test('a limit keeps every digit and is a prefix of the full order', async () => {
  const all = await loadMnist();
  for (const limit of [10, 100]) {
    const s = await loadMnist(limit);
    assert.equal(s.count, limit);
    assert.equal(new Set(s.labels).size, 10);
    assert.deepEqual(s.pixels, all.pixels.subarray(0, limit * 784));
    assert.deepEqual(s.labels, all.labels!.subarray(0, limit));
  }
});
