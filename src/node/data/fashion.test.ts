import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { ForgerError } from '../../core/errors.ts';
import { FASHION_DEFAULT_DIR, loadFashion } from './fashion.ts';

test('the Debian dataset-fashion-mnist package: 60000 28x28 images, labels 0-9', async (t) => {
  if (!existsSync(FASHION_DEFAULT_DIR)) {
    t.skip(`${FASHION_DEFAULT_DIR} not installed (apt-get install dataset-fashion-mnist)`);
    return;
  }
  const s = await loadFashion(null);
  assert.deepEqual(s.shape, [28, 28, 1]);
  assert.equal(s.count, 60000);
  assert.equal(s.pixels.length, 60000 * 784);
  const perClass = new Array<number>(10).fill(0);
  for (const l of s.labels!) perClass[l]!++;
  assert.deepEqual(perClass, new Array(10).fill(6000));
  assert.equal(Math.max(...s.pixels.subarray(0, 784)), 255);

  const few = await loadFashion(FASHION_DEFAULT_DIR, 100);
  assert.equal(few.count, 100);
  assert.deepEqual(few.pixels, s.pixels.subarray(0, 100 * 784));
});

test('a missing directory names the install command', async () => {
  await assert.rejects(loadFashion('/nonexistent/fashion'), (e: unknown) => {
    assert.ok(e instanceof ForgerError && e.code === 'E_DATA');
    assert.match(e.message, /^Fashion-MNIST not found at \/nonexistent\/fashion; /);
    return true;
  });
});
