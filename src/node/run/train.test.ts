import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { resolveConfig, type UserConfig } from '../../core/config.ts';
import { ForgerError } from '../../core/errors.ts';
import { findLatestCheckpoint } from './checkpoint.ts';
import { loadModelFiles } from './model-files.ts';
import { describeConfig, trainRun } from './train.ts';

let root: string;
before(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'forger-train-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A small MNIST MLP with dropout (so the dropout streams are exercised too). */
const small: UserConfig = {
  data: { limit: 200 },
  model: { gWidths: [32], dWidths: [32], latentDim: 8 },
  train: { batchSize: 16, steps: 6, sampleEvery: 3, checkpointEvery: 3, gridSize: 4 },
};

async function weightsOf(dir: string): Promise<Float32Array[]> {
  const ck = await findLatestCheckpoint(dir);
  const out: Float32Array[] = [];
  for (const net of ['generator', 'discriminator']) {
    const { model } = await loadModelFiles(join(ck, net));
    out.push(...model.getWeights().map((w) => w.dataSync() as Float32Array));
    model.dispose();
  }
  return out;
}

test('a run writes grids, charts, config and checkpoints', async () => {
  const runDir = join(root, 'a');
  const res = await trainRun({ config: resolveConfig(small, 'mnist-mlp'), runDir });
  assert.equal(res.step, 6);
  assert.deepEqual((await readdir(join(runDir, 'samples'))).sort(), ['latest.png', 'step-000003.png', 'step-000006.png']);
  assert.ok((await stat(join(runDir, 'charts', 'training.png'))).size > 1000);
  assert.deepEqual(JSON.parse(await readFile(join(runDir, 'latest.json'), 'utf8')), { step: 6, dir: 'checkpoints/step-000006' });
  const ck = join(runDir, 'checkpoints', 'step-000006');
  assert.deepEqual((await readdir(ck)).sort(), ['discriminator', 'generator', 'optimizers.bin', 'optimizers.json', 'state.json']);
  const state = JSON.parse(await readFile(join(ck, 'state.json'), 'utf8'));
  assert.equal(state.step, 6);
  assert.equal(state.history.length, 6);
  assert.equal(state.config.model.latentDim, 8);
});

test('resume at step 3 reaches the same weights at step 6 as an uninterrupted run', async () => {
  const full = join(root, 'full');
  const split = join(root, 'split');
  await trainRun({ config: resolveConfig(small, 'mnist-mlp'), runDir: full });
  const first = await trainRun({ config: resolveConfig({ ...small, train: { ...small.train, steps: 3 } }, 'mnist-mlp'), runDir: split });
  assert.equal(first.step, 3);
  const second = await trainRun({ config: resolveConfig(small, 'mnist-mlp'), runDir: split, resume: true, overrides: { train: { steps: 6 } } });
  assert.equal(second.step, 6);
  const a = await weightsOf(full);
  const b = await weightsOf(split);
  assert.equal(a.length, b.length);
  a.forEach((w, i) => assert.deepEqual(b[i], w, `weight ${i} differs after resume`));
  const h = JSON.parse(await readFile(join(split, 'checkpoints', 'step-000006', 'state.json'), 'utf8')).history;
  assert.deepEqual(h.map((r: { step: number }) => r.step), [1, 2, 3, 4, 5, 6]);
});

test('with a moving average of G: generator/ holds the average, generator-train/ G, and a resume repeats both exactly', async () => {
  const ema: UserConfig = { ...small, train: { ...small.train, emaDecay: 0.9 } };
  const full = join(root, 'ema-full');
  const split = join(root, 'ema-split');
  await trainRun({ config: resolveConfig(ema, 'mnist-mlp'), runDir: full });
  await trainRun({ config: resolveConfig({ ...ema, train: { ...ema.train, steps: 3 } }, 'mnist-mlp'), runDir: split });
  await trainRun({ config: resolveConfig(ema, 'mnist-mlp'), runDir: split, resume: true, overrides: { train: { steps: 6 } } });
  const load = async (dir: string, net: string) => {
    const { model } = await loadModelFiles(join(await findLatestCheckpoint(dir), net));
    const w = model.getWeights().map((t) => t.dataSync() as Float32Array);
    model.dispose();
    return w;
  };
  for (const net of ['generator', 'generator-train', 'discriminator']) {
    const a = await load(full, net);
    const b = await load(split, net);
    a.forEach((w, i) => assert.deepEqual(b[i], w, `${net} weight ${i} differs after resume`));
  }
  assert.notDeepEqual(await load(full, 'generator'), await load(full, 'generator-train'));
});

test('a new run refuses a directory that holds a run; resume refuses a changed model', async () => {
  const runDir = join(root, 'a');
  await assert.rejects(trainRun({ config: resolveConfig(small, 'mnist-mlp'), runDir }), (e: unknown) => e instanceof ForgerError && /already holds a run/.test(e.message));
  await assert.rejects(
    trainRun({ config: resolveConfig(small, 'mnist-mlp'), runDir, resume: true, overrides: { model: { latentDim: 9 } } }),
    (e: unknown) => e instanceof ForgerError && e.code === 'E_CHECKPOINT' && /trained with model\.latentDim 8, not 9/.test(e.message),
  );
});

test('stopping early saves a checkpoint at the stop step', async () => {
  const runDir = join(root, 'stop');
  let n = 0;
  const res = await trainRun({ config: resolveConfig(small, 'mnist-mlp'), runDir, shouldStop: () => ++n >= 2 });
  assert.equal(res.step, 2);
  assert.equal(res.stoppedEarly, true);
  assert.match(await findLatestCheckpoint(runDir), /step-000002$/);
});

test('a crash mid-save leaves the previous checkpoint usable; a broken latest.json falls back to scanning', async () => {
  const runDir = join(root, 'crash');
  await trainRun({ config: resolveConfig({ ...small, train: { ...small.train, steps: 3 } }, 'mnist-mlp'), runDir });
  // What a process killed while writing step 6 leaves: a half-filled temp dir from a dead pid.
  const { mkdir, writeFile } = await import('node:fs/promises');
  const partial = join(runDir, 'checkpoints', '.step-000006.tmp-999999-abc');
  await mkdir(join(partial, 'generator'), { recursive: true });
  await writeFile(join(partial, 'generator', 'weights.bin'), 'partial');
  assert.match(await findLatestCheckpoint(runDir), /step-000003$/);
  await writeFile(join(runDir, 'latest.json'), '{"step": 6, "dir": "checkp');
  assert.match(await findLatestCheckpoint(runDir), /step-000003$/);
  const res = await trainRun({ config: resolveConfig(small, 'mnist-mlp'), runDir, resume: true, overrides: { train: { steps: 6 } } });
  assert.equal(res.step, 6);
  assert.deepEqual(JSON.parse(await readFile(join(runDir, 'latest.json'), 'utf8')).step, 6);
  assert.ok(!(await readdir(join(runDir, 'checkpoints'))).some((n) => n.startsWith('.')), 'the dead temp dir was cleaned up');
});

test('optimizer state that does not fit the model is an E_CHECKPOINT error', async () => {
  const runDir = join(root, 'badopt');
  await trainRun({ config: resolveConfig({ ...small, train: { ...small.train, steps: 3 } }, 'mnist-mlp'), runDir });
  const path = join(runDir, 'checkpoints', 'step-000003', 'optimizers.json');
  const index = JSON.parse(await readFile(path, 'utf8'));
  index.g.shapes.reverse();
  const { writeFile } = await import('node:fs/promises');
  await writeFile(path, JSON.stringify(index));
  await assert.rejects(
    trainRun({ config: resolveConfig(small, 'mnist-mlp'), runDir, resume: true, overrides: { train: { steps: 6 } } }),
    (e: unknown) => e instanceof ForgerError && e.code === 'E_CHECKPOINT' && /generator optimizer state has moments/.test(e.message),
  );
});

test('training leaks no tensors across steps and checkpoints', async () => {
  const before = tf.memory().numTensors;
  await trainRun({ config: resolveConfig(small, 'mnist-mlp'), runDir: join(root, 'leak') });
  assert.equal(tf.memory().numTensors, before);
});

test('wgan-gp with R1: resume at step 3 reaches the same weights at step 6 (the penalty stream is checkpointed)', async () => {
  const gp: UserConfig = { ...small, train: { ...small.train, loss: 'wgan-gp', r1Weight: 0.5 } };
  const full = join(root, 'gp-full');
  const split = join(root, 'gp-split');
  await trainRun({ config: resolveConfig(gp, 'mnist-mlp'), runDir: full });
  await trainRun({ config: resolveConfig({ ...gp, train: { ...gp.train, steps: 3 } }, 'mnist-mlp'), runDir: split });
  const state = JSON.parse(await readFile(join(split, 'checkpoints', 'step-000003', 'state.json'), 'utf8'));
  assert.equal(state.rng.penalty.length, 4);
  await trainRun({ config: resolveConfig(gp, 'mnist-mlp'), runDir: split, resume: true, overrides: { train: { steps: 6 } } });
  const a = await weightsOf(full);
  const b = await weightsOf(split);
  assert.equal(a.length, b.length);
  a.forEach((w, i) => assert.deepEqual(b[i], w, `weight ${i} differs after resume`));
});

test('feature matching, instance noise and DiffAugment: resume at step 3 reaches the same weights at step 6 (their streams are checkpointed)', async () => {
  const remedies: UserConfig = {
    ...small,
    train: { ...small.train, featureMatching: 2, adversarialWeight: 0.5, instanceNoise: 0.2, instanceNoiseSteps: 5, diffAugment: 'color,translation,cutout', dSteps: 2 },
  };
  const full = join(root, 'fm-full');
  const split = join(root, 'fm-split');
  await trainRun({ config: resolveConfig(remedies, 'mnist-mlp'), runDir: full });
  await trainRun({ config: resolveConfig({ ...remedies, train: { ...remedies.train, steps: 3 } }, 'mnist-mlp'), runDir: split });
  const state = JSON.parse(await readFile(join(split, 'checkpoints', 'step-000003', 'state.json'), 'utf8'));
  assert.equal(state.rng.instanceNoise.length, 4);
  assert.equal(state.rng.augment.length, 4);
  await trainRun({ config: resolveConfig(remedies, 'mnist-mlp'), runDir: split, resume: true, overrides: { train: { steps: 6 } } });
  const a = await weightsOf(full);
  const b = await weightsOf(split);
  assert.equal(a.length, b.length);
  a.forEach((w, i) => assert.deepEqual(b[i], w, `weight ${i} differs after resume`));
});

test('describeConfig names the lr schedule, R1 and packing when on, and not when off', () => {
  const text = (c: ReturnType<typeof resolveConfig>) => describeConfig(c).join('\n');
  const plain = text(resolveConfig({}, 'mnist-dcgan'));
  for (const s of ['lr decay', 'R1', 'packs']) assert.ok(!plain.includes(s), `${s} in ${plain}`);
  const ring = text(resolveConfig({ model: { pack: 4 } }, 'toy-ring8'));
  for (const s of ['linear lr decay to 0', 'R1 gamma 0.1', 'D judges packs of 4 (PacGAN)']) assert.ok(ring.includes(s), `${s} not in ${ring}`);
});
