/**
 * PNG encoding of 8-bit gray, RGB and RGBA images: signature, IHDR, one IDAT
 * (zlib), IEND. Each row takes the PNG filter with the smallest sum of
 * absolute values (libpng's heuristic), which suits both plots and samples.
 */
import { deflateSync } from 'node:zlib';
import { ForgerError } from '../../core/errors.ts';
import type { Image8 } from '../../core/image.ts';
import { writeFileAtomic } from './atomic.ts';

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
/** PNG colour type per channel count: 0 gray, 2 RGB, 6 RGBA. */
const COLOR_TYPE = { 1: 0, 3: 2, 4: 6 } as const;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** length, type, data, CRC(type + data) */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Filter one row with filter `type` (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth) into `out`. */
function filterRow(type: number, row: Uint8Array, prev: Uint8Array, bpp: number, out: Uint8Array): void {
  for (let i = 0; i < row.length; i++) {
    const a = i >= bpp ? row[i - bpp]! : 0; // left
    const b = prev[i]!; // up
    const c = i >= bpp ? prev[i - bpp]! : 0; // up-left
    const predictor = type === 0 ? 0 : type === 1 ? a : type === 2 ? b : type === 3 ? (a + b) >> 1 : paeth(a, b, c);
    out[i] = (row[i]! - predictor) & 0xff;
  }
}

function cost(filtered: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < filtered.length; i++) sum += filtered[i]! < 128 ? filtered[i]! : 256 - filtered[i]!;
  return sum;
}

/** Throw E_SHAPE unless `img` is a well-formed Image8; `what` names the output in the message. */
export function checkImage8(img: Image8, what: string): void {
  const { width, height, channels, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ForgerError('E_SHAPE', `cannot encode ${what}: size ${width}x${height} must be positive integers`);
  }
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new ForgerError('E_SHAPE', `cannot encode ${what}: ${String(channels)} channels; use 1, 3 or 4`);
  }
  if (data.length !== width * height * channels) {
    throw new ForgerError('E_SHAPE', `cannot encode ${what}: ${width}x${height}x${channels} needs ${width * height * channels} bytes, got ${data.length}`);
  }
}

/** Encode an 8-bit gray, RGB or RGBA image as PNG bytes. */
export function encodePng(img: Image8): Uint8Array {
  checkImage8(img, 'PNG');
  const { width, height, channels, data } = img;

  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([8, COLOR_TYPE[channels], 0, 0, 0], 8); // bit depth, colour type, deflate, adaptive filters, no interlace

  // Scanlines: [filter byte, filtered row] * height
  const stride = width * channels;
  const raw = new Uint8Array((stride + 1) * height);
  const candidates = Array.from({ length: 5 }, () => new Uint8Array(stride));
  let prev: Uint8Array = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const row = data.subarray(y * stride, (y + 1) * stride);
    let best = 0;
    let bestCost = Infinity;
    for (let type = 0; type < 5; type++) {
      filterRow(type, row, prev, channels, candidates[type]!);
      const c = cost(candidates[type]!);
      if (c < bestCost) [best, bestCost] = [type, c];
    }
    raw[y * (stride + 1)] = best;
    raw.set(candidates[best]!, y * (stride + 1) + 1);
    prev = row;
  }

  const parts = [
    Uint8Array.from(SIGNATURE),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Encode `img` and write it to `path` atomically. */
export async function writePng(path: string, img: Image8): Promise<void> {
  await writeFileAtomic(path, encodePng(img));
}
