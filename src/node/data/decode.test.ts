import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { deflateSync } from 'node:zlib';
import type { ColorType } from 'pngjs';
import { ForgerError } from '../../core/errors.ts';
import { decodeImage } from './decode.ts';

/** Encode 8-bit RGBA pixels `rgba` (w x h) as a PNG of the given colour type and depth. */
function png(w: number, h: number, rgba: number[], colorType: ColorType, bitDepth: 8 | 16 = 8): Uint8Array {
  const p = new PNG({ width: w, height: h });
  // pngjs takes 16-bit input as host-order uint16 samples
  p.data = bitDepth === 8 ? Buffer.from(rgba) : Buffer.from(Uint16Array.from(rgba, (v) => v * 257).buffer);
  return PNG.sync.write(p, { colorType, bitDepth, inputColorType: 6, inputHasAlpha: true });
}

/** A hand-made 2x1 palette PNG (pngjs cannot write palettes): colours red and blue. */
function palettePng(): Uint8Array {
  const crc32 = makeCrc32();
  const chunk = (type: string, data: number[] | Uint8Array): number[] => {
    const body = [...Buffer.from(type, 'ascii'), ...data];
    const len = data.length;
    const crc = crc32(Uint8Array.from(body));
    return [len >>> 24, (len >>> 16) & 255, (len >>> 8) & 255, len & 255, ...body, crc >>> 24, (crc >>> 16) & 255, (crc >>> 8) & 255, crc & 255];
  };
  const ihdr = [0, 0, 0, 2, 0, 0, 0, 1, 8, 3, 0, 0, 0]; // 2x1, depth 8, colour type 3
  const plte = [255, 0, 0, 0, 0, 255];
  const idat = deflateSync(Uint8Array.from([0, 0, 1])); // filter byte 0, indices 0 and 1
  return Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...chunk('IHDR', ihdr), ...chunk('PLTE', plte), ...chunk('IDAT', idat), ...chunk('IEND', [])]);
}

function makeCrc32(): (b: Uint8Array) => number {
  // node:zlib.crc32 is Node >= 20.15; compute it here to stay portable.
  const table = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (b: Uint8Array): number => {
    let c = 0xffffffff;
    for (const x of b) c = table[(c ^ x) & 255]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  return crc32;
}

const isDecodeError = (name: string, reason: RegExp) => (e: unknown): boolean => {
  assert.ok(e instanceof ForgerError && e.code === 'E_DATA', String(e));
  assert.ok(e.message.startsWith(`cannot decode image ${name}: `), e.message);
  assert.match(e.message, reason);
  assert.ok(!e.message.includes('\n'));
  return true;
};

// 2x2 RGBA: red, green / blue, 50% transparent black
const RGBA = [255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 0, 0, 0, 128];

describe('decodeImage PNG', () => {
  test('RGB keeps 3 channels exactly', () => {
    const img = decodeImage(png(2, 2, RGBA.map((v, i) => (i % 4 === 3 ? 255 : v)), 2), 'rgb.png');
    assert.deepEqual([img.width, img.height, img.channels], [2, 2, 3]);
    assert.deepEqual(Array.from(img.data), [255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0]);
  });

  test('RGBA is composited over white', () => {
    const img = decodeImage(png(2, 2, RGBA, 6), 'rgba.png');
    assert.equal(img.channels, 3);
    // 0 * 128/255 + 255 * 127/255 = 127
    assert.deepEqual(Array.from(img.data.subarray(9)), [127, 127, 127]);
  });

  test('gray (8 and 16 bit) and gray+alpha come back with 1 channel', () => {
    const gray = [0, 0, 0, 255, 100, 100, 100, 255, 200, 200, 200, 255, 255, 255, 255, 255];
    for (const depth of [8, 16] as const) {
      const img = decodeImage(png(2, 2, gray, 0, depth), `gray${depth}.png`);
      assert.deepEqual([img.channels, ...img.data], [1, 0, 100, 200, 255]);
    }
    const ga = decodeImage(png(2, 2, [...gray.slice(0, 12), 0, 0, 0, 0], 4), 'ga.png');
    assert.deepEqual([ga.channels, ...ga.data], [1, 0, 100, 200, 255]); // transparent -> white
  });

  test('palette', () => {
    const img = decodeImage(palettePng(), 'palette.png');
    assert.deepEqual([img.width, img.height, img.channels, ...img.data], [2, 1, 3, 255, 0, 0, 0, 0, 255]);
  });

  test('corrupt PNG: truncated, or bad CRC', () => {
    const good = png(2, 2, RGBA, 6);
    assert.throws(() => decodeImage(good.subarray(0, 30), 'dir/cut.png'), isDecodeError('dir/cut.png', /corrupt PNG/));
    const bad = good.slice();
    bad[40] = bad[40]! ^ 0xff;
    assert.throws(() => decodeImage(bad, 'crc.png'), isDecodeError('crc.png', /corrupt PNG/));
  });
});

describe('decodeImage JPEG', () => {
  const w = 16;
  const h = 8;
  const rgba = Array.from({ length: w * h * 4 }, (_, i) => (i % 4 === 3 ? 255 : i % 4 === 0 ? 200 : i % 4 === 1 ? 100 : 50));
  const bytes = new Uint8Array(jpeg.encode({ width: w, height: h, data: Buffer.from(rgba) }, 95).data);

  test('decodes to RGB close to the source', () => {
    const img = decodeImage(bytes, 'a.jpg');
    assert.deepEqual([img.width, img.height, img.channels], [w, h, 3]);
    for (let i = 0; i < w * h; i++) {
      assert.ok(Math.abs(img.data[3 * i]! - 200) <= 3 && Math.abs(img.data[3 * i + 1]! - 100) <= 3 && Math.abs(img.data[3 * i + 2]! - 50) <= 3);
    }
  });

  test('corrupt JPEG', () => {
    assert.throws(() => decodeImage(bytes.subarray(0, 20), 'cut.jpg'), isDecodeError('cut.jpg', /corrupt JPEG/));
    const junk = Uint8Array.from([0xff, 0xd8, 0xff, ...Array.from({ length: 200 }, (_, i) => (i * 37) & 255)]);
    assert.throws(() => decodeImage(junk, 'junk.jpg'), isDecodeError('junk.jpg', /corrupt JPEG/));
  });
});

test('unsupported and empty files', () => {
  assert.throws(() => decodeImage(new Uint8Array(0), 'e.png'), isDecodeError('e.png', /empty/));
  assert.throws(() => decodeImage(new TextEncoder().encode('GIF89a....'), 'x.gif'), isDecodeError('x.gif', /GIF is not supported/));
  assert.throws(() => decodeImage(new TextEncoder().encode('hello'), 'x.png'), isDecodeError('x.png', /not a PNG or JPEG \(starts with 68 65 6c 6c\)/));
});
