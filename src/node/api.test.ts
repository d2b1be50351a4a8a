/** The README's library example, run as written (through the package's own name). */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { GanRun, loadModelFiles, loadRealData, resolveConfig, Rng, sample, saveCheckpoint, setupBackend, generate, modeStats } from 'forger/node';

test('README library example: train, sample, save, reload', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'forger-api-'));
  await setupBackend('auto');
  const config = resolveConfig({ train: { steps: 200 } }, 'toy-ring8');
  const run = new GanRun(config, await loadRealData(config));
  const logged: number[] = [];
  const health: string[] = [];
  await run.train({
    onStep: (r) => {
      if (r.step % 50 === 0) logged.push(r.step);
    },
    onHealth: (event) => void health.push(event.message),
  });
  assert.deepEqual(health, [], 'a healthy run of the preset reports nothing');
  const points = sample(run.samplingGenerator, config.model, 1000, new Rng(7));
  await saveCheckpoint(join(dir, 'my-ring'), run);
  assert.deepEqual(logged, [50, 100, 150, 200]);
  assert.equal(points.length, 2000);
  // 200 steps already put most points near the ring of radius 1
  const r = Array.from({ length: 1000 }, (_, i) => Math.hypot(points[2 * i]!, points[2 * i + 1]!)).sort((a, b) => a - b);
  assert.ok(Math.abs(r[500]! - 1) < 0.35, `median radius ${r[500]}`);
  assert.ok(modeStats('ring8', points) !== null);

  // The saved generator reloads as a plain LayersModel with identical outputs.
  const { model } = await loadModelFiles(join(dir, 'my-ring', 'checkpoints', 'step-000200', 'generator'));
  const z = new Float32Array(8 * config.model.latentDim).map((_, i) => Math.sin(i));
  assert.deepEqual(generate(model, z, config.model.latentDim), generate(run.samplingGenerator, z, config.model.latentDim));
  const before = tf.memory().numTensors;
  model.dispose();
  run.dispose();
  assert.ok(tf.memory().numTensors < before);
  await rm(dir, { recursive: true, force: true });
});
