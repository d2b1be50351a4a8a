/**
 * Pixels without encoders: model range <-> uint8, and grids. Encoding to PNG/GIF
 * lives in node/io (and in the browser, a canvas).
 */
import { ForgerError } from './errors.ts';

/** One 8-bit image, rows top to bottom, channels interleaved (HWC). */
export interface Image8 {
  width: number;
  height: number;
  channels: 1 | 3 | 4;
  data: Uint8Array;
}

/** A set of same-sized 8-bit images, as loaders return them. */
export interface ImageSet {
  /** [height, width, channels] */
  shape: [number, number, number];
  count: number;
  /** count * h * w * c bytes, HWC per image. */
  pixels: Uint8Array;
  /** Class labels when the source has them. */
  labels: Uint8Array | null;
  /** The name of each label value (label i is classNames[i]), when there are labels. */
  classNames?: string[];
  /** Where each image came from (folders), for messages. */
  names?: string[];
}

/** Map a value in [lo, hi] to 0..255, clamped and rounded. */
export function toUint8(values: ArrayLike<number>, range: [number, number]): Uint8Array {
  const [lo, hi] = range;
  const scale = 255 / (hi - lo);
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Math.round((values[i]! - lo) * scale);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}

/** Map 0..255 to [lo, hi]. */
export function fromUint8(bytes: ArrayLike<number>, range: [number, number], out = new Float32Array(bytes.length)): Float32Array {
  const [lo, hi] = range;
  const scale = (hi - lo) / 255;
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i]! * scale + lo;
  return out;
}

export interface GridOptions {
  /** Images per row. @default ceil(sqrt(n)) */
  columns?: number;
  /** Pixels between cells. @default 2 */
  gap?: number;
  /** Grey level of the gaps. @default 32 */
  background?: number;
  /** Integer upscaling of each image (nearest neighbour), for tiny images. @default 1 */
  scale?: number;
}

/**
 * Tile `n` HWC uint8 images (all of `shape`) into one image.
 * `pixels` holds n * h * w * c bytes.
 */
export function makeGrid(pixels: Uint8Array, shape: [number, number, number], opts: GridOptions = {}): Image8 {
  const [h, w, c] = shape;
  if (c !== 1 && c !== 3) throw new ForgerError('E_SHAPE', `grid images need 1 or 3 channels, got ${c}`);
  const per = h * w * c;
  const n = Math.floor(pixels.length / per);
  if (n < 1 || n * per !== pixels.length) {
    throw new ForgerError('E_SHAPE', `grid got ${pixels.length} bytes, not a whole number of ${h}x${w}x${c} images`);
  }
  const cols = Math.max(1, Math.min(n, opts.columns ?? Math.ceil(Math.sqrt(n))));
  const rows = Math.ceil(n / cols);
  const gap = opts.gap ?? 2;
  const s = Math.max(1, Math.floor(opts.scale ?? 1));
  const cw = w * s;
  const ch = h * s;
  const width = cols * cw + (cols + 1) * gap;
  const height = rows * ch + (rows + 1) * gap;
  const data = new Uint8Array(width * height * c).fill(opts.background ?? 32);
  for (let i = 0; i < n; i++) {
    const ox = gap + (i % cols) * (cw + gap);
    const oy = gap + Math.floor(i / cols) * (ch + gap);
    for (let y = 0; y < ch; y++) {
      const sy = Math.floor(y / s);
      for (let x = 0; x < cw; x++) {
        const sx = Math.floor(x / s);
        const src = i * per + (sy * w + sx) * c;
        const dst = ((oy + y) * width + ox + x) * c;
        for (let k = 0; k < c; k++) data[dst + k] = pixels[src + k]!;
      }
    }
  }
  return { width, height, channels: c as 1 | 3, data };
}

/** Cut image `i` out of a batch of HWC uint8 images. */
export function imageAt(pixels: Uint8Array, shape: [number, number, number], i: number, scale = 1): Image8 {
  const [h, w, c] = shape;
  const one = pixels.subarray(i * h * w * c, (i + 1) * h * w * c);
  return scale === 1 ? { width: w, height: h, channels: c as 1 | 3, data: one.slice() } : makeGrid(one, shape, { columns: 1, gap: 0, scale });
}
