import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ForgerError } from '../../core/errors.ts';
import type { Image8 } from '../../core/image.ts';
import { encodeGif, writeGif } from './gif.ts';

// ---------------------------------------------------------------- a small GIF reader

interface DecodedGif {
  width: number;
  height: number;
  /** NETSCAPE2.0 loop count (0 = forever), or null when absent (play once). */
  loop: number | null;
  frames: { delayCs: number; rgb: Uint8Array }[];
}

/** Variable-width LSB-first LZW, as GIF image data uses it. */
function lzwDecode(minCodeSize: number, data: Uint8Array, pixels: number): Uint8Array {
  const clear = 1 << minCodeSize;
  const end = clear + 1;
  const out = new Uint8Array(pixels);
  let n = 0;
  let dict: number[][] = [];
  let codeSize = 0;
  const reset = () => {
    dict = Array.from({ length: clear + 2 }, (_, i) => [i]);
    codeSize = minCodeSize + 1;
  };
  reset();
  let prev: number[] | null = null;
  let bit = 0;
  while (bit + codeSize <= data.length * 8) {
    let code = 0;
    for (let b = 0; b < codeSize; b++, bit++) code |= ((data[bit >> 3]! >> (bit & 7)) & 1) << b;
    if (code === clear) {
      reset();
      prev = null;
      continue;
    }
    if (code === end) break;
    const entry: number[] = code < dict.length ? dict[code]! : [...prev!, prev![0]!];
    assert.ok(code <= dict.length && (code < dict.length || prev), `bad LZW code ${code}`);
    for (const v of entry) out[n++] = v;
    if (prev && dict.length < 4096) dict.push([...prev, entry[0]!]);
    prev = entry;
    if (dict.length === 1 << codeSize && codeSize < 12) codeSize++;
  }
  assert.equal(n, pixels, 'decoded pixel count');
  return out;
}

function readGif(bytes: Uint8Array): DecodedGif {
  let p = 0;
  const u8 = () => bytes[p++]!;
  const u16 = () => u8() | (u8() << 8);
  const table = (packed: number) => {
    const size = 2 << (packed & 7);
    const t = bytes.slice(p, p + 3 * size);
    p += 3 * size;
    return t;
  };
  const subBlocks = () => {
    const parts: number[] = [];
    for (let len = u8(); len > 0; len = u8()) for (let i = 0; i < len; i++) parts.push(u8());
    return Uint8Array.from(parts);
  };

  assert.equal(String.fromCharCode(...bytes.subarray(0, 6)), 'GIF89a');
  p = 6;
  const width = u16();
  const height = u16();
  const packed = u8();
  p += 2; // background index, aspect
  const global = packed & 0x80 ? table(packed) : null;
  const gif: DecodedGif = { width, height, loop: null, frames: [] };
  let delayCs = 0;
  for (;;) {
    const block = u8();
    if (block === 0x3b) break; // trailer
    if (block === 0x21) {
      const label = u8();
      const body = subBlocks();
      if (label === 0xf9) delayCs = body[1]! | (body[2]! << 8);
      if (label === 0xff && String.fromCharCode(...body.subarray(0, 11)) === 'NETSCAPE2.0') gif.loop = body[12]! | (body[13]! << 8);
    } else if (block === 0x2c) {
      p += 4; // left, top
      const w = u16();
      const h = u16();
      const flags = u8();
      assert.equal(flags & 0x40, 0, 'not interlaced');
      const palette = flags & 0x80 ? table(flags) : global!;
      const index = lzwDecode(u8(), subBlocks(), w * h);
      const rgb = new Uint8Array(w * h * 3);
      index.forEach((i, k) => rgb.set(palette.subarray(i * 3, i * 3 + 3), k * 3));
      gif.frames.push({ delayCs, rgb });
    } else {
      assert.fail(`unexpected GIF block 0x${block.toString(16)} at byte ${p - 1}`);
    }
  }
  assert.equal(p, bytes.length, 'nothing after the trailer');
  return gif;
}

// ---------------------------------------------------------------- frames

function frame(width: number, height: number, channels: 1 | 3, f: (x: number, y: number, c: number) => number): Image8 {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = f(x, y, c);
  return { width, height, channels, data };
}

function asRgb(img: Image8): Uint8Array {
  if (img.channels === 3) return img.data;
  const rgb = new Uint8Array(img.data.length * 3);
  img.data.forEach((v, i) => rgb.set([v, v, v], i * 3));
  return rgb;
}

test('gray frames: header, size, delays, looping and every pixel exact', () => {
  const frames = [0, 1, 2].map((t) => frame(16, 12, 1, (x, y) => (x * 16 + y * 7 + t * 85) & 0xff));
  const gif = readGif(encodeGif(frames, { delayMs: 120 }));
  assert.equal(gif.width, 16);
  assert.equal(gif.height, 12);
  assert.equal(gif.loop, 0, 'loops forever by default');
  assert.equal(gif.frames.length, 3);
  gif.frames.forEach((f, i) => {
    assert.equal(f.delayCs, 12);
    assert.deepEqual(f.rgb, asRgb(frames[i]!), `frame ${i}`);
  });
});

test('RGB frames with at most 256 colours are exact; gray frames mix in', () => {
  const frames = [
    frame(20, 10, 3, (x, y, c) => [x * 12, y * 25, (x + y) % 2 ? 255 : 0][c]!), // 20*10 distinct-ish colours
    frame(20, 10, 1, (x) => x * 12),
  ];
  const gif = readGif(encodeGif(frames, { delayMs: 50, loop: false }));
  assert.equal(gif.loop, null, 'loop: false plays once');
  assert.equal(gif.frames.length, 2);
  gif.frames.forEach((f, i) => assert.deepEqual(f.rgb, asRgb(frames[i]!), `frame ${i}`));
});

test('RGB frames with many colours are quantized close to the source', () => {
  const frames = [0, 1].map((t) => frame(40, 40, 3, (x, y, c) => [x * 6, y * 6, t * 200 + ((x * y) % 50)][c]!));
  const gif = readGif(encodeGif(frames, { delayMs: 40 }));
  assert.equal(gif.frames.length, 2);
  gif.frames.forEach((f, i) => {
    const src = frames[i]!.data;
    let err = 0;
    for (let k = 0; k < src.length; k++) err += Math.abs(f.rgb[k]! - src[k]!);
    assert.ok(err / src.length < 12, `frame ${i} mean abs error ${err / src.length}`);
  });
});

test('bad input is a ForgerError that says what and which', () => {
  const a = frame(4, 4, 1, () => 0);
  const cases: [() => unknown, string, RegExp][] = [
    [() => encodeGif([], { delayMs: 10 }), 'E_SHAPE', /no frames/],
    [() => encodeGif([a, frame(4, 5, 1, () => 0)], { delayMs: 10 }), 'E_SHAPE', /frame 1 is 4x5 but frame 0 is 4x4/],
    [() => encodeGif([a, { width: 4, height: 4, channels: 4, data: new Uint8Array(64) }], { delayMs: 10 }), 'E_SHAPE', /frame 1: 4 channels/],
    [() => encodeGif([a], { delayMs: NaN }), 'E_CONFIG', /delayMs NaN/],
  ];
  for (const [run, code, message] of cases) {
    assert.throws(run, (e: unknown) => e instanceof ForgerError && e.code === code && message.test(e.message));
  }
});

test('writeGif writes what encodeGif returns', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'forger-gif-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const frames = [frame(8, 8, 1, (x) => x * 30), frame(8, 8, 1, (_, y) => y * 30)];
  await writeGif(join(dir, 'progress.gif'), frames, { delayMs: 200 });
  assert.deepEqual(new Uint8Array(await readFile(join(dir, 'progress.gif'))), encodeGif(frames, { delayMs: 200 }));
});
