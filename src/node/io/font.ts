/**
 * A 5x7 bitmap font (the classic HD44780 LCD shapes, with real descenders on
 * g j p q y) for plot titles, tick labels and legends. Each glyph is rows of
 * 5 bits, 0x10 the leftmost column; rows 0-6 sit on the baseline, rows 7-8 hang
 * below it. Letters and punctuation are proportionally spaced; digits keep
 * their full width so numbers line up.
 */
import { blend } from './raster.ts';
import type { Raster, Rgb } from './raster.ts';

/** Height of capitals and digits at scale 1. */
export const CAP_HEIGHT = 7;
/** Height including descenders at scale 1. */
export const LINE_HEIGHT = 9;

const GLYPHS: Record<string, string> = {
  '0': '0e 11 13 15 19 11 0e', '1': '04 0c 04 04 04 04 0e', '2': '0e 11 01 02 04 08 1f',
  '3': '1f 02 04 02 01 11 0e', '4': '02 06 0a 12 1f 02 02', '5': '1f 10 1e 01 01 11 0e',
  '6': '06 08 10 1e 11 11 0e', '7': '1f 01 02 04 08 08 08', '8': '0e 11 11 0e 11 11 0e',
  '9': '0e 11 11 0f 01 02 0c',

  A: '0e 11 11 11 1f 11 11', B: '1e 11 11 1e 11 11 1e', C: '0e 11 10 10 10 11 0e',
  D: '1c 12 11 11 11 12 1c', E: '1f 10 10 1e 10 10 1f', F: '1f 10 10 1e 10 10 10',
  G: '0e 11 10 17 11 11 0f', H: '11 11 11 1f 11 11 11', I: '0e 04 04 04 04 04 0e',
  J: '07 02 02 02 02 12 0c', K: '11 12 14 18 14 12 11', L: '10 10 10 10 10 10 1f',
  M: '11 1b 15 15 11 11 11', N: '11 11 19 15 13 11 11', O: '0e 11 11 11 11 11 0e',
  P: '1e 11 11 1e 10 10 10', Q: '0e 11 11 11 15 12 0d', R: '1e 11 11 1e 14 12 11',
  S: '0f 10 10 0e 01 01 1e', T: '1f 04 04 04 04 04 04', U: '11 11 11 11 11 11 0e',
  V: '11 11 11 11 11 0a 04', W: '11 11 11 15 15 15 0a', X: '11 11 0a 04 0a 11 11',
  Y: '11 11 11 0a 04 04 04', Z: '1f 01 02 04 08 10 1f',

  a: '00 00 0e 01 0f 11 0f', b: '10 10 16 19 11 11 1e', c: '00 00 0e 10 10 11 0e',
  d: '01 01 0d 13 11 11 0f', e: '00 00 0e 11 1f 10 0e', f: '06 09 08 1c 08 08 08',
  g: '00 00 0f 11 11 11 0f 01 0e', h: '10 10 16 19 11 11 11', i: '04 00 0c 04 04 04 0e',
  j: '02 00 06 02 02 02 02 12 0c', k: '10 10 12 14 18 14 12', l: '0c 04 04 04 04 04 0e',
  m: '00 00 1a 15 15 11 11', n: '00 00 16 19 11 11 11', o: '00 00 0e 11 11 11 0e',
  p: '00 00 1e 11 11 11 1e 10 10', q: '00 00 0f 11 11 11 0f 01 01', r: '00 00 16 19 10 10 10',
  s: '00 00 0e 10 0e 01 1e', t: '08 08 1c 08 08 09 06', u: '00 00 11 11 11 13 0d',
  v: '00 00 11 11 11 0a 04', w: '00 00 11 11 15 15 0a', x: '00 00 11 0a 04 0a 11',
  y: '00 00 11 11 11 11 0f 01 0e', z: '00 00 1f 02 04 08 1f',

  ' ': '00 00 00 00 00 00 00', '.': '00 00 00 00 00 0c 0c', ',': '00 00 00 00 0c 04 08',
  '-': '00 00 00 0e 00 00 00', '+': '00 04 04 1f 04 04 00', '=': '00 00 1f 00 1f 00 00',
  '(': '02 04 08 08 08 04 02', ')': '08 04 02 02 02 04 08', '[': '0e 08 08 08 08 08 0e',
  ']': '0e 02 02 02 02 02 0e', ':': '00 0c 0c 00 0c 0c 00', '/': '00 01 02 04 08 10 00',
  '%': '18 19 02 04 08 13 03', '_': '00 00 00 00 00 00 1f', '|': '04 04 04 04 04 04 04',
  '<': '02 04 08 10 08 04 02', '>': '08 04 02 01 02 04 08', '?': '0e 11 01 02 04 00 04',
  '!': '04 04 04 04 04 00 04', "'": '04 04 08 00 00 00 00', '#': '0a 0a 1f 0a 1f 0a 0a',
  '*': '00 04 15 0e 15 04 00', '~': '00 00 08 15 02 00 00',
};

interface Glyph {
  rows: number[];
  /** First and last used column (0..4): the ink that proportional spacing keeps. */
  left: number;
  right: number;
}

const FONT = new Map<string, Glyph>(
  Object.entries(GLYPHS).map(([ch, hex]) => {
    const rows = hex.split(' ').map((h) => parseInt(h, 16));
    const ink = rows.reduce((a, b) => a | b, 0);
    let left = 0;
    let right = 4;
    if (ch === ' ') [left, right] = [0, 1];
    else if (!/[0-9]/.test(ch)) {
      while (left < 4 && !(ink & (0x10 >> left))) left++;
      while (right > left && !(ink & (0x10 >> right))) right--;
    }
    return [ch, { rows, left, right }];
  }),
);

function glyph(ch: string): Glyph {
  return FONT.get(ch) ?? FONT.get('?')!;
}

/** Width in pixels of `text` drawn at integer `scale`. */
export function textWidth(text: string, scale = 1): number {
  let w = 0;
  for (const ch of text) {
    const g = glyph(ch);
    w += g.right - g.left + 2; // ink + 1 column of spacing
  }
  return Math.max(0, w - 1) * scale;
}

/** Draw `text` with its top-left (top of capitals) at (x, y); returns the x after it. */
export function drawText(r: Raster, text: string, x: number, y: number, color: Rgb, scale = 1): number {
  let cx = Math.round(x);
  const top = Math.round(y);
  for (const ch of text) {
    const g = glyph(ch);
    g.rows.forEach((bits, row) => {
      for (let col = g.left; col <= g.right; col++) {
        if (!(bits & (0x10 >> col))) continue;
        for (let sy = 0; sy < scale; sy++) {
          for (let sx = 0; sx < scale; sx++) blend(r, cx + (col - g.left) * scale + sx, top + row * scale + sy, color, 1);
        }
      }
    });
    cx += (g.right - g.left + 2) * scale;
  }
  return cx - scale;
}
