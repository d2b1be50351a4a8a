import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PNG } from 'pngjs';
import { ForgerError } from '../../core/errors.ts';
import type { Image8 } from '../../core/image.ts';
import { encodePng, writePng } from './png.ts';

/** Deterministic bytes: noisy rows between smooth ones, so the row filters differ. */
function pattern(width: number, height: number, channels: 1 | 3 | 4): Image8 {
  const data = new Uint8Array(width * height * channels);
  let s = 7;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const y = Math.floor(i / (width * channels));
    data[i] = y % 3 === 0 ? s >>> 24 : (i * 5 + y * 3) & 0xff;
  }
  return { width, height, channels, data };
}

const cases: { channels: 1 | 3 | 4; colorType: number }[] = [
  { channels: 1, colorType: 0 },
  { channels: 3, colorType: 2 },
  { channels: 4, colorType: 6 },
];

for (const { channels, colorType } of cases) {
  test(`${channels}-channel image round-trips through pngjs byte for byte`, () => {
    for (const [w, h] of [[1, 1], [17, 5], [64, 48]] as const) {
      const img = pattern(w, h, channels);
      const png = PNG.sync.read(Buffer.from(encodePng(img)), { skipRescale: true });
      assert.equal(png.width, w);
      assert.equal(png.height, h);
      assert.equal(png.colorType, colorType);
      assert.equal(png.depth, 8);
      // pngjs always hands back RGBA; compare each source channel where it lands.
      for (let p = 0; p < w * h; p++) {
        const src = img.data.subarray(p * channels, (p + 1) * channels);
        const rgba = png.data.subarray(p * 4, p * 4 + 4);
        const expected = channels === 1 ? [src[0], src[0], src[0], 255] : channels === 3 ? [...src, 255] : [...src];
        assert.deepEqual([...rgba], expected, `pixel ${p} of ${w}x${h}`);
      }
    }
  });
}

test('PNG starts with the signature and an IHDR chunk', () => {
  const bytes = encodePng(pattern(3, 2, 3));
  assert.deepEqual([...bytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  assert.equal(String.fromCharCode(...bytes.subarray(12, 16)), 'IHDR');
  assert.equal(String.fromCharCode(...bytes.subarray(bytes.length - 8, bytes.length - 4)), 'IEND');
});

test('malformed images are E_SHAPE with the sizes in the message', () => {
  const bad: [Image8, RegExp][] = [
    [{ width: 2, height: 2, channels: 3, data: new Uint8Array(11) }, /2x2x3 needs 12 bytes, got 11/],
    [{ width: 0, height: 2, channels: 1, data: new Uint8Array(0) }, /size 0x2/],
    [{ width: 1, height: 1, channels: 2 as 1, data: new Uint8Array(2) }, /2 channels; use 1, 3 or 4/],
  ];
  for (const [img, message] of bad) {
    assert.throws(() => encodePng(img), (e: unknown) => e instanceof ForgerError && e.code === 'E_SHAPE' && message.test(e.message));
  }
});

test('writePng writes the encoded bytes, creating the directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'forger-png-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const img = pattern(5, 4, 1);
  await writePng(join(dir, 'out', 'a.png'), img);
  assert.deepEqual(new Uint8Array(await readFile(join(dir, 'out', 'a.png'))), encodePng(img));
  assert.deepEqual(await readdir(join(dir, 'out')), ['a.png']);
});
