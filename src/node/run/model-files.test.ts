import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { resolveConfig } from '../../core/config.ts';
import { ForgerError } from '../../core/errors.ts';
import { buildGenerator } from '../../core/models/index.ts';
import { generate } from '../../core/sample.ts';
import { expectNoLeaks } from '../../testing/leaks.ts';
import { loadModelFiles, loadWeightsInto, saveModelFiles } from './model-files.ts';

let dir: string;
before(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'forger-model-files-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cfg = resolveConfig({ model: { gWidths: [16, 8], baseSize: 7 } }, 'mnist-dcgan').model;

test('save -> load gives identical samples and the TF.js file layout', async () => {
  const g = buildGenerator(cfg, 3);
  await saveModelFiles(g, join(dir, 'g'), { note: 'hi' });
  const json = JSON.parse(await readFile(join(dir, 'g', 'model.json'), 'utf8'));
  assert.equal(json.format, 'layers-model');
  assert.deepEqual(json.weightsManifest[0].paths, ['weights.bin']);
  const { model, metadata } = await loadModelFiles(join(dir, 'g'));
  assert.deepEqual(metadata, { note: 'hi' });
  const z = new Float32Array(4 * cfg.latentDim).map((_, i) => Math.cos(i));
  assert.deepEqual(generate(model, z, cfg.latentDim), generate(g, z, cfg.latentDim));
  model.dispose();
  g.dispose();
});

test('save and load leak no tensors', async () => {
  const g = buildGenerator(cfg, 3);
  await expectNoLeaks(async () => {
    await saveModelFiles(g, join(dir, 'leak'));
    (await loadModelFiles(join(dir, 'leak'))).model.dispose();
    await loadWeightsInto(g, join(dir, 'leak'));
  });
  g.dispose();
});

test('loading into a different architecture names the weight and shapes', async () => {
  const other = buildGenerator({ ...cfg, latentDim: 50 }, 3);
  await assert.rejects(
    loadWeightsInto(other, join(dir, 'g')),
    (e: unknown) => e instanceof ForgerError && e.code === 'E_CHECKPOINT' && /g_dense\/kernel has shape \[100,784\], the model expects \[50,784\]/.test(e.message),
  );
  other.dispose();
});

test('corrupt model.json and missing weights are E_CHECKPOINT errors', async () => {
  await writeFile(join(dir, 'bad.json'), '{');
  const bad = join(dir, 'bad');
  const g = buildGenerator(cfg, 1);
  await saveModelFiles(g, bad);
  await writeFile(join(bad, 'model.json'), '{"modelTopology": 1');
  await assert.rejects(loadModelFiles(bad), /cannot read .*model\.json/);
  await rm(join(dir, 'g2'), { recursive: true, force: true });
  const g2 = join(dir, 'g2');
  await saveModelFiles(g, g2);
  g.dispose();
  await rm(join(g2, 'weights.bin'));
  await assert.rejects(loadModelFiles(g2), /cannot read weights .*weights\.bin: ENOENT/);
});
