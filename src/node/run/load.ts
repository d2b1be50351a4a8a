/** Open a finished (or running) run directory for sampling, scoring and inspection. */
import type * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import { ForgerError } from '../../core/errors.ts';
import { findLatestCheckpoint, readCheckpointState, type CheckpointState } from './checkpoint.ts';
import { loadModelFiles } from './model-files.ts';

export interface LoadedRun {
  runDir: string;
  checkpointDir: string;
  state: CheckpointState;
  generator: tf.LayersModel;
  /** Loaded on demand (score, info). */
  loadDiscriminator(): Promise<tf.LayersModel>;
  dispose(): void;
}

export async function checkRunDir(runDir: string): Promise<void> {
  const st = await stat(runDir).catch(() => null);
  if (!st) throw new ForgerError('E_CHECKPOINT', `run directory ${runDir} does not exist`);
  if (!st.isDirectory()) throw new ForgerError('E_CHECKPOINT', `${runDir} is not a directory; pass a run directory such as runs/mnist-dcgan-1`);
}

export async function loadRun(runDir: string): Promise<LoadedRun> {
  await checkRunDir(runDir);
  const checkpointDir = await findLatestCheckpoint(runDir);
  const state = await readCheckpointState(checkpointDir);
  const { model: generator } = await loadModelFiles(join(checkpointDir, 'generator'));
  let discriminator: tf.LayersModel | null = null;
  return {
    runDir,
    checkpointDir,
    state,
    generator,
    async loadDiscriminator() {
      discriminator ??= (await loadModelFiles(join(checkpointDir, 'discriminator'))).model;
      return discriminator;
    },
    dispose() {
      generator.dispose();
      discriminator?.dispose();
    },
  };
}
