/** Class-conditional runs through the CLI: --conditional, --class, class rows, score and info. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PNG } from 'pngjs';
import { main, type Io } from './main.ts';

let root: string;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (s) => void (out += s), err: (s) => void (err += s), isTTY: false };
  const code = await main(argv, io);
  return { code, out, err };
}

const png = (path: string) => PNG.sync.read(readFileSync(path));
const tiny = ['--preset', 'mnist-mlp', '--limit', '100', '--g-widths', '16', '--d-widths', '16', '--latent-dim', '8', '--batch-size', '8', '--grid-size', '20', '--backend', 'cpu'];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'forger-cond-cli-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('conditional runs', () => {
  const acgan = () => join(root, 'acgan');
  const proj = () => join(root, 'proj');

  test('train --conditional acgan and projection: the config and progress grids have one row per class', async () => {
    let r = await cli('train', ...tiny, '--conditional', 'acgan', '--acgan-weight', '0.5', '--steps', '3', '--sample-every', '3', '--out', acgan());
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /conditional: AC-GAN D \(class loss weight 0\.5\), G takes z and the one-hot label; 10 classes: 0, 1, 2, 3/);
    // gridSize 20 over 10 classes: 10 rows of 2 cells of 56 px with 2 px gaps
    const grid = png(join(acgan(), 'samples', 'latest.png'));
    assert.deepEqual([grid.width, grid.height], [2 * 56 + 3 * 2, 10 * 56 + 11 * 2]);
    r = await cli('train', ...tiny, '--conditional', 'projection', '--class-embedding', '4', '--steps', '3', '--out', proj());
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /conditional: projection D, G takes z and a 4-dim label embedding; 10 classes/);
  });

  test('sample --class by index or name; without it one row per class', async () => {
    const a = join(root, 's', 'three.png');
    let r = await cli('sample', acgan(), '--n', '4', '--class', '3', '--grid', a, '--seed', '1', '--backend', 'cpu');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /\(4 images, seed 1, class 3\)/);
    const rows = join(root, 's', 'rows.png');
    r = await cli('sample', proj(), '--n', '25', '--grid', rows, '--seed', '1', '--backend', 'cpu');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /\(30 images, seed 1, 3 per class; rows: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9\)/);
    assert.deepEqual([png(rows).width, png(rows).height], [3 * 56 + 4 * 2, 10 * 56 + 11 * 2]);
    const dir = join(root, 's', 'each');
    r = await cli('sample', proj(), '--n', '2', '--class', '7', '--dir', dir, '--backend', 'cpu');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual((await readdir(dir)).sort(), ['sample-0000-class7.png', 'sample-0001-class7.png']);
  });

  test('--class errors: out of range names the classes; an unconditional run refuses it', async () => {
    let r = await cli('sample', acgan(), '--class', '12', '--backend', 'cpu');
    assert.equal(r.code, 2);
    assert.match(r.err, /^forger sample: error: --class "12" is not one of the 10 classes; use an index 0-9 or a name: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9\n$/);
    r = await cli('sample', acgan(), '--class', 'Sneaker', '--backend', 'cpu');
    assert.equal(r.code, 2);
    assert.match(r.err, /--class "Sneaker" is not one of the 10 classes/);
    const plain = join(root, 'plain');
    assert.equal((await cli('train', ...tiny, '--steps', '1', '--out', plain)).code, 0);
    r = await cli('sample', plain, '--class', '3', '--backend', 'cpu');
    assert.equal(r.code, 2);
    assert.match(r.err, /--class applies to class-conditional runs; .*plain was trained with --conditional off/);
  });

  test('interpolate keeps the class fixed along each walk', async () => {
    const out = join(root, 'walk.png');
    let r = await cli('interpolate', acgan(), '--steps', '3', '--rows', '2', '--class', '5', '--out', out, '--backend', 'cpu');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /class 5\)/);
    r = await cli('interpolate', proj(), '--steps', '3', '--rows', '2', '--out', out, '--backend', 'cpu');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /walk r in class r mod 10\)/);
  });

  test('score: AC-GAN names the class it sees; projection scores the given or the most real class', async () => {
    const dir = join(root, 's', 'each');
    let r = await cli('score', acgan(), dir, '--backend', 'cpu');
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.ok(lines.every((l) => /^[01]\.\d{4}  class \d \(p [01]\.\d{3}\)  .*sample-000\d-class7\.png$/.test(l)), r.out);
    r = await cli('score', proj(), dir, '--class', '7', '--json', '--backend', 'cpu');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { class: number; pReal: number; pClass?: number }[];
    assert.deepEqual(j.map((e) => e.class), [7, 7]);
    assert.ok(j.every((e) => e.pReal >= 0 && e.pReal <= 1 && e.pClass === undefined));
    r = await cli('score', acgan(), dir, '--class', '7', '--backend', 'cpu');
    assert.equal(r.code, 2);
    assert.match(r.err, /--class applies to projection runs/);
  });

  test('info describes the conditional setup and the layers of both networks', async () => {
    const r = await cli('info', proj());
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /conditional: projection D, G takes z and a 4-dim label embedding; 10 classes: 0, 1, 2/);
    assert.match(r.out, /g_embed\s+Dense\s+\[n, 4\]\s+40/);
    assert.match(r.out, /d_project\s+Dot\s+\[n, 1\]/);
  });

  test('bad flags: --conditional value, and toy data', async () => {
    let r = await cli('train', ...tiny, '--conditional', 'yes', '--out', join(root, 'bad1'));
    assert.equal(r.code, 2);
    assert.match(r.err, /--conditional "yes" is invalid; use one of off, projection, acgan/);
    r = await cli('train', '--preset', 'toy-ring8', '--conditional', 'acgan', '--out', join(root, 'bad2'));
    assert.equal(r.code, 2);
    assert.match(r.err, /--conditional "acgan" is invalid; data source ring8 has no class labels/);
    r = await cli('train', ...tiny, '--class-embedding', '8', '--out', join(root, 'bad3'));
    assert.equal(r.code, 2);
    assert.match(r.err, /--class-embedding 8 is invalid; applies only to a class-conditional model/);
  });
});
