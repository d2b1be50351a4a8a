import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromUint8, makeGrid, toUint8 } from './image.ts';

test('[-1,1] and [0,1] map to 0..255 and back', () => {
  assert.deepEqual(Array.from(toUint8([-1, 0, 1, 2, -3], [-1, 1])), [0, 128, 255, 255, 0]);
  assert.deepEqual(Array.from(toUint8([0, 0.5, 1], [0, 1])), [0, 128, 255]);
  const back = fromUint8(Uint8Array.from([0, 255]), [-1, 1]);
  assert.deepEqual(Array.from(back), [-1, 1]);
});

test('grid places each image in its cell', () => {
  // two 2x2 gray images: all 10s and all 200s, one row, gap 1, background 0
  const px = Uint8Array.from([10, 10, 10, 10, 200, 200, 200, 200]);
  const g = makeGrid(px, [2, 2, 1], { columns: 2, gap: 1, background: 0 });
  assert.equal(g.width, 2 * 2 + 3);
  assert.equal(g.height, 2 + 2);
  const at = (x: number, y: number) => g.data[y * g.width + x];
  assert.equal(at(0, 0), 0);
  assert.equal(at(1, 1), 10);
  assert.equal(at(2, 2), 10);
  assert.equal(at(4, 1), 200);
  assert.equal(at(3, 1), 0);
});

test('grid rejects a partial image', () => {
  assert.throws(() => makeGrid(new Uint8Array(5), [2, 2, 1]), /not a whole number/);
});
