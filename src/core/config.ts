/**
 * One config type, resolved once at the boundary.
 *
 *   UserConfig (partial, from a preset + JSON file + flags) -> resolveConfig() -> ResolvedConfig (frozen)
 *
 * `model` holds everything needed to rebuild G and D; it is saved with the weights.
 */
import { ForgerError } from './errors.ts';
import { isToyName } from './toy2d.ts';

export type NoiseDist = 'normal' | 'uniform';
export type LossName = 'minimax' | 'non-saturating' | 'hinge' | 'lsgan' | 'wgan-gp';
/** The losses on sigmoid(D) (binary cross-entropy); the others treat D's output as a raw score. */
export function isBceLoss(loss: LossName): boolean {
  return loss === 'minimax' || loss === 'non-saturating';
}
export type Arch = 'mlp' | 'dcgan';
export type OutputActivation = 'tanh' | 'sigmoid' | 'linear';
export type HiddenActivation = 'relu' | 'leaky-relu';
export type InitName = 'glorot' | 'dcgan';
export type MinibatchMode = 'off' | 'stddev' | 'discrimination';
/** Spectral normalisation of the dense and conv layers: none, D's, or D's and G's. */
export type SpectralNormMode = 'off' | 'd' | 'both';
/** Learning-rate schedule over train.steps: constant, or decayed to 0 at the last step. */
export type LrDecay = 'off' | 'linear' | 'cosine';
/**
 * Class-conditional GAN: which discriminator takes the label. 'projection' (Miyato & Koyama
 * 2018): D(x, y) = psi(phi(x)) + <embed(y), phi(x)>. 'acgan' (Odena et al. 2017): D(x) has the
 * adversarial logit and a class head on the same features. G takes the label either way.
 */
export type ConditionalMode = 'off' | 'projection' | 'acgan';
/** What training does when the health checks find a problem (see health.ts). */
export type HealthPolicy = 'warn' | 'rollback' | 'stop';
export type BackendName = 'auto' | 'native' | 'wasm' | 'cpu';
export type DataSource = 'mnist' | 'fashion' | 'idx' | 'folder' | 'spiral' | 'ring8' | 'grid25' | 'circles';

export interface ModelConfig {
  /** Network family for both G and D. */
  arch: Arch;
  /** Size of the noise vector z. @default 100 */
  latentDim: number;
  /** Distribution of z: N(0,1) or U(-1,1). @default 'normal' */
  noise: NoiseDist;
  /** Shape of one sample: [height, width, channels] for images, [2] for 2D points. */
  dataShape: number[];
  /** G's last activation; it fixes the data range: tanh [-1,1], sigmoid [0,1], linear (points). */
  output: OutputActivation;
  /** mlp: hidden widths of G. dcgan: channels after the dense layer and after each transposed conv but the last. */
  gWidths: number[];
  /** mlp: hidden widths of D. dcgan: channels of each strided conv. */
  dWidths: number[];
  /** Batch norm in G (after the dense layer and each inner transposed conv). @default true for dcgan */
  gBatchNorm: boolean;
  /** Batch norm in D (on every conv but the first). @default true for dcgan */
  dBatchNorm: boolean;
  /** Hidden activation of G. @default 'relu' */
  gActivation: HiddenActivation;
  /** Slope of LeakyReLU where used. @default 0.2 */
  leak: number;
  /** Dropout rate after D's hidden layers (0 = none). @default 0 */
  dropout: number;
  /** dcgan: spatial size of G's first feature map (after the dense layer). @default 4 */
  baseSize: number;
  /** dcgan: kernel, stride and padding of every (transposed) conv, PyTorch convention. @default 4, 2, 1 */
  kernelSize: number;
  stride: number;
  padding: number;
  /** Weight init: glorot (Keras default) or dcgan (N(0, 0.02)). */
  init: InitName;
  /** A layer in D, before its logit, that sees the whole batch: minibatch standard deviation or discrimination. @default 'off' */
  minibatch: MinibatchMode;
  /** discrimination: number of kernels B (features added). @default 50 */
  minibatchKernels: number;
  /** discrimination: dimension C of each kernel. @default 5 */
  minibatchDims: number;
  /** stddev: samples per group; must divide train.batchSize (or exceed it). @default 4 */
  minibatchGroup: number;
  /** Spectral normalisation (Miyato et al. 2018) of every dense and conv layer of D ('d') or of D and G ('both'). @default 'off' */
  spectralNorm: SpectralNormMode;
  /** PacGAN (Lin et al. 2018): D judges packs of this many samples, concatenated (1 = off); must divide train.batchSize. @default 1 */
  pack: number;
  /** Class-conditional G and D: off, a projection D, or an auxiliary-classifier D. @default 'off' */
  conditional: ConditionalMode;
  /** Number of classes K (conditional only); 0 = take it from the data when it is loaded. @default 0 */
  numClasses: number;
  /** Class names in label order (conditional only); [] = from the data (digits, Fashion names, subfolders). @default [] */
  classNames: string[];
  /**
   * G's label input: 0 = the one-hot [K] concatenated with z; N > 0 = a learned N-dim embedding of it
   * (the one-hot times a [K, N] matrix, a bias-free dense layer) concatenated with z. @default 0
   */
  classEmbedding: number;
}

export interface TrainConfig {
  /** GAN objective: the BCE losses minimax and non-saturating, or hinge, lsgan, wgan-gp. @default 'non-saturating' */
  loss: LossName;
  batchSize: number;
  lrG: number;
  lrD: number;
  beta1: number;
  beta2: number;
  /** D updates per G update. @default 1 */
  dSteps: number;
  /** Learning-rate schedule of both networks: 'off' (constant), or 'linear' / 'cosine' decay to 0 at train.steps. @default 'off' */
  lrDecay: LrDecay;
  /** One-sided label smoothing: D's target for real samples is 1 - labelSmoothing. @default 0 */
  labelSmoothing: number;
  /** wgan-gp: weight lambda of the gradient penalty. @default 10 */
  gpWeight: number;
  /** R1 penalty (gamma / 2) E||grad_x D(x)||^2 on real samples, with any loss (0 = off). @default 0 */
  r1Weight: number;
  /** Decay of the moving average of G's weights used for sampling (0 = off; e.g. 0.999). @default 0 */
  emaDecay: number;
  /**
   * Feature matching (Salimans et al. 2016): weight of mean((E f(x) - E f(G(z)))^2) in G's loss,
   * f = D's features at train.featureLayer (0 = off). @default 0
   */
  featureMatching: number;
  /**
   * The D layer whose output is f: k = 1..n is D's k-th hidden layer (after its LeakyReLU),
   * -1..-n counts from the last; or the name of a layer of D (e.g. 'd_flatten'). @default -1
   */
  featureLayer: number | string;
  /** Weight of G's adversarial loss; 0 with featureMatching > 0 is feature matching alone. @default 1 */
  adversarialWeight: number;
  /** Instance noise: sigma_0 of N(0, sigma_t^2) added to every input of D, annealed linearly to 0 (0 = off). @default 0 */
  instanceNoise: number;
  /** Steps over which the instance noise falls from sigma_0 to 0 (null: train.steps). @default null */
  instanceNoiseSteps: number | null;
  /** DiffAugment (Zhao et al. 2020) of every input of D: 'off', or a comma list of translation, cutout, color. @default 'off' */
  diffAugment: string;
  /** model.conditional acgan: weight of the auxiliary classification loss in D's and G's losses (ignored otherwise). @default 1 */
  acganWeight: number;
  /** Total G steps. Resolved from `epochs` when that is given. */
  steps: number;
  /** Epochs over a finite dataset (null: use `steps`). */
  epochs: number | null;
  /** Write a sample grid every N steps. */
  sampleEvery: number;
  /** Write a checkpoint every N steps (and at the end, and on Ctrl-C). */
  checkpointEvery: number;
  /** Print a log line every N steps when not on a terminal. */
  logEvery: number;
  /** Keep this many most recent checkpoints. @default 3 */
  keepCheckpoints: number;
  /** Images in the fixed-noise progress grid. @default 64 */
  gridSize: number;
  /**
   * On divergence or collapse (see health.ts): log a warning, roll back to the newest healthy
   * checkpoint with lower learning rates, or stop after a final checkpoint. @default 'warn'
   */
  onCollapse: HealthPolicy;
  /** "D wins" after this many consecutive steps with D(x) - D(G(z)) near its largest value (0 = off). @default 200 */
  dWinsSteps: number;
  /** The fraction of the largest gap D(x) - D(G(z)) (1 - labelSmoothing for BCE, 1 for lsgan, 2 for hinge) that counts as D winning. @default 0.98 */
  dWinsGap: number;
  /** Collapse when the fixed-noise samples' mean pairwise distance falls below this fraction of a real batch's (0 = off). @default 0.2 */
  collapseRatio: number;
  /** onCollapse rollback: rollbacks allowed in a run before it stops. @default 3 */
  maxRollbacks: number;
  /** onCollapse rollback: both learning rates are multiplied by this at each rollback. @default 0.5 */
  rollbackLrFactor: number;
}

export interface DataConfig {
  source: DataSource;
  /** Folder or IDX file; null for the built-in default place. */
  path: string | null;
  /** Use only the first N samples (null: all). */
  limit: number | null;
}

export interface ResolvedConfig {
  preset: string;
  seed: number;
  backend: BackendName;
  /** The run directory (null: runs/<preset>-<n>, chosen by the CLI). */
  out: string | null;
  data: DataConfig;
  model: ModelConfig;
  train: TrainConfig;
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends (infer U)[] ? U[] : T[K] extends object | null ? DeepPartial<NonNullable<T[K]>> | (null extends T[K] ? null : never) : T[K] };
export type UserConfig = DeepPartial<ResolvedConfig>;

/** Defaults live here, once; presets override parts of them. */
export const DEFAULTS: Omit<ResolvedConfig, 'preset'> = {
  seed: 42,
  backend: 'auto',
  out: null,
  data: { source: 'mnist', path: null, limit: null },
  model: {
    arch: 'dcgan',
    latentDim: 100,
    noise: 'normal',
    dataShape: [28, 28, 1],
    output: 'tanh',
    gWidths: [128, 64],
    dWidths: [64, 128],
    gBatchNorm: true,
    dBatchNorm: true,
    gActivation: 'relu',
    leak: 0.2,
    dropout: 0,
    baseSize: 7,
    kernelSize: 4,
    stride: 2,
    padding: 1,
    init: 'dcgan',
    minibatch: 'off',
    minibatchKernels: 50,
    minibatchDims: 5,
    minibatchGroup: 4,
    spectralNorm: 'off',
    pack: 1,
    conditional: 'off',
    numClasses: 0,
    classNames: [],
    classEmbedding: 0,
  },
  train: {
    loss: 'non-saturating',
    batchSize: 64,
    lrG: 2e-4,
    lrD: 2e-4,
    beta1: 0.5,
    beta2: 0.999,
    dSteps: 1,
    lrDecay: 'off',
    labelSmoothing: 0,
    gpWeight: 10,
    r1Weight: 0,
    emaDecay: 0,
    featureMatching: 0,
    featureLayer: -1,
    adversarialWeight: 1,
    instanceNoise: 0,
    instanceNoiseSteps: null,
    diffAugment: 'off',
    acganWeight: 1,
    steps: 2000,
    epochs: null,
    sampleEvery: 100,
    checkpointEvery: 500,
    logEvery: 50,
    keepCheckpoints: 3,
    gridSize: 64,
    onCollapse: 'warn',
    dWinsSteps: 200,
    dWinsGap: 0.98,
    collapseRatio: 0.2,
    maxRollbacks: 3,
    rollbackLrFactor: 0.5,
  },
};

export interface Preset {
  description: string;
  config: UserConfig;
}

const mlpImage = (shape: number[]): UserConfig['model'] => ({
  arch: 'mlp',
  dataShape: shape,
  gActivation: 'leaky-relu',
  gBatchNorm: false,
  dBatchNorm: false,
  init: 'glorot',
});

const toy = (source: DataSource, steps: number, train: UserConfig['train'] = {}): UserConfig => ({
  data: { source },
  model: {
    arch: 'mlp',
    latentDim: 8,
    dataShape: [2],
    output: 'linear',
    gWidths: [128, 128, 128],
    dWidths: [128, 128, 128],
    gBatchNorm: false,
    dBatchNorm: false,
    gActivation: 'relu',
    init: 'glorot',
  },
  train: { batchSize: 256, lrG: 1e-3, lrD: 1e-3, beta1: 0.5, steps, sampleEvery: 250, checkpointEvery: 1000, logEvery: 100, gridSize: 1000, ...train },
});

/**
 * The mode-coverage presets (npm run modes): R1 (gamma 0.1) makes the game converge instead of
 * cycling, so every mode is kept, and the linear learning-rate decay then pulls the samples onto
 * the modes. The plain GAN of toy() covers 7-8 of 8 and 19-21 of 25 modes with 40-86% of its
 * samples on a mode; this covers every mode in 5 of 5 seeds, with 96-98% of samples on a mode
 * on the ring and 91-96% on the grid (BENCHMARKS.md).
 */
const modeToy = (source: DataSource, steps: number): UserConfig => toy(source, steps, { r1Weight: 0.1, lrDecay: 'linear', sampleEvery: 1000, checkpointEvery: 5000, logEvery: 500 });

/** Presets are data: each is a partial config laid over DEFAULTS. */
export const PRESETS: Record<string, Preset> = {
  'mnist-mlp': {
    description: 'fully connected GAN on MNIST (seed 002): G z100-256-1024-784 sigmoid (+BN), D 784-1024-512-1 dropout 0.3',
    config: {
      data: { source: 'mnist' },
      // Batch norm in G: without it this GAN collapses to a single image within ~300 steps
      // on the 10,000 bundled digits (--g-batch-norm off shows it).
      model: { ...mlpImage([28, 28, 1]), output: 'sigmoid', gWidths: [256, 1024], dWidths: [1024, 512], dropout: 0.3, gBatchNorm: true },
      train: { steps: 3000, sampleEvery: 250, checkpointEvery: 1000 },
    },
  },
  'mnist-dcgan': {
    description: 'DCGAN on MNIST at 28x28: dense 7x7x128, transposed convs with BN+ReLU, tanh; strided conv D',
    config: { data: { source: 'mnist' }, train: { steps: 1500 } },
  },
  'fashion-dcgan': {
    description: 'DCGAN on Fashion-MNIST IDX files (default /usr/share/datasets/fashion-mnist, or --data)',
    config: { data: { source: 'fashion' }, train: { steps: 3000 } },
  },
  'folder-dcgan64': {
    description: 'the 64x64 RGB DCGAN of seed 000 on a folder of PNG/JPEG images (--data DIR)',
    config: {
      data: { source: 'folder' },
      model: { dataShape: [64, 64, 3], baseSize: 4, gWidths: [512, 256, 128, 64], dWidths: [64, 128, 256, 512] },
      train: { steps: 5000, sampleEvery: 200, checkpointEvery: 500 },
    },
  },
  'toy-spiral': { description: '2D spiral (seed 002), MLP G and D', config: toy('spiral', 4000) },
  'toy-ring8': { description: '8 Gaussians on a circle of radius 1, std 0.01; R1 0.1 and linear lr decay', config: modeToy('ring8', 20000) },
  'toy-grid25': { description: '5x5 grid of Gaussians at {-4,-2,0,2,4}^2, std 0.05; R1 0.1 and linear lr decay', config: modeToy('grid25', 25000) },
  'circles-3x3': {
    description: "seed 004's 3x3 grayscale circles: bright ring, dark centre and corners",
    config: {
      data: { source: 'circles' },
      model: { ...mlpImage([3, 3, 1]), latentDim: 4, output: 'sigmoid', gWidths: [32, 32], dWidths: [32, 32] },
      train: { batchSize: 64, lrG: 1e-3, lrD: 1e-3, steps: 1500, sampleEvery: 100, checkpointEvery: 500, logEvery: 100 },
    },
  },
};

export const DEFAULT_PRESET = 'mnist-dcgan';

/** Number of samples in a finite dataset, known only once it is loaded; null for endless toy data. */
export type DatasetSize = number | null;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Lay `over` on `base`: objects merge, everything else (arrays too) replaces. */
export function mergeConfig<T>(base: T, over: DeepPartial<T> | undefined): T {
  if (over === undefined) return base;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over as Record<string, unknown>)) {
    if (v === undefined) continue;
    const b = out[k];
    out[k] = isObject(b) && isObject(v) ? mergeConfig(b, v) : v;
  }
  return out as T;
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

const ENUMS = {
  'model.arch': ['mlp', 'dcgan'],
  'model.noise': ['normal', 'uniform'],
  'model.output': ['tanh', 'sigmoid', 'linear'],
  'model.gActivation': ['relu', 'leaky-relu'],
  'model.init': ['glorot', 'dcgan'],
  'model.minibatch': ['off', 'stddev', 'discrimination'],
  'model.spectralNorm': ['off', 'd', 'both'],
  'model.conditional': ['off', 'projection', 'acgan'],
  'train.loss': ['minimax', 'non-saturating', 'hinge', 'lsgan', 'wgan-gp'],
  'train.lrDecay': ['off', 'linear', 'cosine'],
  'train.onCollapse': ['warn', 'rollback', 'stop'],
  backend: ['auto', 'native', 'wasm', 'cpu'],
  'data.source': ['mnist', 'fashion', 'idx', 'folder', 'spiral', 'ring8', 'grid25', 'circles'],
} as const;

function fail(key: string, value: unknown, allowed: string): never {
  throw new ForgerError('E_CONFIG', `${key} ${JSON.stringify(value)} is invalid; ${allowed}`);
}

function checkInt(key: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    fail(key, v, max === Number.MAX_SAFE_INTEGER ? `expected an integer >= ${min}` : `expected an integer in [${min}, ${max}]`);
  }
}

function checkNum(key: string, v: unknown, min: number, max: number, openMin = false): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (openMin && v === min)) {
    fail(key, v, `expected a number in ${openMin ? '(' : '['}${min}, ${max}]`);
  }
}

function checkIntList(key: string, v: unknown, minLen: number): void {
  if (!Array.isArray(v) || v.length < minLen || v.some((x) => typeof x !== 'number' || !Number.isInteger(x) || x < 1)) {
    fail(key, v, `expected a list of at least ${minLen} positive integers, e.g. 256,1024`);
  }
}

/** Reject keys that are not part of the config (typos in JSON files). */
function checkKeys(path: string, user: unknown, ref: unknown): void {
  if (!isObject(user) || !isObject(ref)) return;
  for (const k of Object.keys(user)) {
    if (!(k in ref)) {
      throw new ForgerError('E_CONFIG', `unknown config key ${path ? `${path}.` : ''}${k}; known: ${Object.keys(ref).join(', ')}`);
    }
    checkKeys(path ? `${path}.${k}` : k, user[k], ref[k]);
  }
}

/** MNIST-style uint8 labels: at most 256 classes. */
export const MAX_CLASSES = 256;

function checkConditional(c: ResolvedConfig): void {
  const m = c.model;
  checkInt('model.numClasses', m.numClasses, 0, MAX_CLASSES);
  checkInt('model.classEmbedding', m.classEmbedding, 0, 4096);
  if (!Array.isArray(m.classNames) || m.classNames.some((n) => typeof n !== 'string')) fail('model.classNames', m.classNames, 'expected a list of class names');
  if (m.conditional === 'off') {
    const why = 'applies only to a class-conditional model; set model.conditional projection or acgan, or use';
    if (m.numClasses !== 0) fail('model.numClasses', m.numClasses, `${why} 0`);
    if (m.classNames.length > 0) fail('model.classNames', m.classNames, `${why} []`);
    if (m.classEmbedding !== 0) fail('model.classEmbedding', m.classEmbedding, `${why} 0`);
    return;
  }
  if (isToyName(c.data.source) || c.data.source === 'circles') {
    fail('model.conditional', m.conditional, `data source ${c.data.source} has no class labels; use off, or labelled data (mnist, fashion, idx with labels, folder with one subfolder per class)`);
  }
  if (c.train.featureMatching > 0) fail('train.featureMatching', c.train.featureMatching, `feature matching is not supported with model.conditional ${m.conditional}; use 0`);
  if (m.pack > 1) fail('model.pack', m.pack, `PacGAN packing is not supported with model.conditional ${m.conditional} (a pack would mix labels); use 1`);
  if (m.numClasses === 1) fail('model.numClasses', m.numClasses, 'a conditional model needs at least 2 classes; use 0 (from the data) or 2 or more');
  if (m.classNames.length > 0 && m.classNames.length !== m.numClasses) {
    fail('model.classNames', m.classNames, `expected ${m.numClasses} names (model.numClasses), or [] to take them from the data`);
  }
}

/** Validate a complete config; throws ForgerError('E_CONFIG') naming the key, the value and what is allowed. */
export function validateConfig(c: ResolvedConfig): void {
  for (const [key, allowed] of Object.entries(ENUMS)) {
    const v = key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], c);
    if (!(allowed as readonly string[]).includes(v as string)) fail(key, v, `use one of ${allowed.join(', ')}`);
  }
  const m = c.model;
  const t = c.train;
  checkInt('seed', c.seed, 0, 2 ** 32 - 1);
  checkInt('model.latentDim', m.latentDim, 1, 100000);
  checkIntList('model.dataShape', m.dataShape, 1);
  if (m.dataShape.length !== 1 && m.dataShape.length !== 3) fail('model.dataShape', m.dataShape, 'use [h, w, c] for images or [d] for points');
  if (m.dataShape.length === 3 && ![1, 3].includes(m.dataShape[2]!)) fail('channels', m.dataShape[2], 'use 1 (grayscale) or 3 (RGB)');
  if (m.dataShape.length === 3 && m.dataShape[0] !== m.dataShape[1]) fail('model.dataShape', m.dataShape, 'images must be square');
  if (m.arch === 'dcgan' && m.dataShape.length !== 3) fail('model.arch', m.arch, 'dcgan needs image data; use mlp for points');
  checkIntList('model.gWidths', m.gWidths, m.arch === 'dcgan' ? 1 : 0);
  checkIntList('model.dWidths', m.dWidths, m.arch === 'dcgan' ? 1 : 0);
  checkNum('model.leak', m.leak, 0, 1);
  checkNum('model.dropout', m.dropout, 0, 0.95);
  checkInt('model.baseSize', m.baseSize, 1, 1024);
  checkInt('model.kernelSize', m.kernelSize, 1, 15);
  checkInt('model.stride', m.stride, 1, 8);
  checkInt('model.padding', m.padding, 0, 15);
  checkInt('train.batchSize', t.batchSize, 1, 65536);
  checkInt('model.minibatchKernels', m.minibatchKernels, 1, 4096);
  checkInt('model.minibatchDims', m.minibatchDims, 1, 1024);
  checkInt('model.minibatchGroup', m.minibatchGroup, 2, 65536);
  checkInt('model.pack', m.pack, 1, 64);
  if (t.batchSize % m.pack !== 0) fail('model.pack', m.pack, `packs must split train.batchSize ${t.batchSize} evenly; use a divisor of it, or change the batch size`);
  // D sees batchSize / pack samples (packs) per batch.
  const dBatch = t.batchSize / m.pack;
  if (m.minibatch === 'stddev' && dBatch % Math.min(m.minibatchGroup, dBatch) !== 0) {
    const divisors = Array.from({ length: m.minibatchGroup - 1 }, (_, i) => m.minibatchGroup - i).filter((d) => dBatch % d === 0);
    const what = m.pack > 1 ? `the ${dBatch} packs of a batch (train.batchSize ${t.batchSize} / model.pack ${m.pack})` : `train.batchSize ${t.batchSize}`;
    fail('model.minibatchGroup', m.minibatchGroup, `groups must split ${what} evenly; use ${divisors.length > 0 ? divisors[0] : dBatch} or another divisor of it, or change the batch size`);
  }
  checkNum('train.lrG', t.lrG, 0, 10, true);
  checkNum('train.lrD', t.lrD, 0, 10, true);
  checkNum('train.beta1', t.beta1, 0, 0.9999);
  checkNum('train.beta2', t.beta2, 0, 0.99999);
  checkInt('train.dSteps', t.dSteps, 1, 100);
  checkNum('train.labelSmoothing', t.labelSmoothing, 0, 0.5);
  if (t.labelSmoothing > 0 && !isBceLoss(t.loss)) fail('train.labelSmoothing', t.labelSmoothing, `label smoothing applies only to the BCE losses; use 0 with train.loss ${t.loss}, or train.loss minimax or non-saturating`);
  checkNum('train.gpWeight', t.gpWeight, 0, 1e6);
  checkNum('train.r1Weight', t.r1Weight, 0, 1e6);
  if (m.dBatchNorm && (t.loss === 'wgan-gp' || t.r1Weight > 0)) {
    fail('model.dBatchNorm', m.dBatchNorm, `a gradient penalty (${t.loss === 'wgan-gp' ? 'train.loss wgan-gp' : 'train.r1Weight'}) needs per-sample D outputs, which batch norm in D mixes; use --d-batch-norm off`);
  }
  checkConditional(c);
  checkNum('train.acganWeight', t.acganWeight, 0, 1e6);
  if (typeof t.emaDecay !== 'number' || !(t.emaDecay === 0 || (t.emaDecay >= 0.5 && t.emaDecay <= 0.99999))) fail('train.emaDecay', t.emaDecay, 'use 0 (off) or a decay in [0.5, 0.99999], e.g. 0.999');
  checkInt('train.steps', t.steps, 1);
  checkRemedies(c);
  if (t.epochs !== null) checkNum('train.epochs', t.epochs, 0, 1e6, true);
  checkInt('train.sampleEvery', t.sampleEvery, 1);
  checkInt('train.checkpointEvery', t.checkpointEvery, 1);
  checkInt('train.logEvery', t.logEvery, 1);
  checkInt('train.keepCheckpoints', t.keepCheckpoints, 1);
  checkInt('train.gridSize', t.gridSize, 1, 10000);
  checkInt('train.dWinsSteps', t.dWinsSteps, 0);
  checkNum('train.dWinsGap', t.dWinsGap, 0, 1, true);
  checkNum('train.collapseRatio', t.collapseRatio, 0, 0.99);
  checkInt('train.maxRollbacks', t.maxRollbacks, 0, 1000);
  checkNum('train.rollbackLrFactor', t.rollbackLrFactor, 0, 0.99, true);
  if (c.data.limit !== null) checkInt('data.limit', c.data.limit, 1);
  const pointData = isToyName(c.data.source);
  if (pointData !== (m.dataShape.length === 1)) {
    fail('model.dataShape', m.dataShape, `data source ${c.data.source} has ${pointData ? '2D points; use [2]' : 'images; use [h, w, c]'}`);
  }
  if (pointData && m.dataShape[0] !== 2) fail('model.dataShape', m.dataShape, 'toy data is 2D; use [2]');
}

/** Feature matching, instance noise and DiffAugment. */
function checkRemedies(c: ResolvedConfig): void {
  const t = c.train;
  checkNum('train.featureMatching', t.featureMatching, 0, 1e6);
  checkNum('train.adversarialWeight', t.adversarialWeight, 0, 1e6);
  if (t.adversarialWeight === 0 && t.featureMatching === 0) fail('train.adversarialWeight', 0, 'G needs a loss: use a weight > 0, or set train.featureMatching > 0 for feature matching alone');
  if (t.adversarialWeight !== 1 && t.featureMatching === 0) fail('train.adversarialWeight', t.adversarialWeight, 'it weighs the adversarial loss against feature matching; set train.featureMatching > 0 too, or leave it at 1');
  const fl = t.featureLayer;
  const n = c.model.dWidths.length;
  if (typeof fl === 'string' ? fl.trim() === '' : typeof fl !== 'number' || !Number.isInteger(fl) || fl === 0) {
    fail('train.featureLayer', fl, 'use a hidden layer number (1 = first, -1 = last) or a layer name of D');
  }
  if (t.featureMatching > 0 && typeof fl === 'number' && (n === 0 || Math.abs(fl) > n)) {
    fail('train.featureLayer', fl, n === 0 ? 'D has no hidden layers (model.dWidths is empty); use a layer name of D' : `D has ${n} hidden layers; use 1..${n} or -1..-${n}, or a layer name of D`);
  }
  checkNum('train.instanceNoise', t.instanceNoise, 0, 100);
  if (t.instanceNoiseSteps !== null) checkInt('train.instanceNoiseSteps', t.instanceNoiseSteps, 1);
  if (typeof t.diffAugment !== 'string') fail('train.diffAugment', t.diffAugment, `use off or a comma list of ${AUGMENT_OPS.join(', ')}`);
  const ops = parseAugmentList(t.diffAugment);
  if (ops.length > 0 && !isImageModel(c.model)) fail('train.diffAugment', t.diffAugment, 'DiffAugment transforms images, and this model makes 2D points; use off');
}

/** The ops of DiffAugment, in the order they are applied (the paper's policy order). */
export const AUGMENT_OPS = ['color', 'translation', 'cutout'] as const;
export type AugmentOp = (typeof AUGMENT_OPS)[number];

/** 'off' or '' -> []; 'cutout,color' -> ['color', 'cutout'] (applied in AUGMENT_OPS order). Throws E_CONFIG on unknown or repeated names. */
export function parseAugmentList(spec: string): AugmentOp[] {
  const s = spec.trim();
  if (s === '' || s === 'off') return [];
  const names = s.split(',').map((x) => x.trim());
  for (const [i, name] of names.entries()) {
    if (!(AUGMENT_OPS as readonly string[]).includes(name)) fail('train.diffAugment', spec, `unknown op ${JSON.stringify(name)}; use off or a comma list of ${AUGMENT_OPS.join(', ')}`);
    if (names.indexOf(name) !== i) fail('train.diffAugment', spec, `${name} is listed twice; list each of ${AUGMENT_OPS.join(', ')} at most once`);
  }
  return AUGMENT_OPS.filter((op) => names.includes(op));
}

/** preset -> DEFAULTS + preset + user overrides -> validated, frozen config. */
export function resolveConfig(user: UserConfig = {}, presetName = user.preset ?? DEFAULT_PRESET): ResolvedConfig {
  const preset = PRESETS[presetName];
  if (!preset) {
    throw new ForgerError('E_CONFIG', `unknown preset "${presetName}"; use one of ${Object.keys(PRESETS).join(', ')}`);
  }
  checkKeys('', user, { ...DEFAULTS, preset: '' });
  const base: ResolvedConfig = { preset: presetName, ...DEFAULTS };
  const merged = mergeConfig(mergeConfig(base, preset.config), { ...user, preset: presetName });
  // The arrays must not be shared with DEFAULTS or presets once frozen.
  const resolved = JSON.parse(JSON.stringify(merged)) as ResolvedConfig;
  validateConfig(resolved);
  return deepFreeze(resolved);
}

/** Steps for `epochs` passes over `datasetSize` samples; fixes `train.steps` once the data is known. */
export function resolveSteps(config: ResolvedConfig, datasetSize: DatasetSize): ResolvedConfig {
  const { epochs, batchSize } = config.train;
  if (epochs === null) return config;
  if (datasetSize === null) {
    throw new ForgerError('E_CONFIG', `epochs ${epochs} cannot be used with endless ${config.data.source} data; use --steps N`);
  }
  const steps = Math.max(1, Math.ceil((epochs * datasetSize) / batchSize));
  return deepFreeze({ ...config, train: { ...config.train, steps } });
}

/**
 * The learning-rate factor for the update that makes step `step` + 1 of `steps`: 1 when
 * lrDecay is off; linear: 1 - step/steps; cosine: (1 + cos(pi step/steps)) / 2. A function
 * of the step alone, so resumed runs follow the same schedule.
 */
export function lrFactor(decay: LrDecay, step: number, steps: number): number {
  if (decay === 'off') return 1;
  const t = Math.min(Math.max(step / steps, 0), 1);
  return decay === 'linear' ? 1 - t : (1 + Math.cos(Math.PI * t)) / 2;
}

/**
 * Fix model.numClasses and model.classNames from the loaded data's classes (conditional
 * models only; an unconditional config is returned as it is). Values already set (a
 * resumed run, a config file) must match the data.
 */
export function resolveClasses(config: ResolvedConfig, dataClasses: readonly string[] | null): ResolvedConfig {
  const m = config.model;
  if (!isConditional(m)) return config;
  const source = config.data.path ? `${config.data.source} data ${config.data.path}` : `${config.data.source} data`;
  if (dataClasses === null) {
    throw new ForgerError('E_DATA', `model.conditional ${m.conditional} needs class labels, and the ${source} has none (idx: a labels file beside the images; folder: one subfolder per class)`);
  }
  const k = dataClasses.length;
  if (k < 2) throw new ForgerError('E_DATA', `model.conditional ${m.conditional} needs at least 2 classes; the ${source} has ${k} (${dataClasses.join(', ')})`);
  if (k > MAX_CLASSES) throw new ForgerError('E_DATA', `the ${source} has ${k} classes; at most ${MAX_CLASSES} are supported`);
  if (m.numClasses !== 0 && m.numClasses !== k) {
    throw new ForgerError('E_DATA', `model.numClasses ${m.numClasses} does not match the ${k} classes of the ${source}; use 0 (from the data) or ${k}`);
  }
  if (m.classNames.length > 0 && JSON.stringify(m.classNames) !== JSON.stringify(dataClasses)) {
    throw new ForgerError('E_DATA', `model.classNames ${JSON.stringify(m.classNames)} do not match the classes of the ${source}, ${JSON.stringify(dataClasses)}`);
  }
  if (m.numClasses === k && m.classNames.length === k) return config;
  return deepFreeze({ ...config, model: { ...m, numClasses: k, classNames: [...dataClasses] } });
}

/** The data range fixed by G's output activation. */
export function dataRange(model: ModelConfig): [number, number] | null {
  return model.output === 'tanh' ? [-1, 1] : model.output === 'sigmoid' ? [0, 1] : null;
}

export function isImageModel(model: ModelConfig): boolean {
  return model.dataShape.length === 3;
}

/**
 * Whether G and D take a class label (model.conditional projection or acgan). A config saved
 * before the option existed has no conditional key: unconditional.
 */
export function isConditional(model: ModelConfig): boolean {
  return model.conditional === 'projection' || model.conditional === 'acgan';
}
