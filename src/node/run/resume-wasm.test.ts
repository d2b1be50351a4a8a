/** Resume determinism for a DCGAN (convs, batch norm moving averages; spectral norm; labels) on the default wasm backend. */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { resolveConfig, type UserConfig } from '../../core/config.ts';
import { setupBackend } from '../backend/setup.ts';
import { buildModels, disposeModels } from '../../core/models/index.ts';
import { findLatestCheckpoint, readCheckpointState } from './checkpoint.ts';
import { loadModelFiles } from './model-files.ts';
import { trainRun } from './train.ts';

let root: string;
before(async () => {
  await setupBackend('wasm');
  root = await mkdtemp(join(tmpdir(), 'forger-resume-wasm-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const cfg = (steps: number): UserConfig => ({
  data: { limit: 128 },
  model: { gWidths: [32, 16], dWidths: [16, 32] },
  train: { steps, batchSize: 16, gridSize: 4, sampleEvery: 100, checkpointEvery: 100 },
});

async function weights(runDir: string): Promise<Float32Array[]> {
  const ck = await findLatestCheckpoint(runDir);
  const out: Float32Array[] = [];
  for (const net of ['generator', 'discriminator']) {
    const { model } = await loadModelFiles(join(ck, net));
    out.push(...model.getWeights().map((w) => w.dataSync() as Float32Array)); // BN moving stats included
    model.dispose();
  }
  return out;
}

test('mnist-dcgan resumed at step 3 equals an uninterrupted run at step 6, bit for bit', async () => {
  assert.equal(tf.getBackend(), 'wasm');
  await trainRun({ config: resolveConfig(cfg(6), 'mnist-dcgan'), runDir: join(root, 'full') });
  await trainRun({ config: resolveConfig(cfg(3), 'mnist-dcgan'), runDir: join(root, 'split') });
  await trainRun({ config: resolveConfig(cfg(6), 'mnist-dcgan'), runDir: join(root, 'split'), resume: true, overrides: { train: { steps: 6 } } });
  const a = await weights(join(root, 'full'));
  const b = await weights(join(root, 'split'));
  assert.equal(a.length, b.length);
  a.forEach((w, i) => assert.deepEqual(b[i], w, `weight ${i}`));
});

test('with spectral norm in G and D, a resume continues the same power iteration: u and every weight at step 6 match bit for bit', async () => {
  const sn = (steps: number): UserConfig => ({ ...cfg(steps), model: { ...cfg(steps).model, spectralNorm: 'both' } });
  await trainRun({ config: resolveConfig(sn(6), 'mnist-dcgan'), runDir: join(root, 'sn-full') });
  await trainRun({ config: resolveConfig(sn(3), 'mnist-dcgan'), runDir: join(root, 'sn-split') });
  await trainRun({ config: resolveConfig(sn(6), 'mnist-dcgan'), runDir: join(root, 'sn-split'), resume: true, overrides: { train: { steps: 6 } } });
  const a = await weights(join(root, 'sn-full'));
  const b = await weights(join(root, 'sn-split'));
  assert.equal(a.length, b.length);
  a.forEach((w, i) => assert.deepEqual(b[i], w, `weight ${i}`));
  // the u vectors are among them (one per dense / conv / transposed conv: 3 in G, 3 in D)
  const ck = await findLatestCheckpoint(join(root, 'sn-split'));
  let us = 0;
  for (const net of ['generator', 'discriminator']) {
    const { model } = await loadModelFiles(join(ck, net));
    us += model.weights.filter((w) => w.originalName.endsWith('/sn_u')).length;
    model.dispose();
  }
  assert.equal(us, 6);
});

test('a conditional DCGAN (projection D, label embedding in G) trains on wasm without UnsortedSegmentSum, and resumes bit for bit', async () => {
  const cond = (steps: number): UserConfig => ({ ...cfg(steps), model: { ...cfg(steps).model, conditional: 'projection', classEmbedding: 4 } });
  await trainRun({ config: resolveConfig(cond(6), 'mnist-dcgan'), runDir: join(root, 'cond-full') });
  await trainRun({ config: resolveConfig(cond(3), 'mnist-dcgan'), runDir: join(root, 'cond-split') });
  await trainRun({ config: resolveConfig(cond(6), 'mnist-dcgan'), runDir: join(root, 'cond-split'), resume: true, overrides: { train: { steps: 6 } } });
  const a = await weights(join(root, 'cond-full'));
  const b = await weights(join(root, 'cond-split'));
  assert.equal(a.length, b.length);
  a.forEach((w, i) => assert.deepEqual(b[i], w, `weight ${i}`));
  // both label tables moved from their initial values: their gradients reached them on wasm
  const ck = await findLatestCheckpoint(join(root, 'cond-full'));
  const fresh = buildModels((await readCheckpointState(ck)).config.model, 42);
  for (const [net, layer, model] of [['generator', 'g_embed', fresh.generator], ['discriminator', 'd_embed', fresh.discriminator]] as const) {
    const { model: trained } = await loadModelFiles(join(ck, net));
    const before = model.getLayer(layer).getWeights()[0]!.dataSync();
    const after = trained.getLayer(layer).getWeights()[0]!.dataSync();
    assert.notDeepEqual(after, before, `${layer} did not train`);
    trained.dispose();
  }
  disposeModels(fresh);
});
