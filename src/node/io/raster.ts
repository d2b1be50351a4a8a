/**
 * A minimal RGB canvas for the plotter. Pixel (i, j) covers [i, i+1) x [j, j+1),
 * so its centre is (i + 0.5, j + 0.5); drawing takes float coordinates and
 * anti-aliases strokes and dots by distance to the shape.
 */
import type { Image8 } from '../../core/image.ts';

export type Rgb = readonly [number, number, number];

/** Half-open pixel bounds [x0, x1) x [y0, y1). */
export interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface Raster {
  width: number;
  height: number;
  /** RGB, rows top to bottom. */
  data: Uint8Array;
  /** Drawing outside this rectangle is dropped. */
  clip: Rect;
}

export function createRaster(width: number, height: number, background: Rgb): Raster {
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) data.set(background, p * 3);
  return { width, height, data, clip: { x0: 0, y0: 0, x1: width, y1: height } };
}

export function toImage8(r: Raster): Image8 {
  return { width: r.width, height: r.height, channels: 3, data: r.data };
}

/** Mix `color` into pixel (x, y) with opacity `alpha` in [0, 1]. */
export function blend(r: Raster, x: number, y: number, color: Rgb, alpha: number): void {
  const { clip } = r;
  if (alpha <= 0 || x < clip.x0 || y < clip.y0 || x >= clip.x1 || y >= clip.y1) return;
  const o = (y * r.width + x) * 3;
  const a = Math.min(1, alpha);
  for (let k = 0; k < 3; k++) r.data[o + k] = Math.round(r.data[o + k]! + (color[k]! - r.data[o + k]!) * a);
}

/** Fill whole pixels [x, x + w) x [y, y + h). */
export function fillRect(r: Raster, x: number, y: number, w: number, h: number, color: Rgb, alpha = 1): void {
  const x0 = Math.max(Math.round(x), r.clip.x0);
  const y0 = Math.max(Math.round(y), r.clip.y0);
  const x1 = Math.min(Math.round(x + w), r.clip.x1);
  const y1 = Math.min(Math.round(y + h), r.clip.y1);
  for (let j = y0; j < y1; j++) for (let i = x0; i < x1; i++) blend(r, i, j, color, alpha);
}

/** Distance from (px, py) to the segment (ax, ay)-(bx, by). */
function segmentDistance(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2));
  return Math.hypot(px - ax - t * dx, py - ay - t * dy);
}

/**
 * Stroke line segments [x0, y0, x1, y1, ...] (4 numbers each) `width` pixels
 * wide with round caps. Coverage is the max over segments, so joints of a
 * polyline are not painted twice.
 */
export function strokeSegments(r: Raster, segments: ArrayLike<number>, color: Rgb, width: number): void {
  if (segments.length < 4) return;
  const half = width / 2;
  const coverage = new Float32Array(r.width * r.height);
  const box = { x0: r.width, y0: r.height, x1: 0, y1: 0 };
  for (let s = 0; s + 3 < segments.length; s += 4) {
    const [ax, ay, bx, by] = [segments[s]!, segments[s + 1]!, segments[s + 2]!, segments[s + 3]!];
    const i0 = Math.max(r.clip.x0, Math.floor(Math.min(ax, bx) - half - 1));
    const i1 = Math.min(r.clip.x1, Math.ceil(Math.max(ax, bx) + half + 1));
    const j0 = Math.max(r.clip.y0, Math.floor(Math.min(ay, by) - half - 1));
    const j1 = Math.min(r.clip.y1, Math.ceil(Math.max(ay, by) + half + 1));
    for (let j = j0; j < j1; j++) {
      for (let i = i0; i < i1; i++) {
        // Full inside the stroke, fading linearly over the pixel at its edge.
        const c = half + 0.5 - segmentDistance(i + 0.5, j + 0.5, ax, ay, bx, by);
        if (c <= 0) continue;
        const o = j * r.width + i;
        coverage[o] = Math.max(coverage[o]!, Math.min(1, c));
      }
    }
    box.x0 = Math.min(box.x0, i0);
    box.y0 = Math.min(box.y0, j0);
    box.x1 = Math.max(box.x1, i1);
    box.y1 = Math.max(box.y1, j1);
  }
  for (let j = box.y0; j < box.y1; j++) for (let i = box.x0; i < box.x1; i++) blend(r, i, j, color, coverage[j * r.width + i]!);
}

/** A polyline [x0, y0, x1, y1, ...] as segments for strokeSegments. */
export function polylineSegments(points: ArrayLike<number>): number[] {
  const segments: number[] = [];
  for (let k = 0; k + 3 < points.length; k += 2) segments.push(points[k]!, points[k + 1]!, points[k + 2]!, points[k + 3]!);
  return segments;
}

/** A dashed straight line from (ax, ay) to (bx, by) as segments: `on` pixels drawn, `off` skipped. */
export function dashSegments(ax: number, ay: number, bx: number, by: number, on: number, off: number): number[] {
  const length = Math.hypot(bx - ax, by - ay);
  const segments: number[] = [];
  for (let d = 0; d < length; d += on + off) {
    const t0 = d / length;
    const t1 = Math.min(d + on, length) / length;
    segments.push(ax + (bx - ax) * t0, ay + (by - ay) * t0, ax + (bx - ax) * t1, ay + (by - ay) * t1);
  }
  return segments;
}

/** An anti-aliased dot of `radius` centred at (cx, cy), blended with opacity `alpha`. */
export function fillDisc(r: Raster, cx: number, cy: number, radius: number, color: Rgb, alpha: number): void {
  for (let j = Math.floor(cy - radius - 1); j <= Math.ceil(cy + radius + 1); j++) {
    for (let i = Math.floor(cx - radius - 1); i <= Math.ceil(cx + radius + 1); i++) {
      const c = radius + 0.5 - Math.hypot(i + 0.5 - cx, j + 0.5 - cy);
      if (c > 0) blend(r, i, j, color, alpha * Math.min(1, c));
    }
  }
}
