/**
 * A training run on disk: run directory, config, progress grids, charts,
 * checkpoints, resume. The CLI's `train` is a thin adapter over trainRun().
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isConditional, isImageModel, mergeConfig, parseAugmentList, resolveClasses, resolveConfig, resolveSteps, type ResolvedConfig, type TrainConfig, type UserConfig } from '../../core/config.ts';
import { listClasses } from '../../core/labels.ts';
import { ForgerError } from '../../core/errors.ts';
import { checkArchitecture } from '../../core/models/index.ts';
import { largestGap, type HealthEvent } from '../../core/health.ts';
import { GanRun, type HistoryRow } from '../../core/trainer.ts';
import { writeFileAtomic, ensureWritableDir } from '../io/atomic.ts';
import { findHealthyCheckpoint, findLatestCheckpoint, readCheckpointState, removeCheckpointsAfter, restoreCheckpoint, saveCheckpoint } from './checkpoint.ts';
import { loadRealData } from './dataset.ts';
import { writeProgressImages } from './progress-images.ts';

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
}

export const silentLogger: Logger = { info: () => {}, warn: () => {} };

export interface TrainRunOptions {
  /** The resolved config of a new run (ignored when resuming, except for training knobs). */
  config: ResolvedConfig;
  /** Run directory; for a new run it must not hold a run already. */
  runDir: string;
  /** Continue the run in runDir from its latest checkpoint. */
  resume?: boolean;
  /** The user's own overrides when resuming: train.* may change, model and data may not. */
  overrides?: UserConfig;
  logger?: Logger;
  /** Called once the final config is known (after resume and --epochs), before the first step. */
  onStart?(config: ResolvedConfig, startStep: number): void;
  onStep?(row: HistoryRow, run: GanRun): void;
  /** Polled after each step; true ends the run after a checkpoint (Ctrl-C). */
  shouldStop?(): boolean;
}

export interface TrainRunResult {
  runDir: string;
  step: number;
  /** Stopped before train.steps: by shouldStop() (Ctrl-C) or by a health issue (then `unhealthy` says which). */
  stoppedEarly: boolean;
  /** The health event that stopped the run (train.onCollapse stop, or no rollback left); null otherwise. */
  unhealthy: HealthEvent | null;
  checkpoint: string | null;
}

/** The first free runs/<preset>-<n> under `root`. */
export async function nextRunDir(root: string, preset: string): Promise<string> {
  let names: string[] = [];
  try {
    names = await readdir(root);
  } catch {
    // root does not exist yet
  }
  const taken = new Set(names);
  for (let n = 1; ; n++) {
    const name = `${preset}-${n}`;
    if (!taken.has(name)) return join(root, name);
  }
}

/** Every key path under `a` or `b` whose values differ (a key missing on one side counts). */
function diffKeys(a: unknown, b: unknown, path: string): string[] {
  const isObj = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a as object), ...Object.keys(b as object)])];
    return keys.flatMap((k) => diffKeys((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [path];
}

/**
 * The config of a resumed run: the saved one with the user's training knobs laid
 * over it. Changing the model, the data or the seed is an error: the weights would not fit
 * (every model.* key shapes the networks or their weights' meaning).
 */
export function resumeConfig(saved: ResolvedConfig, overrides: UserConfig, runDir: string): ResolvedConfig {
  // A run saved before a key existed lacks it: compare against the saved config with today's
  // defaults filled in, which is what the run was trained with.
  const before = resolveConfig({ ...saved, preset: saved.preset }, saved.preset);
  const resolved = resolveConfig({ ...mergeConfig(before, overrides), preset: saved.preset }, saved.preset);
  for (const part of ['seed', 'model', 'data'] as const) {
    const changed = diffKeys(before[part], resolved[part], part);
    if (changed.length > 0) {
      const key = changed[0]!;
      const get = (c: ResolvedConfig) => key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], c);
      throw new ForgerError(
        'E_CHECKPOINT',
        `${key} ${JSON.stringify(get(resolved))} cannot change on resume: ${runDir} was trained with ${key} ${JSON.stringify(get(before))}; drop that option to resume, or start a new run`,
      );
    }
  }
  return resolved;
}

/** Train (or continue) a run, writing grids, charts and checkpoints under runDir. */
export async function trainRun(opts: TrainRunOptions): Promise<TrainRunResult> {
  const log = opts.logger ?? silentLogger;
  const { runDir } = opts;
  let config = opts.config;
  let resumeFrom: string | null = null;
  let savedState = null;
  if (opts.resume) {
    resumeFrom = await findLatestCheckpoint(runDir);
    savedState = await readCheckpointState(resumeFrom);
    config = resumeConfig(savedState.config, opts.overrides ?? {}, runDir);
  } else {
    let existing: string | null = null;
    try {
      existing = await findLatestCheckpoint(runDir);
    } catch {
      existing = null;
    }
    if (existing) {
      throw new ForgerError('E_CONFIG', `${runDir} already holds a run (${existing}); continue it with --resume ${runDir}, or choose another --out`);
    }
  }

  checkArchitecture(config.model); // before the (possibly slow) data load
  const data = await loadRealData(config);
  config = resolveClasses(resolveSteps(config, data.size), data.classNames);
  await ensureWritableDir(runDir);
  await writeFileAtomic(join(runDir, 'config.json'), JSON.stringify(config, null, 2) + '\n');

  const run = new GanRun(config, data);
  let checkpoint: string | null = resumeFrom;
  try {
    if (resumeFrom && savedState) {
      await restoreCheckpoint(resumeFrom, run, savedState);
      log.info(`resumed ${runDir} at step ${run.step} from ${resumeFrom}`);
      if (run.step >= config.train.steps) {
        log.info(`step ${run.step} already reaches --steps ${config.train.steps}; pass a larger --steps to train further`);
      }
    }
    opts.onStart?.(config, run.step);
    const outcome = await run.train({
      onStep: async (row) => {
        opts.onStep?.(row, run);
        // Let signal handlers (Ctrl-C) and I/O run: the step's awaits alone are microtasks.
        await new Promise((resolve) => setImmediate(resolve));
      },
      onSample: async (step) => {
        await writeProgressImages(runDir, run, step);
      },
      onCheckpoint: async () => {
        checkpoint = await saveCheckpoint(runDir, run);
      },
      shouldStop: () => opts.shouldStop?.() ?? false,
      onHealth: (event) => log.warn(event.message),
      rollback: async (r) => {
        const good = await findHealthyCheckpoint(runDir);
        if (!good) return null;
        const gone = await removeCheckpointsAfter(runDir, good.state.step);
        await restoreCheckpoint(good.dir, r, good.state);
        if (gone.length > 0) log.info(`rollback: removed the abandoned checkpoint${gone.length === 1 ? '' : 's'} ${gone.join(', ')}`);
        return r.step;
      },
    });
    return { runDir, step: run.step, stoppedEarly: outcome.stopped !== null, unhealthy: outcome.event, checkpoint };
  } finally {
    run.dispose();
  }
}

/** Describe a config in a few lines for the start of a run (and forger info); each option shows when it is on. */
export function describeConfig(c: ResolvedConfig): string[] {
  const m = c.model;
  const t = c.train;
  const data = c.data.path ? `${c.data.source} (${c.data.path})` : c.data.source;
  const minibatch =
    m.minibatch === 'stddev'
      ? `, minibatch stddev (group ${m.minibatchGroup})`
      : m.minibatch === 'discrimination'
        ? `, minibatch discrimination (${m.minibatchKernels} kernels of dim ${m.minibatchDims})`
        : '';
  const penalties = [
    t.loss === 'wgan-gp' ? `gradient penalty weight ${t.gpWeight}` : '',
    t.r1Weight > 0 ? `R1 penalty gamma ${t.r1Weight}` : '',
    t.labelSmoothing > 0 ? `label smoothing ${t.labelSmoothing}` : '',
  ].filter(Boolean);
  return [
    `preset ${c.preset}, seed ${c.seed}, data ${data}${c.data.limit ? ` (first ${c.data.limit})` : ''}`,
    `model ${m.arch}: z${m.latentDim} ${m.noise} -> ${isImageModel(m) ? `${m.dataShape.join('x')} ${m.output}` : `${m.dataShape[0]}D points`}; ` +
      `G widths ${m.gWidths.join(',')}${m.gBatchNorm ? ' +BN' : ''}, D widths ${m.dWidths.join(',')}${m.dBatchNorm ? ' +BN' : ''}${m.dropout ? `, dropout ${m.dropout}` : ''}` +
      (m.arch === 'dcgan' ? `, base ${m.baseSize}, k${m.kernelSize} s${m.stride} p${m.padding}` : '') +
      (m.spectralNorm !== 'off' ? `, spectral norm in ${m.spectralNorm === 'd' ? 'D' : 'D and G'}` : '') +
      minibatch +
      (m.pack > 1 ? `, D judges packs of ${m.pack} (PacGAN)` : ''),
    `train ${t.steps} steps of batch ${t.batchSize}, loss ${t.loss}${penalties.length ? ` (${penalties.join(', ')})` : ''}, Adam lrG ${t.lrG} lrD ${t.lrD} betas (${t.beta1}, ${t.beta2}), D steps ${t.dSteps}` +
      (t.lrDecay !== 'off' ? `, ${t.lrDecay} lr decay to 0` : '') +
      (t.emaDecay > 0 ? `, samples from G's moving average (decay ${t.emaDecay})` : ''),
    ...describeRemedies(t),
    ...(isConditional(m) ? [describeConditional(c)] : []),
    describeHealth(c),
  ];
}

/** Feature matching, instance noise and DiffAugment, when on: one line, or none. */
function describeRemedies(t: TrainConfig): string[] {
  const parts: string[] = [];
  if (t.featureMatching > 0) {
    const layer = typeof t.featureLayer === 'number' ? `hidden layer ${t.featureLayer}` : `layer ${t.featureLayer}`;
    const adv = t.adversarialWeight === 0 ? 'alone (no adversarial loss)' : `with adversarial weight ${t.adversarialWeight}`;
    parts.push(`feature matching weight ${t.featureMatching} at D's ${layer}, ${adv}`);
  }
  if (t.instanceNoise > 0) parts.push(`instance noise sigma ${t.instanceNoise} -> 0 over ${t.instanceNoiseSteps ?? t.steps} steps`);
  const ops = parseAugmentList(t.diffAugment);
  if (ops.length > 0) parts.push(`DiffAugment ${ops.join(',')} on every D input`);
  return parts.length > 0 ? [`remedies: ${parts.join('; ')}`] : [];
}

/** One line on a conditional setup: which D, G's label input, the classes. */
function describeConditional(c: ResolvedConfig): string {
  const m = c.model;
  const d = m.conditional === 'projection' ? 'projection D' : `AC-GAN D (class loss weight ${c.train.acganWeight})`;
  const g = m.classEmbedding > 0 ? `a ${m.classEmbedding}-dim label embedding` : 'the one-hot label';
  const classes = m.numClasses > 0 ? `${m.numClasses} classes: ${listClasses(m.classNames)}` : 'classes from the data';
  return `conditional: ${d}, G takes z and ${g}; ${classes}`;
}

/** The health checks and what happens on a problem, in one line. */
export function describeHealth(c: ResolvedConfig): string {
  const t = c.train;
  const gap = largestGap(t.loss, t.labelSmoothing);
  const checks = [
    'NaN/Inf',
    t.dWinsSteps === 0 ? '' : gap === null ? '' : `D wins (D(x) - D(G(z)) >= ${Number((t.dWinsGap * gap).toPrecision(3))} for ${t.dWinsSteps} steps)`,
    t.collapseRatio > 0 ? `collapse (fixed-noise spread < ${t.collapseRatio} of real, every ${t.sampleEvery} steps)` : '',
  ].filter(Boolean);
  const action =
    t.onCollapse === 'warn'
      ? 'warn'
      : t.onCollapse === 'stop'
        ? 'stop'
        : `roll back to the newest healthy checkpoint with learning rates x${t.rollbackLrFactor}, at most ${t.maxRollbacks} times, then stop`;
  return `health checks ${checks.join(', ')}: on a problem, ${action}`;
}
