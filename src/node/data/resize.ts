/**
 * Scale an image so its short side is `size`, then cut the centre size x size.
 * Shrinking averages the source area under each output pixel (no aliasing);
 * enlarging is bilinear with pixel centres at +0.5. Both are separable: a
 * horizontal pass over every source row, then a vertical pass.
 */
import { ForgerError } from '../../core/errors.ts';
import type { Image8 } from '../../core/image.ts';
import { convertChannels } from './channels.ts';

/** Sparse 1-D resampling: output o takes sum_k w[k] * src[idx[k]] for k in [start[o], start[o+1]). */
interface AxisWeights {
  start: Int32Array;
  idx: Int32Array;
  w: Float32Array;
}

/**
 * Weights mapping `srcLen` source pixels to `outLen` outputs, where output o is
 * scaled coordinate o + offset and scaled = source * scale.
 */
function axisWeights(srcLen: number, scale: number, offset: number, outLen: number): AxisWeights {
  const start = new Int32Array(outLen + 1);
  const idx: number[] = [];
  const w: number[] = [];
  for (let o = 0; o < outLen; o++) {
    start[o] = idx.length;
    const x = o + offset;
    if (scale < 1) {
      // area: the source interval [x, x + 1) / scale, clipped to the image
      const lo = Math.max(0, x / scale);
      const hi = Math.min(srcLen, (x + 1) / scale);
      const first = idx.length;
      let sum = 0;
      for (let i = Math.floor(lo); i < Math.ceil(hi); i++) {
        const overlap = Math.min(hi, i + 1) - Math.max(lo, i);
        if (overlap <= 0) continue;
        idx.push(i);
        w.push(overlap);
        sum += overlap;
      }
      for (let k = first; k < idx.length; k++) w[k]! /= sum;
    } else {
      // bilinear between the two nearest source centres
      const c = Math.min(srcLen - 1, Math.max(0, (x + 0.5) / scale - 0.5));
      const i0 = Math.floor(c);
      const f = c - i0;
      idx.push(i0);
      w.push(1 - f);
      if (f > 0) {
        idx.push(Math.min(i0 + 1, srcLen - 1));
        w.push(f);
      }
    }
  }
  start[outLen] = idx.length;
  return { start, idx: Int32Array.from(idx), w: Float32Array.from(w) };
}

/**
 * Resize `img` so the short side is `size` and crop the centre size x size,
 * returning `channels` channels (RGB -> gray by BT.601 luma, gray -> RGB by
 * replication, alpha over white).
 */
export function resizeCenterCrop(img: Image8, size: number, channels: 1 | 3): Image8 {
  if (!Number.isInteger(size) || size < 1) throw new ForgerError('E_CONFIG', `image size ${size} is not allowed; use a positive integer`);
  if (!(img.width > 0 && img.height > 0)) throw new ForgerError('E_DATA', `cannot resize an empty ${img.width}x${img.height} image`);
  const src = convertChannels(img, channels);
  const { width: w, height: h } = src;
  const c = channels;
  const scale = size / Math.min(w, h);
  // The scaled long side, rounded; the crop starts at a whole scaled pixel.
  const sw = w <= h ? size : Math.max(size, Math.round(w * scale));
  const sh = h < w ? size : Math.max(size, Math.round(h * scale));
  if (sw === w && sh === h && w === size && h === size) return src === img ? { ...img, data: img.data.slice() } : src;
  const ox = Math.floor((sw - size) / 2);
  const oy = Math.floor((sh - size) / 2);
  const ax = axisWeights(w, scale, ox, size);
  const ay = axisWeights(h, scale, oy, size);

  // [h, w, c] -> [h, size, c]
  const tmp = new Float32Array(h * size * c);
  const data = src.data;
  for (let y = 0; y < h; y++) {
    for (let o = 0; o < size; o++) {
      const dst = (y * size + o) * c;
      for (let k = ax.start[o]!; k < ax.start[o + 1]!; k++) {
        const s = (y * w + ax.idx[k]!) * c;
        const wk = ax.w[k]!;
        for (let ch = 0; ch < c; ch++) tmp[dst + ch]! += wk * data[s + ch]!;
      }
    }
  }
  // [h, size, c] -> [size, size, c]
  const out = new Uint8Array(size * size * c);
  const row = size * c;
  const acc = new Float32Array(row);
  for (let o = 0; o < size; o++) {
    acc.fill(0);
    for (let k = ay.start[o]!; k < ay.start[o + 1]!; k++) {
      const base = ay.idx[k]! * row;
      const wk = ay.w[k]!;
      for (let i = 0; i < row; i++) acc[i]! += wk * tmp[base + i]!;
    }
    for (let i = 0; i < row; i++) {
      const v = Math.round(acc[i]!);
      out[o * row + i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { width: size, height: size, channels, data: out };
}
