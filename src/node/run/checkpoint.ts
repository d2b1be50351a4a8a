/**
 * Checkpoints: everything needed to continue a run, written so that a crash at
 * any moment leaves the previous checkpoint intact.
 *
 *   <run>/checkpoints/step-000500/
 *     generator/model.json, weights.bin       TF.js LayersModel (loads in a browser): the generator samples
 *                                              come from, the moving average of G's weights when train.emaDecay > 0
 *     generator-train/                         with a moving average: the weights G trains (for resuming)
 *     discriminator/model.json, weights.bin
 *     optimizers.json + optimizers.bin         Adam step count, m and v of G and D
 *     state.json                               config, step, random streams, data position, history, health
 *                                              (health.healthy false: written while a health issue was active,
 *                                              so never a rollback target) (written last)
 *   <run>/latest.json                          {"step": 500, "dir": "checkpoints/step-000500"} (renamed into place last)
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResolvedConfig } from '../../core/config.ts';
import { ForgerError } from '../../core/errors.ts';
import type { AdamState } from '../../core/optim.ts';
import type { GanRun, RunState } from '../../core/trainer.ts';
import { recoverDirAtomic, replaceDirAtomic, writeFileAtomic } from '../io/atomic.ts';
import { loadWeightsInto, saveModelFiles } from './model-files.ts';

export const FORMAT_VERSION = 1;

export interface CheckpointState extends RunState {
  format: number;
  config: ResolvedConfig;
  savedAt: string;
}

export function checkpointName(step: number): string {
  return `step-${String(step).padStart(6, '0')}`;
}

interface OptimizerIndex {
  g: { step: number; shapes: number[][] };
  d: { step: number; shapes: number[][] };
}

function packOptimizers(g: AdamState, d: AdamState): { index: OptimizerIndex; data: Uint8Array } {
  const arrays = [g, d].flatMap((s) => s.moments.flatMap((mo) => [mo.m, mo.v]));
  const total = arrays.reduce((n, a) => n + a.length, 0);
  const data = new Float32Array(total);
  let o = 0;
  for (const a of arrays) {
    data.set(a, o);
    o += a.length;
  }
  const index = {
    g: { step: g.step, shapes: g.moments.map((m) => m.shape) },
    d: { step: d.step, shapes: d.moments.map((m) => m.shape) },
  };
  return { index, data: new Uint8Array(data.buffer) };
}

function unpackOptimizers(index: OptimizerIndex, bytes: Uint8Array, where: string): { g: AdamState; d: AdamState } {
  if (bytes.byteLength % 4 !== 0) throw new ForgerError('E_CHECKPOINT', `${where}: optimizer data is not float32`);
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  let o = 0;
  const take = (n: number) => {
    if (o + n > all.length) throw new ForgerError('E_CHECKPOINT', `${where}: optimizer data is truncated`);
    const a = all.slice(o, o + n);
    o += n;
    return a;
  };
  const one = (x: OptimizerIndex['g']): AdamState => ({
    step: x.step,
    moments: x.shapes.map((shape) => {
      const n = shape.reduce((a, b) => a * b, 1);
      return { shape, m: take(n), v: take(n) };
    }),
  });
  const out = { g: one(index.g), d: one(index.d) };
  if (o !== all.length) throw new ForgerError('E_CHECKPOINT', `${where}: optimizer data has ${all.length - o} extra values`);
  return out;
}

/** Write a checkpoint of `run` and point latest.json at it; keep the newest `keep`. */
export async function saveCheckpoint(runDir: string, run: GanRun): Promise<string> {
  const name = checkpointName(run.step);
  const dir = join(runDir, 'checkpoints', name);
  const opt = await run.captureOptimizers();
  const { index, data } = packOptimizers(opt.g, opt.d);
  const meta = { forger: { config: run.config, step: run.step } };
  await replaceDirAtomic(dir, async (tmp) => {
    await saveModelFiles(run.samplingGenerator, join(tmp, 'generator'), meta);
    if (run.emaGenerator) await saveModelFiles(run.generator, join(tmp, 'generator-train'), meta);
    await saveModelFiles(run.discriminator, join(tmp, 'discriminator'), meta);
    await writeFileAtomic(join(tmp, 'optimizers.bin'), data);
    await writeFileAtomic(join(tmp, 'optimizers.json'), JSON.stringify(index));
    const state: CheckpointState = { format: FORMAT_VERSION, config: run.config, savedAt: new Date().toISOString(), ...run.captureState() };
    await writeFileAtomic(join(tmp, 'state.json'), JSON.stringify(state));
  });
  await writeFileAtomic(join(runDir, 'latest.json'), JSON.stringify({ step: run.step, dir: `checkpoints/${name}` }, null, 2) + '\n');
  await pruneCheckpoints(runDir, run.config.train.keepCheckpoints, run.health.healthy);
  return dir;
}

async function listCheckpoints(runDir: string): Promise<string[]> {
  try {
    return (await readdir(join(runDir, 'checkpoints'))).filter((n) => /^step-\d+$/.test(n)).sort();
  } catch {
    return [];
  }
}

/**
 * Remove all but the newest `keep` checkpoints. When the newest is unhealthy, the newest healthy
 * one is kept too (beyond `keep`), so a rollback always has somewhere to go.
 */
async function pruneCheckpoints(runDir: string, keep: number, newestHealthy: boolean): Promise<void> {
  const all = await listCheckpoints(runDir);
  let drop = all.slice(0, Math.max(0, all.length - keep));
  if (!newestHealthy && drop.length > 0) {
    const good = await findHealthyCheckpoint(runDir);
    if (good) drop = drop.filter((n) => join(runDir, 'checkpoints', n) !== good.dir);
  }
  for (const n of drop) await rm(join(runDir, 'checkpoints', n), { recursive: true, force: true });
}

/** The newest complete checkpoint written while the run was healthy (older checkpoints without health records count as healthy). */
export async function findHealthyCheckpoint(runDir: string): Promise<{ dir: string; state: CheckpointState } | null> {
  for (const n of (await listCheckpoints(runDir)).reverse()) {
    const dir = join(runDir, 'checkpoints', n);
    let state: CheckpointState;
    try {
      state = await readCheckpointState(dir);
    } catch {
      continue; // incomplete or corrupt: not a place to go back to
    }
    if (state.health?.healthy !== false) return { dir, state };
  }
  return null;
}

/** Remove the checkpoints after `step` (a rollback abandons them; training will write those steps again). */
export async function removeCheckpointsAfter(runDir: string, step: number): Promise<string[]> {
  const gone = (await listCheckpoints(runDir)).filter((n) => Number(n.slice('step-'.length)) > step);
  for (const n of gone) await rm(join(runDir, 'checkpoints', n), { recursive: true, force: true });
  return gone;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function readJson<T>(path: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ForgerError('E_CHECKPOINT', code === 'ENOENT' ? `${path} does not exist` : `cannot read ${path}: ${code}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ForgerError('E_CHECKPOINT', `${path} is not valid JSON; the checkpoint is corrupt`);
  }
}

/**
 * The directory of the newest complete checkpoint of a run: latest.json's, or
 * (if that is missing or broken) the highest step-* folder with a state.json.
 */
export async function findLatestCheckpoint(runDir: string): Promise<string> {
  try {
    const latest = await readJson<{ dir: string }>(join(runDir, 'latest.json'));
    if (typeof latest.dir === 'string') {
      // A crash between the two renames of a checkpoint swap leaves the old copy aside: put it back.
      await recoverDirAtomic(join(runDir, latest.dir));
      await readFile(join(runDir, latest.dir, 'state.json'));
      return join(runDir, latest.dir);
    }
  } catch {
    // fall through to scanning
  }
  const all = await listCheckpoints(runDir);
  for (const n of all.reverse()) {
    try {
      await readFile(join(runDir, 'checkpoints', n, 'state.json'));
      return join(runDir, 'checkpoints', n);
    } catch {
      continue;
    }
  }
  throw new ForgerError('E_CHECKPOINT', `no checkpoint in ${runDir} (expected latest.json or checkpoints/step-*/state.json); is it a forger run directory?`);
}

export async function readCheckpointState(dir: string): Promise<CheckpointState> {
  const state = await readJson<CheckpointState>(join(dir, 'state.json'));
  if (state.format !== FORMAT_VERSION || !state.config || typeof state.step !== 'number') {
    throw new ForgerError('E_CHECKPOINT', `${join(dir, 'state.json')} is not a forger checkpoint of format ${FORMAT_VERSION}`);
  }
  return state;
}

/** Load weights, optimizers and state from checkpoint `dir` into `run` (built from the same config). */
export async function restoreCheckpoint(dir: string, run: GanRun, state: CheckpointState): Promise<void> {
  // G continues from the weights it trained (generator-train/ when the run kept a moving average);
  // the average continues from generator/, or starts at G if the checkpoint had none.
  const trained = (await exists(join(dir, 'generator-train', 'model.json'))) ? 'generator-train' : 'generator';
  await loadWeightsInto(run.generator, join(dir, trained));
  if (run.emaGenerator) await loadWeightsInto(run.emaGenerator, join(dir, 'generator'));
  await loadWeightsInto(run.discriminator, join(dir, 'discriminator'));
  const index = await readJson<OptimizerIndex>(join(dir, 'optimizers.json'));
  let bytes: Uint8Array;
  try {
    bytes = await readFile(join(dir, 'optimizers.bin'));
  } catch (e) {
    throw new ForgerError('E_CHECKPOINT', `cannot read ${join(dir, 'optimizers.bin')}: ${(e as NodeJS.ErrnoException).code}`);
  }
  const optimizers = unpackOptimizers(index, bytes, dir);
  // Adam's moments must line up with the trainable variables they belong to.
  for (const [net, model, opt] of [['generator', run.generator, optimizers.g], ['discriminator', run.discriminator, optimizers.d]] as const) {
    const want = model.trainableWeights.map((w) => w.shape.join('x')).join(',');
    const got = opt.moments.map((m) => m.shape.join('x')).join(',');
    if (opt.moments.length > 0 && want !== got) {
      throw new ForgerError('E_CHECKPOINT', `${dir}: the ${net} optimizer state has moments [${got}], the model's trainable weights are [${want}]; the checkpoint is corrupt or from another architecture`);
    }
  }
  run.restoreState(state, optimizers);
}
