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
    (e: unknown) => e instanceof ForgerError && e.code === 'E_CHECKPOINT' && /^model\.latentDim 9 cannot change on resume: .*\/a was trained with model\.latentDim 8; drop that option/.test(e.message),
  );
});

test('resume refuses a change of spectral norm or minibatch layer in one line, also for runs saved before those keys existed', async () => {
  const runDir = join(root, 'arch');
  await trainRun({ config: resolveConfig({ ...small, train: { ...small.train, steps: 1 } }, 'mnist-mlp'), runDir });
  const resume = (model: UserConfig['model']) => trainRun({ config: resolveConfig(small, 'mnist-mlp'), runDir, resume: true, overrides: { model, train: { steps: 2 } } });
  const cases: [UserConfig['model'], RegExp][] = [
    [{ spectralNorm: 'd' }, /^model\.spectralNorm "d" cannot change on resume: \S+ was trained with model\.spectralNorm "off"; /],
    [{ minibatch: 'stddev' }, /^model\.minibatch "stddev" cannot change on resume: \S+ was trained with model\.minibatch "off"; /],
    [{ minibatch: 'discrimination', minibatchKernels: 7 }, /^model\.minibatch "discrimination" cannot change/],
    [{ minibatchKernels: 7 }, /^model\.minibatchKernels 7 cannot change on resume: \S+ was trained with model\.minibatchKernels 50; /],
  ];
  const oneLine = (re: RegExp) => (e: unknown) => e instanceof ForgerError && e.code === 'E_CHECKPOINT' && re.test(e.message) && !e.message.includes('\n');
  for (const [model, re] of cases) await assert.rejects(resume(model), oneLine(re));
  // A checkpoint from before spectral norm and minibatch layers: its config lacks the keys.
  const { writeFile } = await import('node:fs/promises');
  for (const file of [join(runDir, 'checkpoints', 'step-000001', 'state.json'), join(runDir, 'config.json')]) {
    const j = JSON.parse(await readFile(file, 'utf8'));
    const m = j.config?.model ?? j.model;
    for (const k of ['spectralNorm', 'minibatch', 'minibatchKernels', 'minibatchDims', 'minibatchGroup']) delete m[k];
    await writeFile(file, JSON.stringify(j));
  }
  await assert.rejects(resume({ spectralNorm: 'both' }), oneLine(/^model\.spectralNorm "both" cannot change on resume: \S+ was trained with model\.spectralNorm "off"; /));
  await assert.rejects(resume({ minibatch: 'stddev' }), oneLine(/^model\.minibatch "stddev" cannot change/));
  assert.equal((await resume({})).step, 2, 'without the options it resumes');
});

test('describeConfig names every option that is on', () => {
  const plain = describeConfig(resolveConfig({}, 'mnist-mlp')).join('\n');
  for (const word of ['spectral', 'minibatch', 'penalty', 'smoothing', 'moving average', 'roll back']) assert.doesNotMatch(plain, new RegExp(word), word);
  assert.match(plain, /health checks NaN\/Inf, D wins \(D\(x\) - D\(G\(z\)\) >= 0\.98 for 200 steps\), collapse \(fixed-noise spread < 0\.2 of real, every 250 steps\): on a problem, warn$/);
  const rich = describeConfig(
    resolveConfig(
      {
        model: { dBatchNorm: false, spectralNorm: 'd', minibatch: 'discrimination', minibatchKernels: 20, minibatchDims: 3 },
        train: { loss: 'wgan-gp', gpWeight: 5, r1Weight: 0.5, emaDecay: 0.999, onCollapse: 'rollback', rollbackLrFactor: 0.3, maxRollbacks: 2 },
      },
      'mnist-dcgan',
    ),
  ).join('\n');
  assert.match(rich, /, spectral norm in D, minibatch discrimination \(20 kernels of dim 3\)\n/);
  assert.match(rich, /loss wgan-gp \(gradient penalty weight 5, R1 penalty gamma 0\.5\),/);
  assert.match(rich, /samples from G's moving average \(decay 0\.999\)/);
  // wgan-gp has no largest gap: no D-wins check
  assert.match(rich, /health checks NaN\/Inf, collapse .*: on a problem, roll back to the newest healthy checkpoint with learning rates x0\.3, at most 2 times, then stop$/);
  const more = describeConfig(resolveConfig({ model: { spectralNorm: 'both', minibatch: 'stddev', minibatchGroup: 8 }, train: { labelSmoothing: 0.1, onCollapse: 'stop', collapseRatio: 0, dWinsSteps: 50 } }, 'mnist-dcgan')).join('\n');
  assert.match(more, /, spectral norm in D and G, minibatch stddev \(group 8\)\n/);
  assert.match(more, /loss non-saturating \(label smoothing 0\.1\),/);
  assert.match(more, /health checks NaN\/Inf, D wins \(D\(x\) - D\(G\(z\)\) >= 0\.882 for 50 steps\): on a problem, stop$/);
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
  for (const s of ['linear lr decay to 0', 'R1 penalty gamma 0.1', 'D judges packs of 4 (PacGAN)']) assert.ok(ring.includes(s), `${s} not in ${ring}`);
});
