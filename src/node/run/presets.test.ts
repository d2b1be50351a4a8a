/** A tiny training run of every preset, as shipped (architecture untouched), on the wasm backend. */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PRESETS, resolveConfig, type UserConfig } from '../../core/config.ts';
import { setupBackend } from '../backend/setup.ts';
import { FASHION_DEFAULT_DIR } from '../data/fashion.ts';
import { writePng } from '../io/png.ts';
import { Rng } from '../../core/rng.ts';
import { trainRun } from './train.ts';
import { readCheckpointState, findLatestCheckpoint } from './checkpoint.ts';

let root: string;
let folder: string;

before(async () => {
  await setupBackend('wasm');
  root = await mkdtemp(join(tmpdir(), 'forger-presets-'));
  // A folder of 8 RGB images of mixed sizes for folder-dcgan64.
  folder = join(root, 'images');
  await mkdir(folder);
  const rng = new Rng(1);
  for (let i = 0; i < 8; i++) {
    const w = 50 + i * 10;
    const h = 70 - i * 3;
    const data = new Uint8Array(w * h * 3).map(() => rng.int(256));
    await writePng(join(folder, `img${i}.png`), { width: w, height: h, channels: 3, data });
  }
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

for (const name of Object.keys(PRESETS)) {
  test(`${name}: two training steps`, async (t) => {
    const source = resolveConfig({}, name).data.source;
    if (source === 'fashion' && !existsSync(FASHION_DEFAULT_DIR) && !process.env.CI) {
      t.skip('Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)');
      return;
    }
    const user: UserConfig = {
      data: source === 'folder' ? { path: folder } : ['mnist', 'fashion'].includes(source) ? { limit: 32 } : {},
      train: { steps: 2, batchSize: 8, gridSize: 4, sampleEvery: 2, checkpointEvery: 2 },
    };
    const before = tf.memory().numTensors;
    const runDir = join(root, name);
    const res = await trainRun({ config: resolveConfig(user, name), runDir });
    assert.equal(res.step, 2);
    const state = await readCheckpointState(await findLatestCheckpoint(runDir));
    for (const row of state.history) {
      for (const v of [row.lossD, row.lossG, row.dReal, row.dFake]) assert.ok(Number.isFinite(v));
      assert.ok(row.dReal > 0 && row.dReal < 1 && row.dFake > 0 && row.dFake < 1);
    }
    assert.deepEqual(state.config.model, resolveConfig({}, name).model, 'architecture as shipped');
    assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
  });
}
