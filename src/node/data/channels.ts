/**
 * Channel conversion for 8-bit images. Alpha is composited over white (what a
 * transparent PNG looks like on a page); RGB -> gray is ITU-R BT.601 luma
 * Y = 0.299 R + 0.587 G + 0.114 B; gray -> RGB replicates.
 */
import type { Image8 } from '../../core/image.ts';

/** Return `img` with 1 or 3 channels (the same object when it already has them). */
export function convertChannels(img: Image8, channels: 1 | 3): Image8 {
  if (img.channels === channels) return img;
  const n = img.width * img.height;
  const src = img.data;
  const c = img.channels;
  const out = new Uint8Array(n * channels);
  for (let i = 0; i < n; i++) {
    let r: number;
    let g: number;
    let b: number;
    if (c === 1) {
      r = g = b = src[i]!;
    } else {
      r = src[i * c]!;
      g = src[i * c + 1]!;
      b = src[i * c + 2]!;
      if (c === 4) {
        // over white: v * a + 255 * (1 - a)
        const a = src[i * 4 + 3]! / 255;
        const bg = 255 * (1 - a);
        r = r * a + bg;
        g = g * a + bg;
        b = b * a + bg;
      }
    }
    if (channels === 1) {
      // Equal r, g, b give back exactly that value (the weights sum to 1).
      out[i] = Math.min(255, Math.round(0.299 * r + 0.587 * g + 0.114 * b));
    } else {
      out[i * 3] = Math.round(r);
      out[i * 3 + 1] = Math.round(g);
      out[i * 3 + 2] = Math.round(b);
    }
  }
  return { width: img.width, height: img.height, channels, data: out };
}
