/** Health checks of whole runs on disk: rollback to a healthy checkpoint, stop, warn, unhealthy marks. */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { resolveConfig, type UserConfig } from '../../core/config.ts';
import type { GanRun } from '../../core/trainer.ts';
import { findHealthyCheckpoint, findLatestCheckpoint, readCheckpointState } from './checkpoint.ts';
import { trainRun, type Logger } from './train.ts';

let root: string;
before(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'forger-health-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const tiny = (train: UserConfig['train']): UserConfig => ({
  model: { gWidths: [8], dWidths: [8] },
  train: { batchSize: 16, gridSize: 32, steps: 12, sampleEvery: 4, checkpointEvery: 2, keepCheckpoints: 2, ...train },
});

function poisonD(run: GanRun): void {
  const w = run.discriminator.getWeights();
  const bad = tf.fill(w[0]!.shape, NaN);
  run.discriminator.setWeights(w.map((t, i) => (i === 0 ? bad : t)));
  bad.dispose();
}

/** Every weight of G zero: G(z) is the same point for every z, a collapse that training cannot undo. */
function collapseG(run: GanRun): void {
  const zeros = run.generator.getWeights().map((w) => tf.zerosLike(w));
  run.generator.setWeights(zeros);
  tf.dispose(zeros);
}

function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => void lines.push(`info ${m}`), warn: (m) => void lines.push(`warn ${m}`) };
}

async function stateAt(runDir: string, step: number) {
  return readCheckpointState(join(runDir, 'checkpoints', `step-${String(step).padStart(6, '0')}`));
}

test('rollback on NaN: back to the newest checkpoint, learning rates halved and saved, the run finishes; a resume keeps the rates', async () => {
  const runDir = join(root, 'nan-rollback');
  const log = recorder();
  let poisoned = false;
  const seen: number[] = [];
  const lrs: number[] = [];
  const before = tf.memory().numTensors;
  const res = await trainRun({
    config: resolveConfig(tiny({ onCollapse: 'rollback' }), 'toy-ring8'),
    runDir,
    logger: log,
    onStep: (row, run) => {
      seen.push(row.step);
      lrs.push(run.optD.opts.learningRate);
      if (row.step === 7 && !poisoned) {
        poisoned = true;
        poisonD(run);
      }
    },
  });
  assert.equal(tf.memory().numTensors, before, 'no tensors leaked');
  // Step 8 diverges: back to the checkpoint of step 6, then on to 12.
  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 7, 8, 9, 10, 11, 12]);
  assert.deepEqual([lrs[6], lrs[7]], [1e-3, 5e-4]);
  assert.deepEqual([res.step, res.stoppedEarly, res.unhealthy], [12, false, null]);
  const warn = log.lines.find((l) => l.startsWith('warn'));
  assert.match(warn!, /^warn training diverged at step 8: lossD NaN.*; rolled back to step 6 \(rollback 1 of 3\), learning rates x0\.5: lrG 0\.0005, lrD 0\.0005$/);
  const last = await readCheckpointState(await findLatestCheckpoint(runDir));
  assert.equal(last.step, 12);
  assert.deepEqual([last.health!.rollbacks, last.health!.lrScale, last.health!.healthy], [1, 0.5, true]);
  assert.deepEqual(last.health!.events.map((e) => [e.step, e.kind, e.action, e.rolledBackTo]), [[8, 'diverged', 'rollback', 6]]);
  assert.deepEqual(last.history.map((r) => r.step), [...Array(12).keys()].map((i) => i + 1), 'one line of history, no NaN row');

  // A resume continues with the halved rates.
  const resumed: number[] = [];
  await trainRun({ config: last.config, runDir, resume: true, overrides: { train: { steps: 14 } }, onStep: (_, run) => void resumed.push(run.optG.opts.learningRate) });
  assert.deepEqual(resumed, [5e-4, 5e-4]);
});

test('rollback on collapse goes to the checkpoint before the failed check and removes the abandoned ones', async () => {
  const runDir = join(root, 'collapse-rollback');
  const log = recorder();
  let broken = false;
  const seen: number[] = [];
  const res = await trainRun({
    config: resolveConfig(tiny({ onCollapse: 'rollback', steps: 10, checkpointEvery: 3 }), 'toy-ring8'),
    runDir,
    logger: log,
    onStep: (row, run) => {
      seen.push(row.step);
      if (row.step === 8 && !broken) {
        broken = true;
        collapseG(run); // the sample check at step 8 sees it
      }
    },
  });
  assert.equal(res.step, 10);
  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 7, 8, 9, 10]);
  assert.ok(log.lines.some((l) => /^warn mode collapse at step 8: .* is 0 of a real batch's .*; rolled back to step 6 /.test(l)), log.lines.join('\n'));
  const final = await readCheckpointState(await findLatestCheckpoint(runDir));
  assert.deepEqual(final.health!.events.map((e) => [e.step, e.kind, e.action, e.rolledBackTo]), [[8, 'collapse', 'rollback', 6]]);
});

test('warn: a collapse is logged once and recorded; checkpoints written while collapsed are unhealthy, and pruning spares the newest healthy one', async () => {
  const runDir = join(root, 'collapse-warn');
  const log = recorder();
  const res = await trainRun({
    config: resolveConfig(tiny({ steps: 12 }), 'toy-ring8'),
    runDir,
    logger: log,
    onStep: (row, run) => {
      if (row.step === 4) collapseG(run);
    },
  });
  assert.deepEqual([res.step, res.unhealthy], [12, null]);
  const warns = log.lines.filter((l) => l.startsWith('warn'));
  assert.equal(warns.length, 1, warns.join('\n'));
  assert.match(warns[0]!, /^warn mode collapse at step 4: the fixed-noise samples' mean pairwise distance 0 is 0 of a real batch's [\d.]+ \(threshold 0\.2\)$/);
  // keep 2: steps 10 and 12, and step 2, the newest healthy one
  assert.deepEqual((await readdir(join(runDir, 'checkpoints'))).sort(), ['step-000002', 'step-000010', 'step-000012']);
  assert.equal((await stateAt(runDir, 2)).health!.healthy, true);
  assert.equal((await stateAt(runDir, 12)).health!.healthy, false);
  assert.equal((await findHealthyCheckpoint(runDir))!.state.step, 2);
  assert.deepEqual((await stateAt(runDir, 12)).health!.events.map((e) => [e.step, e.kind, e.action]), [[4, 'collapse', 'warn']]);
});

test('stop: a final checkpoint marked unhealthy, and the run says why', async () => {
  const runDir = join(root, 'collapse-stop');
  const res = await trainRun({
    config: resolveConfig(tiny({ onCollapse: 'stop' }), 'toy-ring8'),
    runDir,
    onStep: (row, run) => {
      if (row.step === 6) collapseG(run);
    },
  });
  assert.equal(res.step, 8);
  assert.equal(res.stoppedEarly, true);
  assert.equal(res.unhealthy?.kind, 'collapse');
  assert.match(res.unhealthy!.message, /^mode collapse at step 8: .*; stopping after a checkpoint$/);
  assert.deepEqual(JSON.parse(await readFile(join(runDir, 'latest.json'), 'utf8')), { step: 8, dir: 'checkpoints/step-000008' });
  assert.equal((await stateAt(runDir, 8)).health!.healthy, false);
});

test('rollback with no healthy checkpoint left stops instead', async () => {
  const runDir = join(root, 'nan-early');
  const res = await trainRun({
    config: resolveConfig(tiny({ onCollapse: 'rollback' }), 'toy-ring8'),
    runDir,
    onStep: (row, run) => {
      if (row.step === 1) poisonD(run);
    },
  });
  assert.equal(res.step, 2);
  assert.equal(res.unhealthy?.kind, 'diverged');
  assert.match(res.unhealthy!.message, /no healthy checkpoint to roll back to; stopping without a checkpoint of the broken weights$/);
});
