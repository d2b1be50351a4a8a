/**
 * The visible training loop: a GanRun holds G, D, their optimizers, the data
 * sampler and every random stream, so its whole state can be captured and
 * restored (resume gives the same weights as an uninterrupted run).
 */
import * as tf from '@tensorflow/tfjs';
import { dataRange, isConditional, lrFactor, parseAugmentList, resolveClasses, type AugmentOp, type ResolvedConfig } from './config.ts';
import type { RealData, SamplerState } from './data.ts';
import { ForgerError } from './errors.ts';
import { copyWeights, updateAverage } from './ema.ts';
import { featureView } from './feature-matching.ts';
import { instanceNoiseSigma } from './instance-noise.ts';
import { classRows, drawLabels, oneHot, perClassFor } from './labels.ts';
import { buildGenerator, buildModels, disposeModels } from './models/index.ts';
import { sampleNoise } from './noise.ts';
import { Adam, type AdamState } from './optim.ts';
import { Rng, type RngState } from './rng.ts';
import { generate } from './sample.ts';
import { readMetrics, trainStep, type StepLabels, type StepMetrics } from './train-step.ts';

export interface HistoryRow extends StepMetrics {
  step: number;
  /** Real images per second over this step. */
  imgPerSec: number;
  /** Seconds of training so far (summed over resumed sessions). */
  elapsed: number;
}

/** Everything but weights and optimizer moments, as plain JSON. */
export interface RunState {
  step: number;
  /**
   * penalty: wgan-gp's interpolation weights; instanceNoise: the instance noise n; augment: DiffAugment's
   * parameters; labels: the classes asked of a conditional G. The optional streams are absent in
   * checkpoints written before they existed (then derived from the seed: no run drew from them until then).
   */
  rng: { noise: RngState; dropout: RngState; penalty?: RngState; instanceNoise?: RngState; augment?: RngState; labels?: RngState };
  data: SamplerState;
  history: HistoryRow[];
  elapsed: number;
}

export interface TrainCallbacks {
  onStep?(row: HistoryRow, run: GanRun): void | Promise<void>;
  /** Every sampleEvery steps and at the end: time for a progress grid (run.sampleFixed()). */
  onSample?(step: number, run: GanRun): void | Promise<void>;
  /** Every checkpointEvery steps, at the end, and when stopped early. */
  onCheckpoint?(step: number, run: GanRun): void | Promise<void>;
  /** Polled after every step; true stops after a final checkpoint. */
  shouldStop?(): boolean;
}

export class GanRun {
  /** The config, with model.numClasses and model.classNames fixed from the data for a conditional run. */
  readonly config: ResolvedConfig;
  readonly generator: tf.LayersModel;
  readonly discriminator: tf.LayersModel;
  /** The moving average of G's weights (train.emaDecay > 0), which sampling uses; null when off. */
  readonly emaGenerator: tf.LayersModel | null;
  readonly optG: Adam;
  readonly optD: Adam;
  step = 0;
  history: HistoryRow[] = [];
  elapsed = 0;
  private readonly noiseRng: Rng;
  private readonly dropoutRng: Rng;
  private readonly penaltyRng: Rng;
  private readonly instanceNoiseRng: Rng;
  private readonly augmentRng: Rng;
  /** D's layers with outputs [features, logit], for feature matching (train.featureMatching > 0); null when off. */
  readonly featureView: tf.LayersModel | null;
  private readonly augmentOps: AugmentOp[];
  private readonly labelRng: Rng;
  /** The same noise for every progress grid, so grids are comparable across steps. */
  readonly fixedNoise: Float32Array;

  constructor(
    config: ResolvedConfig,
    readonly data: RealData,
  ) {
    this.config = resolveClasses(config, data.classNames);
    const { model, train, seed } = this.config;
    const models = buildModels(model, seed);
    this.generator = models.generator;
    this.discriminator = models.discriminator;
    try {
      // Checks train.featureLayer against the D just built.
      this.featureView = train.featureMatching > 0 ? featureView(this.discriminator, train.featureLayer) : null;
    } catch (e) {
      disposeModels(models);
      throw e;
    }
    this.augmentOps = parseAugmentList(train.diffAugment);
    this.emaGenerator = null;
    if (train.emaDecay > 0) {
      const ema = buildGenerator(model, seed);
      copyWeights(this.generator, ema);
      this.emaGenerator = ema;
    }
    this.optG = new Adam({ learningRate: train.lrG, beta1: train.beta1, beta2: train.beta2 });
    this.optD = new Adam({ learningRate: train.lrD, beta1: train.beta1, beta2: train.beta2 });
    this.noiseRng = new Rng(seed, 'noise');
    this.dropoutRng = new Rng(seed, 'dropout');
    this.penaltyRng = new Rng(seed, 'penalty');
    this.instanceNoiseRng = new Rng(seed, 'instance-noise');
    this.augmentRng = new Rng(seed, 'augment');
    this.labelRng = new Rng(seed, 'labels');
    this.fixedNoise = sampleNoise(train.gridSize, model.latentDim, model.noise, new Rng(seed, 'fixed-noise'));
  }

  /** One iteration: dSteps D updates and one G update. */
  async trainOnce(): Promise<HistoryRow> {
    const { model, train } = this.config;
    const t0 = Date.now();
    const reals: tf.Tensor[] = [];
    const zs: tf.Tensor[] = [];
    // Conditional: the reals' labels, and uniformly drawn classes for G (one-hot)
    const labels: StepLabels | undefined = isConditional(model) ? { real: [], fake: [] } : undefined;
    for (let k = 0; k < train.dSteps; k++) {
      if (labels) {
        const b = this.data.labeledBatch!(train.batchSize);
        reals.push(b.x);
        labels.real.push(oneHot(b.labels, model.numClasses));
        labels.fake.push(oneHot(drawLabels(train.batchSize, model.numClasses, this.labelRng), model.numClasses));
      } else {
        reals.push(this.data.batch(train.batchSize));
      }
      zs.push(tf.tensor2d(sampleNoise(train.batchSize, model.latentDim, model.noise, this.noiseRng), [train.batchSize, model.latentDim]));
    }
    // The schedule is a function of the step, so a resumed run follows it exactly.
    this.optG.lrScale = this.optD.lrScale = lrFactor(train.lrDecay, this.step, train.steps);
    let metrics: StepMetrics;
    try {
      metrics = await readMetrics(
        trainStep(
          {
            generator: this.generator,
            discriminator: this.discriminator,
            optG: this.optG,
            optD: this.optD,
            loss: train.loss,
            labelSmoothing: train.labelSmoothing,
            dropoutRng: this.dropoutRng,
            gpWeight: train.gpWeight,
            r1Weight: train.r1Weight,
            penaltyRng: this.penaltyRng,
            featureMatching: this.featureView ? { view: this.featureView, weight: train.featureMatching } : undefined,
            adversarialWeight: train.adversarialWeight,
            augment: this.augmentOps.length > 0 ? { ops: this.augmentOps, range: dataRange(model) ?? [-1, 1], rng: this.augmentRng } : undefined,
            instanceNoise: train.instanceNoise > 0 ? { sigma: instanceNoiseSigma(train, this.step), rng: this.instanceNoiseRng } : undefined,
            conditional: model.conditional,
            acganWeight: train.acganWeight,
          },
          reals,
          zs,
          labels,
        ),
      );
    } finally {
      tf.dispose([...reals, ...zs, ...(labels?.real ?? []), ...(labels?.fake ?? [])]);
    }
    this.step += 1;
    if (this.emaGenerator) updateAverage(this.emaGenerator, this.generator, train.emaDecay, this.step - 1);
    const seconds = Math.max((Date.now() - t0) / 1000, 1e-6);
    this.elapsed += seconds;
    const row: HistoryRow = { step: this.step, ...metrics, imgPerSec: train.batchSize / seconds, elapsed: this.elapsed };
    this.history.push(row);
    if (!Number.isFinite(metrics.lossD) || !Number.isFinite(metrics.lossG)) {
      throw new ForgerError(
        'E_DIVERGED',
        `training diverged at step ${this.step} (lossD ${metrics.lossD}, lossG ${metrics.lossG}); lower the learning rates (--lr-g, --lr-d) or resume from an earlier checkpoint`,
      );
    }
    return row;
  }

  /** Train until config.train.steps, calling back for logs, grids and checkpoints. */
  async train(cb: TrainCallbacks = {}): Promise<void> {
    const { steps, sampleEvery, checkpointEvery } = this.config.train;
    while (this.step < steps) {
      const row = await this.trainOnce();
      await cb.onStep?.(row, this);
      const last = this.step === steps;
      if (this.step % sampleEvery === 0 || last) await cb.onSample?.(this.step, this);
      const stop = cb.shouldStop?.() ?? false;
      if (this.step % checkpointEvery === 0 || last || stop) await cb.onCheckpoint?.(this.step, this);
      if (stop) break;
    }
  }

  /** The generator samples come from: the moving average when enabled, else G. */
  get samplingGenerator(): tf.LayersModel {
    return this.emaGenerator ?? this.generator;
  }

  /**
   * G(fixed noise) in inference mode (the moving average's, when enabled), flat. A
   * conditional run gives one row per class (gridColumns() samples each, row r = class r),
   * column j using fixed noise vector j in every row.
   */
  sampleFixed(): Float32Array {
    const m = this.config.model;
    if (!isConditional(m)) return generate(this.samplingGenerator, this.fixedNoise, m.latentDim);
    const { labels, noiseIndex } = classRows(m.numClasses, this.gridColumns());
    const z = new Float32Array(noiseIndex.length * m.latentDim);
    noiseIndex.forEach((j, i) => z.set(this.fixedNoise.subarray(j * m.latentDim, (j + 1) * m.latentDim), i * m.latentDim));
    return generate(this.samplingGenerator, z, m.latentDim, { labels });
  }

  /** Columns of the progress grid: about sqrt(gridSize), or ceil(gridSize / K) per class row when conditional. */
  gridColumns(): number {
    const m = this.config.model;
    return isConditional(m) ? perClassFor(this.config.train.gridSize, m.numClasses) : Math.ceil(Math.sqrt(this.config.train.gridSize));
  }

  captureState(): RunState {
    return {
      step: this.step,
      rng: {
        noise: this.noiseRng.getState(),
        dropout: this.dropoutRng.getState(),
        penalty: this.penaltyRng.getState(),
        instanceNoise: this.instanceNoiseRng.getState(),
        augment: this.augmentRng.getState(),
        labels: this.labelRng.getState(),
      },
      data: this.data.getState(),
      history: this.history,
      elapsed: this.elapsed,
    };
  }

  async captureOptimizers(): Promise<{ g: AdamState; d: AdamState }> {
    return { g: await this.optG.getState(), d: await this.optD.getState() };
  }

  /** Continue from a checkpoint: weights are loaded by the caller (setWeights), the rest here. */
  restoreState(state: RunState, optimizers: { g: AdamState; d: AdamState }): void {
    this.step = state.step;
    this.history = state.history;
    this.elapsed = state.elapsed;
    this.noiseRng.setState(state.rng.noise);
    this.dropoutRng.setState(state.rng.dropout);
    // Older checkpoints have no penalty stream: no loss then drew from it, so it is still at its start.
    this.penaltyRng.setState(state.rng.penalty ?? new Rng(this.config.seed, 'penalty').getState());
    this.instanceNoiseRng.setState(state.rng.instanceNoise ?? new Rng(this.config.seed, 'instance-noise').getState());
    this.augmentRng.setState(state.rng.augment ?? new Rng(this.config.seed, 'augment').getState());
    this.labelRng.setState(state.rng.labels ?? new Rng(this.config.seed, 'labels').getState());
    this.data.setState(state.data);
    this.optG.setState(optimizers.g);
    this.optD.setState(optimizers.d);
  }

  dispose(): void {
    disposeModels({ generator: this.generator, discriminator: this.discriminator });
    this.emaGenerator?.dispose();
    this.optG.dispose();
    this.optD.dispose();
  }
}
