/**
 * Forger's side of a benchmark case, measured in the process that calls it
 * (run.ts gives every case its own process, so peak RSS is that case's own).
 *
 * One iteration is Forger's trainStep() exactly as GanRun.trainOnce() drives it:
 * fresh z ~ N(0,1) from Forger's Rng, one D update on a fixed real batch and the
 * fake batch, one G update (non-saturating), and one read-back of the metrics.
 * The real batch is uniform in [-1, 1] and fixed, as in the peer.
 */
import * as tf from '@tensorflow/tfjs';
import { disposeModels, type GanModels } from '../src/core/models/index.ts';
import { sampleNoise } from '../src/core/noise.ts';
import { Adam } from '../src/core/optim.ts';
import { Rng } from '../src/core/rng.ts';
import { generate } from '../src/core/sample.ts';
import { loadNativeAddon } from '../src/node/backend/native-addon.ts';
import { wasmThreads } from '../src/node/backend/wasm-threads.ts';
import { readMetrics, trainStep, type StepModels } from '../src/core/train-step.ts';
import { benchConfig, buildBenchModels, PEER_PARAMS, trainableParams, type ModelCase } from './models.ts';

export const SAMPLE_BATCH = 256;

export interface OursResult {
  case: ModelCase;
  backend: string;
  batch: number;
  steps: number;
  warmup: number;
  train_img_per_s: number;
  sample_img_per_s: number;
  peak_rss_mb: number;
  params_g: number;
  params_d: number;
  /** ours equal the PyTorch counts worked out in models.ts */
  params_match_peer: boolean;
  /** threads the backend computes with (native: the addon's OpenMP threads; wasm: XNNPACK's pool; cpu: 1) */
  threads: number;
  tfjs: string;
  /** every round's numbers when the harness ran several (train_img_per_s etc. are then the best) */
  rounds_train_img_per_s?: number[];
  rounds_sample_img_per_s?: number[];
}

export interface SoakResult {
  case: 'soak';
  backend: string;
  model: ModelCase;
  batch: number;
  warmup: number;
  steps: number;
  train_img_per_s: number;
  sample_img_per_s: null;
  peak_rss_mb: number;
  tensors_start: number;
  tensors_end: number;
  rss_start_mb: number;
  rss_end_mb: number;
  /** bytes held by live tensors after warm-up and at the end */
  tensor_mb_start: number;
  tensor_mb_end: number;
  /** highest RSS seen at the every-50-step checks after warm-up */
  rss_max_mb: number;
  rss_growth_pct: number;
  pass: boolean;
  tfjs: string;
}

/** A model pair with its optimizers and streams, ready to step. */
class Bench {
  readonly s: StepModels;
  readonly real: tf.Tensor;
  readonly batch: number;
  readonly latentDim: number;
  private readonly noiseRng = new Rng(0, 'bench-noise');

  constructor(
    name: ModelCase,
    readonly models: GanModels,
  ) {
    const { model, train } = benchConfig(name);
    this.batch = train.batchSize;
    this.latentDim = model.latentDim;
    const adamG = new Adam({ learningRate: train.lrG, beta1: train.beta1, beta2: train.beta2 });
    const adamD = new Adam({ learningRate: train.lrD, beta1: train.beta1, beta2: train.beta2 });
    this.s = { ...models, optG: adamG, optD: adamD, loss: train.loss, labelSmoothing: train.labelSmoothing, dropoutRng: new Rng(0, 'bench-dropout') };
    // like the peer's torch.rand(batch, *shape) * 2 - 1, drawn once
    const per = model.dataShape.reduce((a, b) => a * b, 1);
    this.real = tf.tensor(sampleNoise(this.batch, per, 'uniform', new Rng(0, 'bench-real')), [this.batch, ...model.dataShape]);
  }

  /** One iteration; returns once its metrics are read back (so the work is done). */
  async step(): Promise<void> {
    const z = tf.tensor2d(sampleNoise(this.batch, this.latentDim, 'normal', this.noiseRng), [this.batch, this.latentDim]);
    try {
      await readMetrics(trainStep(this.s, [this.real], [z]));
    } finally {
      z.dispose();
    }
  }

  /** Seconds for `n` iterations. */
  async timeSteps(n: number): Promise<number> {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await this.step();
    return (performance.now() - t0) / 1000;
  }

  /** G forward in inference mode at batch 256, as generate() does for `forger sample`. */
  sampleOnce(): void {
    generate(this.s.generator, sampleNoise(SAMPLE_BATCH, this.latentDim, 'normal', this.noiseRng), this.latentDim, SAMPLE_BATCH);
  }

  dispose(): void {
    disposeModels(this.models);
    this.s.optG.dispose();
    this.s.optD.dispose();
    this.real.dispose();
  }
}

function backendThreads(): number {
  const backend = tf.getBackend();
  if (backend === 'native') return loadNativeAddon().addon?.info().threads ?? 1;
  return backend === 'wasm' ? wasmThreads() : 1;
}

/** RSS after a full GC when the process runs with --expose-gc (run.ts's children do), so JS garbage not yet collected does not read as growth. */
function rssMb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss / 2 ** 20;
}
const peakRssMb = () => process.resourceUsage().maxRSS / 1024;
const round = (x: number, digits = 1) => Number(x.toFixed(digits));

/** Train `steps` timed iterations after `warmup`, then time sampling like the peer: max(3, steps / 5) batches after one warm-up batch. */
export async function measureOurs(name: ModelCase, steps: number, warmup: number): Promise<OursResult> {
  const bench = new Bench(name, buildBenchModels(name, 0));
  try {
    const params_g = trainableParams(bench.models.generator);
    const params_d = trainableParams(bench.models.discriminator);
    await bench.timeSteps(warmup);
    const trainSeconds = await bench.timeSteps(steps);
    bench.sampleOnce();
    const n = Math.max(3, Math.floor(steps / 5));
    const t0 = performance.now();
    for (let i = 0; i < n; i++) bench.sampleOnce();
    const sampleSeconds = (performance.now() - t0) / 1000;
    return {
      case: name,
      backend: tf.getBackend(),
      batch: bench.batch,
      steps,
      warmup,
      train_img_per_s: round((steps * bench.batch) / trainSeconds),
      sample_img_per_s: round((n * SAMPLE_BATCH) / sampleSeconds),
      peak_rss_mb: round(peakRssMb()),
      params_g,
      params_d,
      params_match_peer: params_g === PEER_PARAMS[name].g && params_d === PEER_PARAMS[name].d,
      threads: backendThreads(),
      tfjs: tf.version_core,
    };
  } finally {
    bench.dispose();
  }
}

/**
 * The soak: `steps` dcgan28 iterations after `warmup`. Passes when the live tensor
 * count is the same at the end as after warm-up and RSS grew by less than 5%.
 */
export async function soak(steps: number, warmup: number): Promise<SoakResult> {
  const bench = new Bench('dcgan28', buildBenchModels('dcgan28', 0));
  try {
    await bench.timeSteps(warmup);
    const tensorsStart = tf.memory().numTensors;
    const bytesStart = tf.memory().numBytes;
    const rssStart = rssMb();
    let rssMax = rssStart;
    const t0 = performance.now();
    for (let i = 1; i <= steps; i++) {
      await bench.step();
      if (i % 50 === 0) rssMax = Math.max(rssMax, rssMb());
    }
    const seconds = (performance.now() - t0) / 1000;
    const tensorsEnd = tf.memory().numTensors;
    const bytesEnd = tf.memory().numBytes;
    const rssEnd = rssMb();
    rssMax = Math.max(rssMax, rssEnd);
    const growth = ((rssEnd - rssStart) / rssStart) * 100;
    return {
      case: 'soak',
      backend: tf.getBackend(),
      model: 'dcgan28',
      batch: bench.batch,
      warmup,
      steps,
      train_img_per_s: round((steps * bench.batch) / seconds),
      sample_img_per_s: null,
      peak_rss_mb: round(peakRssMb()),
      tensors_start: tensorsStart,
      tensors_end: tensorsEnd,
      tensor_mb_start: round(bytesStart / 2 ** 20, 2),
      tensor_mb_end: round(bytesEnd / 2 ** 20, 2),
      rss_start_mb: round(rssStart),
      rss_end_mb: round(rssEnd),
      rss_max_mb: round(rssMax),
      rss_growth_pct: round(growth, 2),
      pass: tensorsEnd === tensorsStart && growth < 5,
      tfjs: tf.version_core,
    };
  } finally {
    bench.dispose();
  }
}
