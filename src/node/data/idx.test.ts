import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ForgerError } from '../../core/errors.ts';
import { loadIdxImages, parseIdx, readIdx } from './idx.ts';

/** IDX bytes: magic 00 00 type ndims, big-endian dims, then big-endian values. */
function idx(typeByte: number, dims: number[], values: number[]): Uint8Array {
  const size = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 }[typeByte]!;
  const buf = new Uint8Array(4 + 4 * dims.length + size * values.length);
  const v = new DataView(buf.buffer);
  v.setUint32(0, (typeByte << 8) | dims.length);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d));
  const off = 4 + 4 * dims.length;
  values.forEach((x, i) => {
    const p = off + size * i;
    if (typeByte === 0x08) v.setUint8(p, x);
    else if (typeByte === 0x09) v.setInt8(p, x);
    else if (typeByte === 0x0b) v.setInt16(p, x);
    else if (typeByte === 0x0c) v.setInt32(p, x);
    else if (typeByte === 0x0d) v.setFloat32(p, x);
    else v.setFloat64(p, x);
  });
  return buf;
}

/** Rejects with a one-line E_DATA (or `code`) ForgerError whose message matches all of `parts`. */
async function rejectsWith(p: Promise<unknown>, parts: (string | RegExp)[], code = 'E_DATA'): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ForgerError, `not a ForgerError: ${String(e)}`);
    assert.equal(e.code, code);
    assert.ok(!e.message.includes('\n'), 'message is one line');
    for (const part of parts) assert.match(e.message, typeof part === 'string' ? new RegExp(part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : part);
    return true;
  });
}

// 3 images of 2x2, pixel values 0..11, labels 7, 8, 9
const IMAGES = idx(0x08, [3, 2, 2], Array.from({ length: 12 }, (_, i) => i * 20));
const LABELS = idx(0x08, [3], [7, 8, 9]);

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'forger-idx-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readIdx', () => {
  test('3-D uint8 images and 1-D labels, plain and gzipped', async () => {
    for (const gz of [false, true]) {
      const p = join(dir, gz ? 'img.bin' : 'img.gzfoo'); // the name says nothing; the magic does
      await writeFile(p, gz ? gzipSync(IMAGES) : IMAGES);
      const a = await readIdx(p);
      assert.deepEqual(a.dims, [3, 2, 2]);
      assert.equal(a.type, 'uint8');
      assert.deepEqual(Array.from(a.data), Array.from({ length: 12 }, (_, i) => i * 20));
      const lp = join(dir, gz ? 'lab.gz' : 'lab');
      await writeFile(lp, gz ? gzipSync(LABELS) : LABELS);
      const l = await readIdx(lp);
      assert.deepEqual(l.dims, [3]);
      assert.deepEqual(Array.from(l.data), [7, 8, 9]);
    }
  });

  test('multi-byte types are big-endian', () => {
    const cases: [number, string, number[]][] = [
      [0x09, 'int8', [-128, 5, 127]],
      [0x0b, 'int16', [-30000, 1, 258]],
      [0x0c, 'int32', [-2e9, 1, 65536]],
      [0x0d, 'float32', [0.5, -1.25, 3]],
      [0x0e, 'float64', [Math.PI, -1e-300, 0]],
    ];
    for (const [t, name, values] of cases) {
      const a = parseIdx(idx(t, [3], values), 'mem');
      assert.equal(a.type, name);
      assert.deepEqual(Array.from(a.data), values);
    }
  });

  test('errors: missing, empty, bad magic, truncated header and data, trailing bytes, bad gzip', async () => {
    const p = (n: string) => join(dir, n);
    await rejectsWith(readIdx(p('nope')), ['IDX file not found', p('nope')]);
    await writeFile(p('empty'), new Uint8Array(0));
    await rejectsWith(readIdx(p('empty')), ['empty IDX file', p('empty')]);
    await writeFile(p('png'), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]));
    await rejectsWith(readIdx(p('png')), ['not an IDX file', p('png'), 'magic 0x89504e47']);
    await writeFile(p('zeros'), new Uint8Array(16));
    await rejectsWith(readIdx(p('zeros')), ['not an IDX file', 'magic 0x00000000']);
    await writeFile(p('short-header'), IMAGES.subarray(0, 10));
    await rejectsWith(readIdx(p('short-header')), ['truncated IDX file', p('short-header'), 'needs 16']);
    await writeFile(p('short-data'), IMAGES.subarray(0, IMAGES.length - 1));
    await rejectsWith(readIdx(p('short-data')), ['truncated IDX file', p('short-data'), '11 data bytes', '3x2x2', 'need 12']);
    await writeFile(p('short.gz'), gzipSync(IMAGES.subarray(0, 20)));
    await rejectsWith(readIdx(p('short.gz')), ['truncated IDX file', '4 data bytes']);
    await writeFile(p('long'), new Uint8Array([...IMAGES, 0]));
    await rejectsWith(readIdx(p('long')), ['1 bytes after its data']);
    await writeFile(p('bad.gz'), gzipSync(IMAGES).subarray(0, 15));
    await rejectsWith(readIdx(p('bad.gz')), ['corrupt gzip', p('bad.gz')]);
    await rejectsWith(readIdx(dir), ['is a directory', dir]);
  });
});

describe('loadIdxImages', () => {
  test('a directory with gzipped train files (Debian names)', async () => {
    const d = join(dir, 'gzdir');
    await mkdir(d);
    await writeFile(join(d, 'train-images-idx3-ubyte.gz'), gzipSync(IMAGES));
    await writeFile(join(d, 'train-labels-idx1-ubyte.gz'), gzipSync(LABELS));
    await writeFile(join(d, 't10k-images-idx3-ubyte.gz'), gzipSync(idx(0x08, [1, 2, 2], [1, 2, 3, 4])));
    const s = await loadIdxImages(d);
    assert.deepEqual(s.shape, [2, 2, 1]);
    assert.equal(s.count, 3);
    assert.equal(s.pixels.length, 12);
    assert.equal(s.pixels[11], 220);
    assert.deepEqual(Array.from(s.labels!), [7, 8, 9]);
  });

  test('the dotted variant, no labels, and a limit', async () => {
    const d = join(dir, 'dotdir');
    await mkdir(d);
    await writeFile(join(d, 'train-images.idx3-ubyte'), IMAGES);
    const s = await loadIdxImages(d, { limit: 2 });
    assert.equal(s.count, 2);
    assert.deepEqual(Array.from(s.pixels), [0, 20, 40, 60, 80, 100, 120, 140]);
    assert.equal(s.labels, null);
  });

  test('an images file finds its sibling labels; labelsPath null skips them', async () => {
    const d = join(dir, 'filedir');
    await mkdir(d);
    await writeFile(join(d, 'train-images.idx3-ubyte'), IMAGES);
    await writeFile(join(d, 'train-labels.idx1-ubyte.gz'), gzipSync(LABELS));
    const s = await loadIdxImages(join(d, 'train-images.idx3-ubyte'));
    assert.deepEqual(Array.from(s.labels!), [7, 8, 9]);
    const n = await loadIdxImages(join(d, 'train-images.idx3-ubyte'), { labelsPath: null });
    assert.equal(n.labels, null);
    const e = await loadIdxImages(join(d, 'train-images.idx3-ubyte'), { labelsPath: join(d, 'train-labels.idx1-ubyte.gz'), limit: 1 });
    assert.deepEqual(Array.from(e.labels!), [7]);
  });

  test('errors: count mismatch, wrong rank, empty dir, missing path, bad limit', async () => {
    const d = join(dir, 'mismatch');
    await mkdir(d);
    await writeFile(join(d, 'train-images-idx3-ubyte'), IMAGES);
    await writeFile(join(d, 'train-labels-idx1-ubyte'), idx(0x08, [2], [1, 2]));
    await rejectsWith(loadIdxImages(d), ['label count 2', 'image count 3', join(d, 'train-labels-idx1-ubyte')]);
    await rejectsWith(loadIdxImages(join(d, 'train-images-idx3-ubyte'), { labelsPath: join(d, 'train-images-idx3-ubyte') }), ['expected uint8 labels [count]']);
    await rejectsWith(loadIdxImages(join(d, 'train-labels-idx1-ubyte')), ['uint8 [2]', 'expected uint8 images [count, rows, cols]']);
    const e = join(dir, 'emptydir');
    await mkdir(e);
    await rejectsWith(loadIdxImages(e), ['no MNIST-format images in', e]);
    await rejectsWith(loadIdxImages(join(dir, 'missing')), ['IDX data not found', join(dir, 'missing')]);
    await rejectsWith(loadIdxImages(d, { limit: 0 }), ['limit 0'], 'E_CONFIG');
  });
});
