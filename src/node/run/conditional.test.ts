/**
 * Class-conditional runs on disk: labels from the loaders, checkpoints of two-input
 * models, a tiny MNIST run without leaks, and resume = uninterrupted.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PNG } from 'pngjs';
import { resolveClasses, resolveConfig, type UserConfig } from '../../core/config.ts';
import { ForgerError } from '../../core/errors.ts';
import { buildDiscriminator, buildGenerator } from '../../core/models/index.ts';
import { generate } from '../../core/sample.ts';
import { GanRun } from '../../core/trainer.ts';
import { expectNoLeaks } from '../../testing/leaks.ts';
import { FASHION_CLASSES, FASHION_DEFAULT_DIR } from '../data/fashion.ts';
import { findLatestCheckpoint } from './checkpoint.ts';
import { loadRealData } from './dataset.ts';
import { loadModelFiles, loadWeightsInto, saveModelFiles } from './model-files.ts';
import { trainRun } from './train.ts';

let root: string;
before(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'forger-cond-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A small MLP on 200 bundled MNIST digits, conditional. */
const small = (conditional: 'projection' | 'acgan', extra: UserConfig['model'] = {}): UserConfig => ({
  data: { limit: 200 },
  model: { gWidths: [32], dWidths: [32], latentDim: 8, conditional, ...extra },
  train: { batchSize: 16, steps: 6, sampleEvery: 3, checkpointEvery: 3, gridSize: 20 },
});

test('MNIST gives digit labels and names; a conditional config takes them', async () => {
  const config = resolveConfig(small('acgan'), 'mnist-mlp');
  const data = await loadRealData(config);
  assert.deepEqual(data.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  const { x, labels } = data.labeledBatch!(8);
  assert.equal(labels.length, 8);
  assert.ok(Array.from(labels).every((l) => l >= 0 && l < 10));
  x.dispose();
  assert.equal(resolveClasses(config, data.classNames).model.numClasses, 10);
});

test('Fashion-MNIST gives its ten class names', { skip: !existsSync(FASHION_DEFAULT_DIR) && 'dataset-fashion-mnist not installed' }, async () => {
  const data = await loadRealData(resolveConfig({ data: { limit: 20 }, model: { conditional: 'projection' } }, 'fashion-dcgan'));
  assert.deepEqual(data.classNames, [...FASHION_CLASSES]);
});

/** A w x w grey PNG. */
function png(w: number, v: number): Buffer {
  const p = new PNG({ width: w, height: w });
  for (let i = 0; i < w * w; i++) p.data.set([v, v, v, 255], 4 * i);
  return PNG.sync.write(p);
}

test("a folder's subfolders are the classes (sorted); loose images are refused in conditional mode", async () => {
  const dir = join(root, 'folder');
  for (const [cls, v] of [['zebra', 200], ['ant', 10], ['cat', 90]] as const) {
    await mkdir(join(dir, cls), { recursive: true });
    for (let i = 0; i < 2; i++) await writeFile(join(dir, cls, `${i}.png`), png(8, v + i));
  }
  const config = resolveConfig({ data: { path: dir }, model: { conditional: 'acgan', dataShape: [8, 8, 1], arch: 'mlp' } }, 'folder-dcgan64');
  const data = await loadRealData(config);
  assert.deepEqual(data.classNames, ['ant', 'cat', 'zebra']);
  // each image's label is its folder's: dark ant (0), mid cat (1), bright zebra (2)
  const { x, labels } = data.labeledBatch!(6);
  const means = tf.tidy(() => Array.from(tf.mean(x, [1, 2, 3]).dataSync()));
  means.forEach((mv, i) => assert.equal(labels[i], mv < -0.5 ? 0 : mv < 0.5 ? 1 : 2, `image ${i}: mean ${mv}, label ${labels[i]}`));
  x.dispose();
  await writeFile(join(dir, 'loose.png'), png(8, 0));
  await assert.rejects(loadRealData(config), (e: unknown) => e instanceof ForgerError && e.code === 'E_DATA' && /cannot label .* by subfolder: loose\.png is not in a subfolder/.test(e.message));
});

test('a conditional G saves and loads with the same outputs (and loads into a new G by weight name)', async () => {
  for (const conditional of ['projection', 'acgan'] as const) {
    const m = resolveClasses(resolveConfig({ model: { gWidths: [16, 8], dWidths: [8, 16], conditional, classEmbedding: 5, spectralNorm: 'both' } }, 'mnist-dcgan'), ['a', 'b', 'c']).model;
    const G = buildGenerator(m, 3);
    const D = buildDiscriminator(m, 3);
    const dir = join(root, `models-${conditional}`);
    await saveModelFiles(G, join(dir, 'g'));
    await saveModelFiles(D, join(dir, 'd'));
    const { model: G2 } = await loadModelFiles(join(dir, 'g'));
    const { model: D2 } = await loadModelFiles(join(dir, 'd'));
    const z = new Float32Array(4 * m.latentDim).map((_, i) => Math.sin(i));
    const labels = [0, 2, 1, 2];
    const samples = generate(G, z, m.latentDim, { labels });
    assert.deepEqual(generate(G2, z, m.latentDim, { labels }), samples);
    const x = tf.tensor(samples, [4, 28, 28, 1]);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 3);
    const input = conditional === 'projection' ? [x, y] : x;
    const flat = (o: tf.Tensor | tf.Tensor[]) => (Array.isArray(o) ? o : [o]).map((t) => Array.from(t.dataSync()));
    assert.deepEqual(flat(D2.predict(input) as tf.Tensor), flat(D.predict(input) as tf.Tensor));
    const G3 = buildGenerator(m, 99);
    await loadWeightsInto(G3, join(dir, 'g'));
    assert.deepEqual(generate(G3, z, m.latentDim, { labels }), samples);
    tf.dispose([x, y]);
    [G, D, G2, D2, G3].forEach((mdl) => mdl.dispose());
  }
});

test('a tiny conditional MNIST run keeps the tensor count flat across steps', async () => {
  const config = resolveConfig({ ...small('projection', { classEmbedding: 4 }), train: { ...small('projection').train, steps: 40 } }, 'mnist-mlp');
  const run = new GanRun(config, await loadRealData(config));
  await expectNoLeaks(async () => {
    for (let i = 0; i < 12; i++) await run.trainOnce();
  }, 2);
  assert.equal(run.step, 36);
  assert.ok(run.history.every((r) => Number.isFinite(r.lossD) && Number.isFinite(r.lossG)));
  run.dispose();
});

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

for (const conditional of ['acgan', 'projection'] as const) {
  test(`${conditional}: resume at step 3 reaches the same weights at step 6 as an uninterrupted run`, async () => {
    const cfg = small(conditional, { dropout: 0.2 });
    const full = join(root, `${conditional}-full`);
    const split = join(root, `${conditional}-split`);
    await trainRun({ config: resolveConfig(cfg, 'mnist-mlp'), runDir: full });
    await trainRun({ config: resolveConfig({ ...cfg, train: { ...cfg.train, steps: 3 } }, 'mnist-mlp'), runDir: split });
    const state = JSON.parse(await readFile(join(split, 'checkpoints', 'step-000003', 'state.json'), 'utf8'));
    assert.equal(state.rng.labels.length, 4, 'the label stream is checkpointed');
    assert.deepEqual([state.config.model.numClasses, state.config.model.classNames[9]], [10, '9']);
    const saved = JSON.parse(await readFile(join(split, 'config.json'), 'utf8'));
    assert.equal(saved.model.numClasses, 10, 'config.json holds the classes found in the data');
    await trainRun({ config: resolveConfig(cfg, 'mnist-mlp'), runDir: split, resume: true, overrides: { train: { steps: 6 } } });
    const a = await weightsOf(full);
    const b = await weightsOf(split);
    assert.equal(a.length, b.length);
    a.forEach((w, i) => assert.deepEqual(b[i], w, `weight ${i} differs after resume`));
  });
}

test('resuming a conditional run with another --conditional is refused', async () => {
  await assert.rejects(
    trainRun({ config: resolveConfig(small('acgan'), 'mnist-mlp'), runDir: join(root, 'acgan-split'), resume: true, overrides: { model: { conditional: 'projection' } } }),
    (e: unknown) => e instanceof ForgerError && e.code === 'E_CHECKPOINT' && /model\.conditional "projection" cannot change on resume: .* was trained with model\.conditional "acgan"/.test(e.message),
  );
});
