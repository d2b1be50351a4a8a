import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { ForgerError } from '../../core/errors.ts';
import { loadFolder } from './folder.ts';

/** A solid-colour w x h PNG. */
function png(w: number, h: number, rgb: [number, number, number]): Buffer {
  const p = new PNG({ width: w, height: h });
  for (let i = 0; i < w * h; i++) p.data.set([...rgb, 255], 4 * i);
  return PNG.sync.write(p);
}

/** A solid-colour w x h JPEG. */
function jpg(w: number, h: number, rgb: [number, number, number]): Buffer {
  const data = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([...rgb, 255], 4 * i);
  return jpeg.encode({ width: w, height: h, data }, 95).data;
}

async function put(root: string, rel: string, bytes: Uint8Array | string): Promise<void> {
  const p = join(root, rel);
  await mkdir(join(p, '..'), { recursive: true });
  await writeFile(p, bytes);
}

const isData = (re: RegExp) => (e: unknown): boolean => {
  assert.ok(e instanceof ForgerError && e.code === 'E_DATA', String(e));
  assert.match(e.message, re);
  assert.ok(!e.message.includes('\n'));
  return true;
};

let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'forger-folder-'));
  const d = join(root, 'classes');
  await put(d, 'cats/b.png', png(10, 6, [255, 0, 0]));
  await put(d, 'cats/a.JPG', jpg(8, 8, [0, 0, 255]));
  await put(d, 'dogs/deep/c.jpeg', jpg(5, 9, [0, 255, 0]));
  await put(d, 'dogs/d.png', png(3, 3, [255, 255, 255]));
  await put(d, 'dogs/notes.txt', 'not an image');
  await put(d, 'dogs/.hidden.png', 'skipped');
  await put(d, 'empty-class/readme.md', 'no images here');
  await put(root, 'flat/x.png', png(4, 4, [10, 20, 30]));
  await put(root, 'flat/sub/y.png', png(4, 4, [40, 50, 60]));
  await mkdir(join(root, 'nothing/inner'), { recursive: true });
  await put(root, 'nothing/inner/a.txt', 'x');
  await put(root, 'broken/ok.png', png(2, 2, [1, 2, 3]));
  await put(root, 'broken/zz.png', png(2, 2, [1, 2, 3]).subarray(0, 40));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('loadFolder', () => {
  test('mixed sizes and formats, sorted, labelled by subfolder', async () => {
    const s = await loadFolder(join(root, 'classes'), { size: 4, channels: 3 });
    assert.deepEqual(s.shape, [4, 4, 3]);
    assert.equal(s.count, 4);
    assert.deepEqual(s.names, ['cats/a.JPG', 'cats/b.png', 'dogs/d.png', 'dogs/deep/c.jpeg']);
    assert.deepEqual(Array.from(s.labels!), [0, 0, 1, 1]);
    const px = (i: number) => Array.from(s.pixels.subarray(i * 48, i * 48 + 3));
    const near = (a: number[], b: number[]) => a.every((v, k) => Math.abs(v - b[k]!) <= 4);
    assert.ok(near(px(0), [0, 0, 255]), String(px(0)));
    assert.deepEqual(px(1), [255, 0, 0]);
    assert.deepEqual(px(2), [255, 255, 255]);
    assert.ok(near(px(3), [0, 255, 0]), String(px(3)));
  });

  test('grayscale, a balanced limit, and labels off', async () => {
    const s = await loadFolder(join(root, 'classes'), { size: 2, channels: 1, limit: 2 });
    assert.deepEqual(s.shape, [2, 2, 1]);
    assert.deepEqual(s.names, ['cats/a.JPG', 'dogs/d.png']);
    assert.deepEqual(Array.from(s.labels!), [0, 1]);
    assert.deepEqual(Array.from(s.pixels.subarray(4)), [255, 255, 255, 255]);
    const n = await loadFolder(join(root, 'classes'), { size: 2, channels: 1, limit: 2, labelsFromSubdirs: false });
    assert.deepEqual(n.names, ['cats/a.JPG', 'cats/b.png']);
    assert.equal(n.labels, null);
  });

  test('images at the top level mean no labels (or an error when labels are required)', async () => {
    const s = await loadFolder(join(root, 'flat'), { size: 4, channels: 3 });
    assert.deepEqual(s.names, ['sub/y.png', 'x.png']);
    assert.equal(s.labels, null);
    assert.deepEqual(Array.from(s.pixels.subarray(0, 3)), [40, 50, 60]);
    await assert.rejects(loadFolder(join(root, 'flat'), { size: 4, channels: 3, labelsFromSubdirs: true }), isData(/x\.png is not in a subfolder/));
  });

  test('errors: missing, not a directory, no images, undecodable file, bad options', async () => {
    await assert.rejects(loadFolder(join(root, 'missing'), { size: 4, channels: 3 }), isData(/^image folder not found: .*missing/));
    await assert.rejects(loadFolder(join(root, 'flat/x.png'), { size: 4, channels: 3 }), isData(/x\.png is not a directory/));
    await assert.rejects(loadFolder(join(root, 'nothing'), { size: 4, channels: 3 }), isData(/^no PNG or JPEG images in .*nothing$/));
    await assert.rejects(loadFolder(join(root, 'broken'), { size: 4, channels: 3 }), isData(/^cannot decode image .*broken\/zz\.png: corrupt PNG/));
    await assert.rejects(loadFolder(join(root, 'flat'), { size: 0, channels: 3 }), (e: unknown) => e instanceof ForgerError && e.code === 'E_CONFIG');
  });
});
