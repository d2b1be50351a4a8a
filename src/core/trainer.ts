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
import { HealthMonitor, initialHealthState, meanPairwiseDistance, spreadSampleCount, type HealthEvent, type HealthIssue, type HealthState } from './health.ts';
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
  /** Health checks: detector state, events, rollbacks, learning-rate scale; absent in checkpoints written before them. */
  health?: HealthState;
}

export interface TrainCallbacks {
  onStep?(row: HistoryRow, run: GanRun): void | Promise<void>;
  /** Every sampleEvery steps and at the end: time for a progress grid (run.sampleFixed()). */
  onSample?(step: number, run: GanRun): void | Promise<void>;
  /** Every checkpointEvery steps, at the end, and when stopped early. */
  onCheckpoint?(step: number, run: GanRun): void | Promise<void>;
  /** Polled after every step; true stops after a final checkpoint. */
  shouldStop?(): boolean;
  /** A health issue was found and handled as train.onCollapse says (the event says how): time to log it. */
  onHealth?(event: HealthEvent, run: GanRun): void | Promise<void>;
  /**
   * train.onCollapse 'rollback': load the newest healthy checkpoint into the run (weights,
   * optimizers, state) and return its step, or null when there is none. Without this
   * callback a rollback cannot happen and the run stops instead.
   */
  rollback?(run: GanRun): Promise<number | null>;
}

/** How train() ended. */
export interface TrainOutcome {
  /** null: it reached train.steps; 'request': shouldStop(); 'health': a health issue (train.onCollapse stop, or no rollback left). */
  stopped: null | 'request' | 'health';
  /** The event that stopped it, when stopped is 'health'. */
  event: HealthEvent | null;
}

const fmtNum = (v: number): string => Number(v.toPrecision(4)).toString();

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
  /** Divergence and collapse detector (health.ts). */
  readonly monitor: HealthMonitor;
  /** Samples the collapse check compares: min(gridSize, a cost cap). */
  private readonly spreadCount: number;
  /** Health events, rollbacks so far and the learning-rate scale they left. */
  private healthRecord: Omit<HealthState, 'monitor' | 'healthy'> = { events: [], rollbacks: 0, lrScale: 1 };

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
    const dim = model.dataShape.reduce((a, b) => a * b, 1);
    this.spreadCount = spreadSampleCount(train.gridSize, dim);
    this.monitor = new HealthMonitor(train, train.collapseRatio > 0 && this.spreadCount >= 2 ? this.realSpread(dim) : null);
  }

  /**
   * The collapse check's yardstick: the mean pairwise distance of the first spreadCount real
   * samples the run will see. The data's position is put back, so training sees the same batches.
   */
  private realSpread(dim: number): number {
    const at = this.data.getState();
    const batch = this.data.batch(this.spreadCount);
    const values = batch.dataSync();
    batch.dispose();
    this.data.setState(at);
    return meanPairwiseDistance(values, this.spreadCount, dim);
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
    return row;
  }

  /**
   * Train until config.train.steps, calling back for logs, grids and checkpoints, with the
   * health checks of health.ts acted on as train.onCollapse says:
   *   warn      log it (onHealth) and go on; NaN/Inf cannot go on and throws E_DIVERGED
   *   rollback  reload the newest healthy checkpoint (cb.rollback), multiply the learning rates
   *             by train.rollbackLrFactor, checkpoint at once and go on; after train.maxRollbacks, stop
   *   stop      a final checkpoint (marked unhealthy; none of NaN weights), then return
   */
  async train(cb: TrainCallbacks = {}): Promise<TrainOutcome> {
    const { steps, sampleEvery, checkpointEvery } = this.config.train;
    while (this.step < steps) {
      const row = await this.trainOnce();
      const issues: HealthIssue[] = [];
      const stepIssue = this.monitor.observeStep(this.step, row);
      if (stepIssue?.kind === 'diverged') {
        // Nothing of this step is worth a grid or a checkpoint.
        const r = await this.handleHealth([stepIssue], cb);
        if (r.stop) return { stopped: 'health', event: r.event };
        continue;
      }
      if (stepIssue) issues.push(stepIssue);
      await cb.onStep?.(row, this);
      const last = this.step === steps;
      if (this.step % sampleEvery === 0 || last) {
        const sampleIssue = this.checkSamples();
        if (sampleIssue?.kind === 'diverged') {
          const r = await this.handleHealth([sampleIssue], cb);
          if (r.stop) return { stopped: 'health', event: r.event };
          continue;
        }
        if (sampleIssue) issues.push(sampleIssue);
        await cb.onSample?.(this.step, this);
      }
      if (issues.length > 0) {
        const r = await this.handleHealth(issues, cb);
        if (r.stop) {
          await cb.onCheckpoint?.(this.step, this);
          return { stopped: 'health', event: r.event };
        }
        if (r.rolledBack) continue;
      }
      const stop = cb.shouldStop?.() ?? false;
      if (this.step % checkpointEvery === 0 || last || stop) await cb.onCheckpoint?.(this.step, this);
      if (stop) return { stopped: 'request', event: null };
    }
    return { stopped: null, event: null };
  }

  /** The collapse check on the first spreadCount fixed-noise samples (cheap: at most 256 of them, capped by size). */
  private checkSamples(): HealthIssue | null {
    if (this.monitor.realSpread === null) return null;
    const m = this.config.model;
    const z = this.fixedNoise.subarray(0, this.spreadCount * m.latentDim);
    // a conditional G gets the classes in turn, so the spread is over classes as in a real batch
    const labels = isConditional(m) ? Int32Array.from({ length: this.spreadCount }, (_, i) => i % m.numClasses) : null;
    const fake = labels ? generate(this.samplingGenerator, z, m.latentDim, { labels }) : generate(this.samplingGenerator, z, m.latentDim);
    return this.monitor.observeSamples(this.step, fake, this.spreadCount, fake.length / this.spreadCount);
  }

  private async handleHealth(issues: HealthIssue[], cb: TrainCallbacks): Promise<{ stop: boolean; rolledBack: boolean; event: HealthEvent | null }> {
    const { onCollapse, maxRollbacks, rollbackLrFactor } = this.config.train;
    const record = this.healthRecord;
    const emit = async (event: HealthEvent) => {
      record.events.push(event);
      await cb.onHealth?.(event, this);
    };
    const issue = issues[0]!;
    if (onCollapse === 'warn') {
      if (issue.kind === 'diverged') {
        throw new ForgerError('E_DIVERGED', `${issue.message}; lower the learning rates (--lr-g, --lr-d), or train with --on-collapse rollback`);
      }
      for (const i of issues) await emit({ ...i, action: 'warn' });
      return { stop: false, rolledBack: false, event: null };
    }
    let why = '';
    if (onCollapse === 'rollback') {
      if (record.rollbacks >= maxRollbacks) why = `; ${maxRollbacks} rollback${maxRollbacks === 1 ? '' : 's'} already made (--max-rollbacks)`;
      else if (!cb.rollback) why = '; no checkpoints to roll back to';
      else {
        const to = await cb.rollback(this);
        if (to === null) why = '; no healthy checkpoint to roll back to';
        else {
          // The checkpoint brought back its own health record: this one goes on.
          this.healthRecord = record;
          record.rollbacks += 1;
          record.lrScale *= rollbackLrFactor;
          this.applyLearningRates();
          const { lrG, lrD } = this.config.train;
          await emit({
            ...issue,
            message:
              `${issues.map((i) => i.message).join('; ')}; rolled back to step ${to} (rollback ${record.rollbacks} of ${maxRollbacks}), ` +
              `learning rates x${fmtNum(rollbackLrFactor)}: lrG ${fmtNum(lrG * record.lrScale)}, lrD ${fmtNum(lrD * record.lrScale)}`,
            action: 'rollback',
            rolledBackTo: to,
            lrScale: record.lrScale,
          });
          // Persist the lower learning rates and the rollback count at once.
          await cb.onCheckpoint?.(this.step, this);
          return { stop: false, rolledBack: true, event: null };
        }
      }
    }
    const where = issue.kind === 'diverged' ? '; stopping without a checkpoint of the broken weights' : '; stopping after a checkpoint';
    const event: HealthEvent = { ...issue, message: `${issues.map((i) => i.message).join('; ')}${why}${where}`, action: 'stop' };
    await emit(event);
    return { stop: true, rolledBack: false, event };
  }

  /** Adam's learning rates: the config's, times what rollbacks left. */
  private applyLearningRates(): void {
    const { lrG, lrD } = this.config.train;
    this.optG.opts.learningRate = lrG * this.healthRecord.lrScale;
    this.optD.opts.learningRate = lrD * this.healthRecord.lrScale;
  }

  /** Health so far: detector state, events, rollbacks, learning-rate scale, and whether all is well now. */
  get health(): HealthState {
    return { monitor: { ...this.monitor.state }, ...this.healthRecord, events: [...this.healthRecord.events], healthy: this.monitor.healthy };
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
      health: this.health,
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
    const health = state.health ?? initialHealthState();
    this.monitor.state = { ...health.monitor };
    this.healthRecord = { events: [...health.events], rollbacks: health.rollbacks, lrScale: health.lrScale };
    this.applyLearningRates();
  }

  dispose(): void {
    disposeModels({ generator: this.generator, discriminator: this.discriminator });
    this.emaGenerator?.dispose();
    this.optG.dispose();
    this.optD.dispose();
  }
}
