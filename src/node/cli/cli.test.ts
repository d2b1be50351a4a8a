/**
 * The CLI end to end, in-process through main() (fast), plus a few real
 * processes through bin/forger.js for exit codes and clean error output.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { main, type Io } from './main.ts';

const BIN = fileURLToPath(new URL('../../../bin/forger.js', import.meta.url));
let root: string;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (s) => void (out += s), err: (s) => void (err += s), isTTY: false };
  const code = await main(argv, io);
  return { code, out, err };
}

function png(path: string): PNG {
  return PNG.sync.read(require_(path));
}
let require_: (p: string) => Buffer;

const tinyImage = ['--preset', 'mnist-mlp', '--limit', '64', '--g-widths', '16', '--d-widths', '16', '--latent-dim', '8', '--batch-size', '8', '--grid-size', '4', '--backend', 'cpu'];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'forger-cli-'));
  const { readFileSync } = await import('node:fs');
  require_ = (p) => readFileSync(p);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('train', () => {
  test('trains an image preset and writes everything', async () => {
    const out = join(root, 'img');
    const r = await cli('train', ...tinyImage, '--steps', '4', '--sample-every', '2', '--checkpoint-every', '2', '--out', out);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /preset mnist-mlp, seed 42/);
    assert.match(r.out, /step 4\/4 lossD \d/);
    assert.match(r.out, /done at step 4/);
    assert.match(r.err, /backend cpu/);
    const grid = png(join(out, 'samples', 'latest.png'));
    assert.equal(grid.width, 2 * 56 + 3 * 2);
    assert.ok((await stat(join(out, 'charts', 'training.png'))).size > 0);
    assert.ok((await stat(join(out, 'checkpoints', 'step-000004', 'generator', 'model.json'))).size > 0);
  });

  test('trains a 2D preset and writes a scatter', async () => {
    const out = join(root, 'ring');
    const r = await cli('train', '--preset', 'toy-ring8', '--steps', '3', '--sample-every', '3', '--grid-size', '50', '--backend', 'cpu', '--out', out);
    assert.equal(r.code, 0, r.err);
    assert.ok(png(join(out, 'samples', 'step-000003.png')).width >= 300);
  });

  test('--config file values, overridden by flags', async () => {
    const cfg = join(root, 'run.json');
    await writeFile(cfg, JSON.stringify({ preset: 'toy-spiral', seed: 9, train: { steps: 2, batchSize: 32 } }));
    const out = join(root, 'cfg');
    const r = await cli('train', '--config', cfg, '--batch-size', '16', '--backend', 'cpu', '--out', out);
    assert.equal(r.code, 0, r.err);
    const saved = JSON.parse(await readFile(join(out, 'config.json'), 'utf8'));
    assert.deepEqual([saved.preset, saved.seed, saved.train.steps, saved.train.batchSize], ['toy-spiral', 9, 2, 16]);
  });

  test('--resume continues to a larger --steps', async () => {
    const out = join(root, 'img');
    const r = await cli('train', '--resume', out, '--steps', '6', '--backend', 'cpu');
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /resumed .* at step 4/);
    assert.match(r.out, /done at step 6/);
  });

  const bad: [string, string[], number, RegExp][] = [
    ['unknown preset', ['--preset', 'nope'], 2, /unknown preset "nope"; use one of/],
    ['unknown flag', ['--stepz', '3'], 2, /Unknown option '--stepz'/],
    ['non-integer steps', ['--steps', 'abc'], 2, /--steps expects an integer, got "abc"/],
    ['invalid value', ['--steps', '0'], 2, /--steps 0 is invalid/],
    ['bad enum', ['--loss', 'hinge9'], 2, /--loss "hinge9" is invalid; use one of minimax, non-saturating/],
    ['impossible image size', ['--image-size', '30', '--backend', 'cpu'], 1, /imageSize 30 cannot be reached/],
    ['missing folder', ['--preset', 'folder-dcgan64', '--data', '/nonexistent/x', '--backend', 'cpu'], 1, /\/nonexistent\/x/],
    ['missing config file', ['--config', '/nonexistent.json'], 2, /cannot read config file \/nonexistent\.json/],
    ['folder preset without --data', ['--preset', 'folder-dcgan64', '--backend', 'cpu'], 2, /needs --data DIR/],
    ['wrong channels for data', ['--channels', '3', '--backend', 'cpu'], 1, /mnist images have 1 channel\(s\), the model expects 3/],
  ];
  for (const [name, args, code, re] of bad) {
    test(`bad input: ${name}`, async () => {
      const r = await cli('train', ...args, '--out', join(root, `bad-${name.replace(/\W/g, '')}`));
      assert.equal(r.code, code, r.err);
      assert.match(r.err, re);
      assert.equal(r.err.trim().split('\n').filter((l) => /error/.test(l)).length, 1, `one error line: ${r.err}`);
      assert.doesNotMatch(r.err, /\n\s+at /);
    });
  }

  test('bad input: empty image folder and unwritable output', async () => {
    const empty = join(root, 'empty');
    await mkdir(empty);
    let r = await cli('train', '--preset', 'folder-dcgan64', '--data', empty, '--backend', 'cpu', '--out', join(root, 'x'));
    assert.equal(r.code, 1);
    assert.match(r.err, /no PNG or JPEG images in/);
    const file = join(root, 'a-file');
    await writeFile(file, 'x');
    r = await cli('train', ...tinyImage, '--steps', '1', '--out', join(file, 'sub'));
    assert.equal(r.code, 1);
    assert.match(r.err, /cannot write to output directory/);
  });

  test('bad input: corrupt IDX file, and a resume that changes the model', async () => {
    const idx = join(root, 'bad-images-idx3-ubyte');
    await writeFile(idx, Buffer.from([0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3]));
    let r = await cli('train', '--dataset', 'idx', '--data', idx, '--backend', 'cpu', '--out', join(root, 'idx'));
    assert.equal(r.code, 1);
    assert.match(r.err, /bad-images-idx3-ubyte/);
    assert.match(r.err, /truncated|expected|short/i);
    r = await cli('train', '--resume', join(root, 'img'), '--latent-dim', '50', '--backend', 'cpu');
    assert.equal(r.code, 1);
    assert.match(r.err, /--latent-dim 50 cannot change on resume: .* was trained with --latent-dim 8/);
    r = await cli('train', '--resume', join(root, 'img'), '--preset', 'toy-ring8');
    assert.match(r.err, /is a mnist-mlp run, not toy-ring8/);
  });

  test('a run directory is never overwritten', async () => {
    const r = await cli('train', ...tinyImage, '--steps', '1', '--out', join(root, 'img'));
    assert.equal(r.code, 2);
    assert.match(r.err, /already holds a run .* --resume/);
  });
});

describe('using a trained model', () => {
  const run = () => join(root, 'img');

  test('sample: grid, one file per image, seeds repeat', async () => {
    const a = join(root, 's', 'a.png');
    const b = join(root, 's', 'b.png');
    assert.equal((await cli('sample', run(), '--n', '6', '--grid', a, '--seed', '7', '--backend', 'cpu')).code, 0);
    assert.equal((await cli('sample', run(), '--n', '6', '--grid', b, '--seed', '7', '--backend', 'cpu')).code, 0);
    assert.deepEqual(await readFile(a), await readFile(b));
    const dir = join(root, 's', 'each');
    const r = await cli('sample', run(), '--n', '3', '--dir', dir, '--backend', 'cpu');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /seed \d+/);
    const one = png(join(dir, 'sample-0002.png'));
    assert.deepEqual([one.width, one.height], [28, 28]);
  });

  test('sample: 2D points as CSV and JSON', async () => {
    const r = await cli('sample', join(root, 'ring'), '--n', '5', '--format', 'csv', '--seed', '1', '--backend', 'cpu');
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n');
    assert.equal(lines[0], 'x,y');
    assert.match(r.err, /^forger: \d\/8 modes captured, [\d.]+% high quality/m);
    assert.equal(lines.length, 6);
    assert.ok(lines.slice(1).every((l) => /^-?[\d.e-]+,-?[\d.e-]+$/.test(l)));
    const j = await cli('sample', join(root, 'ring'), '--n', '2', '--format', 'json', '--backend', 'cpu');
    assert.equal(JSON.parse(j.out).points.length, 2);
    const scatterPng = join(root, 'ring-scatter.png');
    assert.equal((await cli('sample', join(root, 'ring'), '--n', '50', '--format', 'png', '--out', scatterPng, '--backend', 'cpu')).code, 0);
    assert.ok(png(scatterPng).width >= 300);
  });

  test('interpolate: GIF and PNG grid', async () => {
    const gif = join(root, 'walk.gif');
    let r = await cli('interpolate', run(), '--steps', '4', '--out', gif, '--seed', '3', '--backend', 'cpu');
    assert.equal(r.code, 0, r.err);
    assert.equal((await readFile(gif)).subarray(0, 6).toString(), 'GIF89a');
    const grid = join(root, 'walk.png');
    r = await cli('interpolate', run(), '--steps', '5', '--rows', '2', '--mode', 'lerp', '--out', grid, '--backend', 'cpu');
    assert.equal(r.code, 0, r.err);
    assert.equal(png(grid).width, 5 * 56 + 6 * 2);
  });

  test('score: one line per image, and JSON', async () => {
    const dir = join(root, 's', 'each');
    let r = await cli('score', run(), dir, '--backend', 'cpu');
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n');
    assert.equal(lines.length, 3);
    assert.ok(lines.every((l) => /^[01]\.\d{4}  .*sample-000\d\.png$/.test(l)));
    r = await cli('score', run(), join(dir, 'sample-0000.png'), '--json', '--backend', 'cpu');
    const j = JSON.parse(r.out);
    assert.ok(j[0].pReal >= 0 && j[0].pReal <= 1);
  });

  test('info: layers, params, progress', async () => {
    const r = await cli('info', run());
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /progress: step 6\/6/);
    assert.match(r.out, /g_dense1\s+Dense\s+\[n, 16\]\s+144/);
    const j = JSON.parse((await cli('info', run(), '--json')).out);
    assert.equal(j.generator.params, 8 * 16 + 16 + 4 * 16 + 16 * 784 + 784); // dense, batch norm (4 per unit), dense
  });

  test('bad input: missing run, undecodable image, corrupt checkpoint', async () => {
    let r = await cli('sample', join(root, 'nope'));
    assert.equal(r.code, 1);
    assert.match(r.err, /run directory .*nope does not exist/);
    const junk = join(root, 'junk.png');
    await writeFile(junk, 'not a png');
    r = await cli('score', run(), junk, '--backend', 'cpu');
    assert.equal(r.code, 1);
    assert.match(r.err, /cannot decode image .*junk\.png/);
    const broken = join(root, 'ring');
    await truncate(join(broken, 'checkpoints', 'step-000003', 'generator', 'weights.bin'), 10);
    r = await cli('sample', broken, '--backend', 'cpu');
    assert.equal(r.code, 1);
    assert.match(r.err, /truncated or corrupt/);
    assert.equal(r.err.trim().split('\n').filter((l) => /error/.test(l)).length, 1);
  });
});

describe('as a process', () => {
  test('Ctrl-C saves a checkpoint and exits 130; --resume continues', async () => {
    const { spawn } = await import('node:child_process');
    const out = join(root, 'sigint');
    const child = spawn(process.execPath, [BIN, 'train', '--preset', 'toy-ring8', '--steps', '100000', '--log-every', '5', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        if (/step 10\//.test(stdout) && !child.killed) child.kill('SIGINT');
      });
      child.on('close', resolve);
    });
    assert.equal(code, 130, stderr);
    assert.match(stderr, /stopping after this step and saving a checkpoint/);
    assert.match(stdout, /stopped at step \d+; checkpoint .*step-0000\d\d/);
    assert.match(stdout, /continue with: forger train --resume/);
    const step = JSON.parse(await readFile(join(out, 'latest.json'), 'utf8')).step;
    assert.ok(step >= 10);
    const r = await cli('train', '--resume', out, '--steps', String(step + 2));
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`done at step ${step + 2}`));
  });


  test('exit codes and one-line errors, no stack traces', () => {
    const r = spawnSync(process.execPath, [BIN, 'train', '--preset', 'nope'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^forger train: error: unknown preset "nope"/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    const h = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
    assert.equal(h.status, 0);
    assert.match(h.stdout, /commands:/);
    const u = spawnSync(process.execPath, [BIN, 'frobnicate'], { encoding: 'utf8' });
    assert.equal(u.status, 2);
    assert.match(u.stderr, /unknown command "frobnicate"/);
  });
});
