import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Image8 } from '../../core/image.ts';
import { convertChannels } from './channels.ts';
import { resizeCenterCrop } from './resize.ts';

const gray = (width: number, height: number, f: (x: number, y: number) => number): Image8 => {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = f(x, y);
  return { width, height, channels: 1, data };
};

describe('resizeCenterCrop', () => {
  test('a constant image stays constant at every size', () => {
    for (const [w, h] of [[4, 4], [7, 3], [3, 10], [100, 60]] as const) {
      for (const size of [1, 2, 3, 4, 5, 9, 64]) {
        const out = resizeCenterCrop(gray(w, h, () => 137), size, 1);
        assert.deepEqual([out.width, out.height, out.channels], [size, size, 1]);
        assert.ok(out.data.every((v) => v === 137), `${w}x${h} -> ${size}`);
      }
    }
  });

  test('same size is a copy', () => {
    const img = gray(4, 4, (x, y) => x * 10 + y);
    const out = resizeCenterCrop(img, 4, 1);
    assert.deepEqual(out.data, img.data);
    assert.notEqual(out.data, img.data);
  });

  test('2x downscale averages 2x2 blocks', () => {
    const img = gray(4, 4, (x, y) => [[0, 4, 100, 100], [8, 12, 100, 100], [1, 1, 250, 0], [1, 1, 0, 250]][y]![x]!);
    assert.deepEqual(Array.from(resizeCenterCrop(img, 2, 1).data), [6, 100, 1, 125]);
  });

  test('non-integer downscale averages areas', () => {
    // 3 -> 2: output pixel 0 covers source [0, 1.5): (a + 0.5 b) / 1.5
    const img = gray(3, 3, (x) => [0, 90, 180][x]!);
    assert.deepEqual(Array.from(resizeCenterCrop(img, 2, 1).data), [30, 150, 30, 150]);
  });

  test('centre crop of a wide or tall image keeps the middle', () => {
    const wide = gray(8, 4, (x, y) => x * 10 + y);
    const out = resizeCenterCrop(wide, 4, 1);
    assert.deepEqual(Array.from(out.data), [20, 30, 40, 50, 21, 31, 41, 51, 22, 32, 42, 52, 23, 33, 43, 53]);
    const tall = gray(2, 5, (x, y) => x + 10 * y);
    assert.deepEqual(Array.from(resizeCenterCrop(tall, 2, 1).data), [10, 11, 20, 21]);
    // 16x8 -> 4: halve to 8x4, keep columns 2..5 of the halved image
    const big = gray(16, 8, (x) => x * 10);
    assert.deepEqual(Array.from(resizeCenterCrop(big, 4, 1).data.subarray(0, 4)), [45, 65, 85, 105]);
  });

  test('2x upscale is bilinear with clamped edges', () => {
    const img = gray(2, 2, (x, y) => [[0, 100], [100, 200]][y]![x]!);
    const out = resizeCenterCrop(img, 4, 1);
    // source coordinates -0.25, 0.25, 0.75, 1.25 -> clamped 0, 0.25, 0.75, 1
    assert.deepEqual(Array.from(out.data.subarray(0, 4)), [0, 25, 75, 100]);
    assert.deepEqual(Array.from(out.data.subarray(12)), [100, 125, 175, 200]);
  });

  test('channels: RGB -> gray by BT.601, gray -> RGB by replication', () => {
    const rgb: Image8 = { width: 1, height: 1, channels: 3, data: Uint8Array.from([255, 0, 0]) };
    assert.deepEqual(Array.from(resizeCenterCrop(rgb, 1, 1).data), [76]); // 0.299 * 255
    assert.deepEqual(Array.from(resizeCenterCrop(rgb, 2, 3).data), [255, 0, 0, 255, 0, 0, 255, 0, 0, 255, 0, 0]);
    assert.deepEqual(Array.from(resizeCenterCrop(gray(1, 1, () => 9), 1, 3).data), [9, 9, 9]);
  });
});

describe('convertChannels', () => {
  test('alpha over white, equal RGB is exact gray', () => {
    const rgba: Image8 = { width: 3, height: 1, channels: 4, data: Uint8Array.from([10, 20, 30, 255, 0, 0, 0, 0, 200, 200, 200, 255]) };
    assert.deepEqual(Array.from(convertChannels(rgba, 3).data), [10, 20, 30, 255, 255, 255, 200, 200, 200]);
    assert.deepEqual(Array.from(convertChannels(rgba, 1).data), [Math.round(0.299 * 10 + 0.587 * 20 + 0.114 * 30), 255, 200]);
    for (let v = 0; v < 256; v++) {
      const one: Image8 = { width: 1, height: 1, channels: 3, data: Uint8Array.from([v, v, v]) };
      assert.equal(convertChannels(one, 1).data[0], v);
    }
  });
});
