/** Command-line flags <-> config keys, in one table. */
import { PRESETS, resolveConfig, type UserConfig } from '../../core/config.ts';
import { ForgerError } from '../../core/errors.ts';

/** layer: an integer (a hidden layer number) or else a name. */
export type Kind = 'int' | 'num' | 'str' | 'list' | 'onoff' | 'layer';

interface FlagSpec {
  flag: string;
  /** Config path, e.g. 'train.steps'; several for flags that set more than one key. */
  paths: string[];
  kind: Kind;
  help: string;
  /** Placeholder in --help, when the kind's default (N, X, NAME, ...) does not fit. */
  metavar?: string;
}

/** Every knob of a preset, as a flag. --image-size and --channels are handled apart (they edit model.dataShape). */
export const CONFIG_FLAGS: FlagSpec[] = [
  { flag: 'data', paths: ['data.path'], kind: 'str', metavar: 'PATH', help: 'dataset: IDX file/folder or image folder' },
  { flag: 'dataset', paths: ['data.source'], kind: 'str', help: 'mnist | fashion | idx | folder | spiral | ring8 | grid25 | circles' },
  { flag: 'limit', paths: ['data.limit'], kind: 'int', help: 'use only the first N samples' },
  { flag: 'seed', paths: ['seed'], kind: 'int', help: 'random seed (weights, noise, data order)' },
  { flag: 'backend', paths: ['backend'], kind: 'str', help: 'auto | native | wasm | cpu' },
  { flag: 'arch', paths: ['model.arch'], kind: 'str', help: 'mlp | dcgan' },
  { flag: 'latent-dim', paths: ['model.latentDim'], kind: 'int', help: 'size of z' },
  { flag: 'noise', paths: ['model.noise'], kind: 'str', help: 'normal (N(0,1)) | uniform (U(-1,1))' },
  { flag: 'output', paths: ['model.output'], kind: 'str', help: "G's output activation: tanh | sigmoid | linear" },
  { flag: 'g-widths', paths: ['model.gWidths'], kind: 'list', help: 'G layer widths, e.g. 256,1024' },
  { flag: 'd-widths', paths: ['model.dWidths'], kind: 'list', help: 'D layer widths, e.g. 1024,512' },
  { flag: 'batch-norm', paths: ['model.gBatchNorm', 'model.dBatchNorm'], kind: 'onoff', help: 'batch norm in G and D: on | off' },
  { flag: 'g-batch-norm', paths: ['model.gBatchNorm'], kind: 'onoff', help: 'batch norm in G: on | off' },
  { flag: 'd-batch-norm', paths: ['model.dBatchNorm'], kind: 'onoff', help: 'batch norm in D: on | off' },
  { flag: 'g-activation', paths: ['model.gActivation'], kind: 'str', help: 'relu | leaky-relu' },
  { flag: 'leak', paths: ['model.leak'], kind: 'num', help: 'LeakyReLU slope' },
  { flag: 'dropout', paths: ['model.dropout'], kind: 'num', help: 'dropout rate in D' },
  { flag: 'base-size', paths: ['model.baseSize'], kind: 'int', help: "dcgan: G's first feature map size" },
  { flag: 'kernel-size', paths: ['model.kernelSize'], kind: 'int', help: 'dcgan: conv kernel' },
  { flag: 'stride', paths: ['model.stride'], kind: 'int', help: 'dcgan: conv stride' },
  { flag: 'padding', paths: ['model.padding'], kind: 'int', help: 'dcgan: conv padding' },
  { flag: 'init', paths: ['model.init'], kind: 'str', help: 'glorot | dcgan (N(0, 0.02))' },
  { flag: 'minibatch', paths: ['model.minibatch'], kind: 'str', help: "a batch-aware layer before D's logit: off | stddev | discrimination" },
  { flag: 'minibatch-kernels', paths: ['model.minibatchKernels'], kind: 'int', help: 'discrimination: kernels B (features added, default 50)' },
  { flag: 'minibatch-dims', paths: ['model.minibatchDims'], kind: 'int', help: 'discrimination: dimension C of each kernel (default 5)' },
  { flag: 'minibatch-group', paths: ['model.minibatchGroup'], kind: 'int', help: 'stddev: samples per group, dividing the batch size (default 4)' },
  { flag: 'spectral-norm', paths: ['model.spectralNorm'], kind: 'str', help: 'spectral normalisation of the dense/conv layers: off | d | both (D and G)' },
  { flag: 'pack', paths: ['model.pack'], kind: 'int', metavar: 'M', help: 'PacGAN: D judges packs of M samples (1 = off; must divide the batch size)' },
  { flag: 'conditional', paths: ['model.conditional'], kind: 'str', help: 'class-conditional G and D: off | projection (projection D) | acgan (auxiliary-classifier D)' },
  { flag: 'num-classes', paths: ['model.numClasses'], kind: 'int', help: 'conditional: number of classes (default 0 = from the data)' },
  { flag: 'class-embedding', paths: ['model.classEmbedding'], kind: 'int', help: "conditional: G's label input, an N-dim learned embedding (0 = the one-hot)" },
  { flag: 'acgan-weight', paths: ['train.acganWeight'], kind: 'num', metavar: 'W', help: 'acgan: weight of the class cross-entropy in D and G (default 1)' },
  { flag: 'loss', paths: ['train.loss'], kind: 'str', help: 'minimax | non-saturating | hinge | lsgan | wgan-gp' },
  { flag: 'batch-size', paths: ['train.batchSize'], kind: 'int', help: 'batch size' },
  { flag: 'lr', paths: ['train.lrG', 'train.lrD'], kind: 'num', help: 'learning rate of G and D' },
  { flag: 'lr-g', paths: ['train.lrG'], kind: 'num', help: 'learning rate of G' },
  { flag: 'lr-d', paths: ['train.lrD'], kind: 'num', help: 'learning rate of D' },
  { flag: 'beta1', paths: ['train.beta1'], kind: 'num', help: 'Adam beta1' },
  { flag: 'beta2', paths: ['train.beta2'], kind: 'num', help: 'Adam beta2' },
  { flag: 'lr-decay', paths: ['train.lrDecay'], kind: 'str', help: 'learning-rate schedule: off | linear | cosine (decay to 0 at the last step)' },
  { flag: 'd-steps', paths: ['train.dSteps'], kind: 'int', help: 'D updates per G update' },
  { flag: 'label-smoothing', paths: ['train.labelSmoothing'], kind: 'num', help: "one-sided: D's real target is 1 - X (e.g. 0.1)" },
  { flag: 'gp-weight', paths: ['train.gpWeight'], kind: 'num', metavar: 'LAMBDA', help: 'wgan-gp: weight of the gradient penalty (default 10)' },
  { flag: 'r1', paths: ['train.r1Weight'], kind: 'num', metavar: 'GAMMA', help: 'R1 penalty (GAMMA/2) E|grad D(x)|^2 on reals, any loss (0 = off)' },
  { flag: 'ema', paths: ['train.emaDecay'], kind: 'num', metavar: 'DECAY', help: "sample from a moving average of G's weights (e.g. 0.999; 0 = off)" },
  { flag: 'feature-matching', paths: ['train.featureMatching'], kind: 'num', metavar: 'W', help: "G matches the mean D features of reals at --feature-layer, weight W (0 = off)" },
  { flag: 'feature-layer', paths: ['train.featureLayer'], kind: 'layer', metavar: 'N|NAME', help: "feature matching's D layer: hidden layer N (1 = first; --feature-layer=-1 = last, the default) or a layer name" },
  { flag: 'adv-weight', paths: ['train.adversarialWeight'], kind: 'num', metavar: 'W', help: "weight of G's adversarial loss with feature matching (default 1; 0 = feature matching alone)" },
  { flag: 'instance-noise', paths: ['train.instanceNoise'], kind: 'num', metavar: 'SIGMA', help: "N(0, sigma^2) noise on every input of D, annealed linearly to 0 (0 = off)" },
  { flag: 'instance-noise-steps', paths: ['train.instanceNoiseSteps'], kind: 'int', help: 'steps over which the instance noise falls to 0 (default: all, --steps)' },
  { flag: 'diff-augment', paths: ['train.diffAugment'], kind: 'str', metavar: 'OPS', help: 'DiffAugment every input of D (images): off or a comma list of color,translation,cutout' },
  { flag: 'steps', paths: ['train.steps'], kind: 'int', help: 'training steps (G updates)' },
  { flag: 'epochs', paths: ['train.epochs'], kind: 'num', help: 'passes over the dataset (instead of --steps)' },
  { flag: 'sample-every', paths: ['train.sampleEvery'], kind: 'int', help: 'write a sample grid every N steps' },
  { flag: 'checkpoint-every', paths: ['train.checkpointEvery'], kind: 'int', help: 'write a checkpoint every N steps' },
  { flag: 'log-every', paths: ['train.logEvery'], kind: 'int', help: 'log line every N steps (not on a terminal)' },
  { flag: 'keep', paths: ['train.keepCheckpoints'], kind: 'int', help: 'checkpoints to keep' },
  { flag: 'grid-size', paths: ['train.gridSize'], kind: 'int', help: 'images in the progress grid' },
  { flag: 'on-collapse', paths: ['train.onCollapse'], kind: 'str', metavar: 'ACTION', help: 'on divergence or collapse: warn | rollback (healthy checkpoint, lower lr) | stop (exit 3)' },
  { flag: 'd-wins-steps', paths: ['train.dWinsSteps'], kind: 'int', help: 'D wins after N steps in a row near perfect separation (default 200; 0 = off)' },
  { flag: 'd-wins-gap', paths: ['train.dWinsGap'], kind: 'num', help: 'D(x) - D(G(z)) counted as D winning, as a fraction of its largest value (default 0.98)' },
  { flag: 'collapse-ratio', paths: ['train.collapseRatio'], kind: 'num', help: 'collapse: fixed-noise spread below X times a real batch\'s (default 0.2; 0 = off)' },
  { flag: 'max-rollbacks', paths: ['train.maxRollbacks'], kind: 'int', help: 'rollback: at most N in a run, then stop (default 3)' },
  { flag: 'rollback-lr-factor', paths: ['train.rollbackLrFactor'], kind: 'num', help: 'rollback: multiply both learning rates by X (default 0.5)' },
];

export function parseValue(flag: string, kind: Kind, raw: string): unknown {
  const bad = (what: string) => new ForgerError('E_USAGE', `--${flag} expects ${what}, got ${JSON.stringify(raw)}`);
  switch (kind) {
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) throw bad('an integer');
      return Number(raw);
    }
    case 'num': {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v)) throw bad('a number');
      return v;
    }
    case 'list': {
      const parts = raw.split(',').map((s) => s.trim());
      if (raw.trim() === '') return [];
      if (parts.some((p) => !/^\d+$/.test(p))) throw bad('a comma-separated list of integers, e.g. 256,1024');
      return parts.map(Number);
    }
    case 'layer': {
      if (raw.trim() === '') throw bad('a hidden layer number or a layer name');
      return /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw.trim();
    }
    case 'onoff': {
      const v = raw.toLowerCase();
      if (['on', 'true', 'yes', '1'].includes(v)) return true;
      if (['off', 'false', 'no', '0'].includes(v)) return false;
      throw bad('on or off');
    }
    default:
      return raw;
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let o = target;
  for (const k of keys.slice(0, -1)) {
    if (typeof o[k] !== 'object' || o[k] === null) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[keys[keys.length - 1]!] = value;
}

/** The parseArgs option table for the config flags. */
export function configFlagOptions(): Record<string, { type: 'string' }> {
  const out: Record<string, { type: 'string' }> = { 'image-size': { type: 'string' }, channels: { type: 'string' } };
  for (const f of CONFIG_FLAGS) out[f.flag] = { type: 'string' };
  return out;
}

/**
 * Flags -> a UserConfig laid over `base` (a config file's contents). --image-size
 * and --channels edit the data shape the preset (or file) would otherwise give.
 */
export function flagsToUserConfig(values: Record<string, unknown>, base: UserConfig, preset: string): UserConfig {
  const user = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
  for (const f of CONFIG_FLAGS) {
    const raw = values[f.flag];
    if (typeof raw !== 'string') continue;
    const v = parseValue(f.flag, f.kind, raw);
    for (const p of f.paths) setPath(user, p, v);
  }
  const size = values['image-size'];
  const channels = values['channels'];
  if (typeof size === 'string' || typeof channels === 'string') {
    if (!PRESETS[preset]) resolveConfig({}, preset); // throws the unknown-preset error
    const shape = resolveConfig(user as UserConfig, preset).model.dataShape;
    if (shape.length !== 3) throw new ForgerError('E_USAGE', `--image-size and --channels apply to image models; preset ${preset} makes 2D points`);
    const s = typeof size === 'string' ? (parseValue('image-size', 'int', size) as number) : shape[0]!;
    const c = typeof channels === 'string' ? (parseValue('channels', 'int', channels) as number) : shape[2]!;
    setPath(user, 'model.dataShape', [s, s, c]);
  }
  return user as UserConfig;
}

/** Rewrite a config error's key into the flag a user typed, e.g. "train.steps 0" -> "--steps 0". */
export function flagNameFor(configKey: string): string | null {
  if (configKey === 'model.dataShape') return '--image-size/--channels';
  const f = CONFIG_FLAGS.find((x) => x.paths.length === 1 && x.paths[0] === configKey);
  return f ? `--${f.flag}` : null;
}
