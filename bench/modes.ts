/**
 * The 2D mode-coverage benchmark (issue 5), as in the PacGAN and VEEGAN papers:
 * train a toy preset, draw 2,500 points, and count
 *   - high quality: points within 3 standard deviations of their nearest mode;
 *   - modes captured: modes that are the nearest mode of at least one high-quality point;
 * for each variant (the preset as shipped, a vanilla GAN, one remedy at a time),
 * over several seeds. The target: every seed of the shipped toy-ring8 and
 * toy-grid25 presets captures every mode with >= 95% high-quality points, each
 * run within 5 minutes.
 *
 *   npm run modes                                         both presets, 5 seeds, every variant
 *   npm run modes -- --preset toy-ring8 --variant preset --seeds 1
 *   npm run modes -- --variant "mine=--lr 5e-4 --d-steps 2"
 *   npm run modes -- --write-md                           also replace the table in BENCHMARKS.md
 *
 * Runs train in this process, one after another, on --backend (default auto).
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { resolveConfig, type ResolvedConfig } from '../src/core/config.ts';
import { isForgerError } from '../src/core/errors.ts';
import { Rng } from '../src/core/rng.ts';
import { sample } from '../src/core/sample.ts';
import { isToyName, modeStats } from '../src/core/toy2d.ts';
import { GanRun } from '../src/core/trainer.ts';
import { setupBackend, type BackendChoice } from '../src/node/backend/setup.ts';
import { configFlagOptions, flagsToUserConfig } from '../src/node/cli/flags.ts';
import { loadRealData } from '../src/node/run/dataset.ts';
import { machine, writeSection } from './report.ts';

const ROOT = resolve(fileURLToPath(import.meta.url), '../..');

/**
 * Named variants: CLI flags laid over the preset. Each remedy is measured alone: its flags
 * are laid over the vanilla variant's, which turn every remedy off.
 */
export const VARIANTS: Record<string, { flags: string; about: string }> = {
  preset: { flags: '', about: 'the preset as shipped' },
  vanilla: {
    flags: '--loss non-saturating --label-smoothing 0 --d-steps 1 --r1 0 --ema 0 --spectral-norm off --minibatch off --pack 1 --lr-decay off --feature-matching 0 --instance-noise 0',
    about: 'a plain GAN: non-saturating loss, no remedy',
  },
  'spectral-norm': { flags: '--spectral-norm d', about: 'spectral normalization of D' },
  'minibatch-stddev': { flags: '--minibatch stddev', about: "minibatch standard deviation before D's logit" },
  'minibatch-discrimination': { flags: '--minibatch discrimination', about: "minibatch discrimination before D's logit" },
  ema: { flags: '--ema 0.99', about: "samples from a moving average of G's weights" },
  hinge: { flags: '--loss hinge', about: 'hinge loss' },
  lsgan: { flags: '--loss lsgan', about: 'least-squares loss' },
  r1: { flags: '--r1 0.1', about: 'R1 penalty on real samples' },
  pack: { flags: '--pack 4', about: 'PacGAN: D judges packs of 4 samples' },
  'feature-matching': { flags: '--feature-matching 1', about: "feature matching at D's last hidden layer, with the adversarial loss" },
  'instance-noise': { flags: '--instance-noise 0.1', about: "instance noise on D's inputs, sigma 0.1 annealed to 0" },
  'wgan-gp': { flags: '--loss wgan-gp --lr 1e-4 --beta1 0 --beta2 0.9 --d-steps 5', about: 'WGAN-GP with its usual Adam and 5 critic steps' },
};

const DEFAULT_PRESETS = ['toy-ring8', 'toy-grid25'];
const TARGET_HQ = 0.95;
const TARGET_SECONDS = 300;

/** Published numbers (modes captured, % high quality) the issue quotes, for the table. */
const PUBLISHED = [
  '| vanilla GAN (published range) | 1–6.3 / 8 | – | 3.3–17.3 / 25 | – |',
  '| PacGAN4 (Lin et al. 2018) | 7.8 / 8 | 95.9% | 24.8 / 25 | 93.6% |',
  '| VEEGAN (Srivastava et al. 2017) | 8 / 8 | 52.9% | 24.6 / 25 | 40% |',
];

const HELP = `npm run modes -- [options]

  --preset P[,P]      toy presets (default toy-ring8,toy-grid25)
  --variant V         a named variant (${Object.keys(VARIANTS).join(', ')}) or NAME="--flag value ...";
                      repeat or comma-separate names (default: every named variant)
  --seeds N           seeds 1..N per preset and variant (default 5)
  --steps N           training steps instead of the preset's
  --samples N         points drawn for the statistics (default 2500)
  --backend B         auto | native | wasm | cpu (default auto)
  --json              one JSON line per run on stdout
  --write-md          replace the mode-coverage section of BENCHMARKS.md
  --md-path FILE      write that section to FILE instead
`;

class UsageError extends Error {}

export interface RunResult {
  preset: string;
  variant: string;
  seed: number;
  steps: number;
  modes: number;
  modesTotal: number;
  highQuality: number;
  seconds: number;
}

interface Variant {
  name: string;
  flags: string;
}

/** A named variant's flags: the preset's none, vanilla's, or vanilla's followed by the remedy's (the later flag wins). */
export function variantFlags(name: string): string {
  const v = VARIANTS[name]!;
  return name === 'preset' || name === 'vanilla' ? v.flags : `${VARIANTS.vanilla!.flags} ${v.flags}`;
}

function parseVariants(raw: string[]): Variant[] {
  if (raw.length === 0) return Object.keys(VARIANTS).map((name) => ({ name, flags: variantFlags(name) }));
  const out: Variant[] = [];
  for (const r of raw) {
    const eq = r.indexOf('=');
    if (eq > 0) {
      out.push({ name: r.slice(0, eq), flags: r.slice(eq + 1) });
      continue;
    }
    for (const name of r.split(',').map((s) => s.trim()).filter(Boolean)) {
      if (!VARIANTS[name]) throw new UsageError(`unknown variant "${name}"; use one of ${Object.keys(VARIANTS).join(', ')} or NAME="--flags"`);
      out.push({ name, flags: variantFlags(name) });
    }
  }
  return out;
}

/** The config of one run: the preset, the variant's flags, the seed and --steps. */
export function variantConfig(preset: string, flags: string, seed: number, steps: number | null): ResolvedConfig {
  const argv = flags.trim() === '' ? [] : flags.trim().split(/\s+/);
  const { values, positionals } = parseArgs({ args: argv, options: configFlagOptions(), strict: true, allowPositionals: true });
  if (positionals.length > 0) throw new UsageError(`variant flags "${flags}": unexpected ${positionals[0]}`);
  const user = flagsToUserConfig(values, {}, preset);
  const config = resolveConfig({ ...user, seed, train: { ...user.train, ...(steps === null ? {} : { steps }) } }, preset);
  if (!isToyName(config.data.source) || config.data.source === 'spiral') {
    throw new UsageError(`preset ${preset} has no Gaussian modes (data ${config.data.source}); use toy-ring8 or toy-grid25`);
  }
  return config;
}

/** Train one run to the end and score `samples` fresh points. */
export async function runOne(config: ResolvedConfig, variant: string, samples: number, log: (line: string) => void): Promise<RunResult> {
  const run = new GanRun(config, await loadRealData(config));
  try {
    const t0 = performance.now();
    const { steps } = config.train;
    const every = Math.max(1, Math.round(steps / 4));
    while (run.step < steps) {
      await run.trainOnce();
      if (run.step % every === 0 && run.step < steps) log(`modes: ${config.preset} ${variant} seed ${config.seed}: step ${run.step}/${steps}`);
    }
    const seconds = (performance.now() - t0) / 1000;
    const points = sample(run.samplingGenerator, config.model, samples, new Rng(config.seed, 'modes-eval'));
    const stats = modeStats(config.data.source as 'ring8' | 'grid25', points)!;
    return {
      preset: config.preset,
      variant,
      seed: config.seed,
      steps,
      modes: stats.modesCovered,
      modesTotal: stats.counts.length,
      highQuality: stats.highQuality,
      seconds,
    };
  } finally {
    run.dispose();
  }
}

interface Summary {
  preset: string;
  variant: string;
  flags: string;
  runs: RunResult[];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const meets = (r: RunResult) => r.modes === r.modesTotal && r.highQuality >= TARGET_HQ && r.seconds <= TARGET_SECONDS;

export function renderModes(summaries: Summary[], info: { date: string; command: string; backend: string; samples: number }): string {
  const m = machine();
  const rows = summaries.map(({ preset, variant, runs }) => {
    const k = runs[0]!.modesTotal;
    const modes = runs.map((r) => r.modes);
    const hq = runs.map((r) => r.highQuality * 100);
    const secs = runs.map((r) => r.seconds);
    return (
      `| ${preset} | ${variant} | ${runs.length} | ${mean(modes).toFixed(1)} / ${k} (min ${Math.min(...modes)}) | ` +
      `${mean(hq).toFixed(1)}% (min ${Math.min(...hq).toFixed(1)}%) | ${mean(secs).toFixed(0)} (max ${Math.max(...secs).toFixed(0)}) | ` +
      `${runs.filter(meets).length} / ${runs.length} |`
    );
  });
  const variants = [...new Set(summaries.map((s) => s.variant))];
  return [
    `Measured ${info.date} on ${m.cpu} (${m.cores} cores), Node ${m.node}, backend ${info.backend}. ${info.samples} samples per run; ` +
      `high quality = within 3 std of the nearest mode; a mode is captured when it is the nearest mode of a high-quality sample. ` +
      `Target: every mode, >= ${TARGET_HQ * 100}% high quality, <= ${TARGET_SECONDS / 60} minutes, in every seed.`,
    '',
    `Command: \`${info.command}\``,
    '',
    ...variants.map((v) => {
      const flags = summaries.find((s) => s.variant === v)!.flags;
      return `- \`${v}\`: ${VARIANTS[v]?.flags === flags ? VARIANTS[v]!.about : 'custom'}${flags.trim() ? ` (\`${flags.trim()}\`)` : ''}`;
    }),
    '',
    '| preset | variant | seeds | modes captured (mean, min) | high quality (mean, min) | seconds (mean, max) | seeds meeting the target |',
    '|---|---|--:|--:|--:|--:|--:|',
    ...rows,
    '',
    'Published numbers quoted in issue 5 (the PacGAN and VEEGAN papers; 2,500 samples):',
    '',
    '| model | ring: modes | ring: high quality | grid: modes | grid: high quality |',
    '|---|--:|--:|--:|--:|',
    ...PUBLISHED,
  ].join('\n');
}

const MARKERS = {
  begin: '<!-- modes:begin (written by `npm run modes -- --write-md`; edits inside are replaced) -->',
  end: '<!-- modes:end -->',
};

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      preset: { type: 'string' },
      variant: { type: 'string', multiple: true },
      seeds: { type: 'string' },
      steps: { type: 'string' },
      samples: { type: 'string' },
      backend: { type: 'string' },
      json: { type: 'boolean', default: false },
      'write-md': { type: 'boolean', default: false },
      'md-path': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const int = (flag: string, raw: string | undefined, dflt: number, min: number): number => {
    if (raw === undefined) return dflt;
    if (!/^\d+$/.test(raw) || Number(raw) < min) throw new UsageError(`--${flag} expects an integer >= ${min}, got ${JSON.stringify(raw)}`);
    return Number(raw);
  };
  const presets = (values.preset ?? DEFAULT_PRESETS.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  const variants = parseVariants(values.variant ?? []);
  const seeds = int('seeds', values.seeds, 5, 1);
  const steps = values.steps === undefined ? null : int('steps', values.steps, 0, 1);
  const samples = int('samples', values.samples, 2500, 1);
  const backendName = (values.backend ?? 'auto') as BackendChoice;
  if (!['auto', 'native', 'wasm', 'cpu'].includes(backendName)) throw new UsageError(`--backend expects auto, native, wasm or cpu, got ${JSON.stringify(values.backend)}`);
  if (values['md-path'] !== undefined && !values['write-md']) throw new UsageError('--md-path needs --write-md');
  // Resolve every config first, so a bad flag fails before hours of training.
  const plan = presets.flatMap((preset) => variants.flatMap((v) => Array.from({ length: seeds }, (_, i) => ({ v, config: variantConfig(preset, v.flags, i + 1, steps) }))));
  const backend = await setupBackend(backendName);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(`modes: ${plan.length} runs on ${backend.name}`);
  const summaries: Summary[] = [];
  for (const { v, config } of plan) {
    const r = await runOne(config, v.name, samples, log);
    log(`modes: ${r.preset} ${r.variant} seed ${r.seed}: ${r.modes}/${r.modesTotal} modes, ${(r.highQuality * 100).toFixed(1)}% high quality, ${r.seconds.toFixed(1)} s`);
    if (values.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    let s = summaries.find((x) => x.preset === r.preset && x.variant === r.variant);
    if (!s) summaries.push((s = { preset: r.preset, variant: r.variant, flags: v.flags, runs: [] }));
    s.runs.push(r);
    if (tf.memory().numTensors > 1000) log(`modes: warning: ${tf.memory().numTensors} live tensors`);
  }
  const command = `npm run modes -- ${argv.filter((a) => a !== '--json').join(' ')}`.trimEnd();
  const section = renderModes(summaries, { date: new Date().toISOString().slice(0, 10), command, backend: `${backend.name}${backend.threads ? ` (${backend.threads} threads)` : ''}`, samples });
  if (!values.json) process.stdout.write(`${section}\n`);
  if (values['write-md']) {
    const path = resolve(values['md-path'] ?? resolve(ROOT, 'BENCHMARKS.md'));
    writeSection(path, section, MARKERS);
    log(`modes: wrote ${path}`);
  }
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      if (e instanceof UsageError || isForgerError(e) || (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))) {
        process.stderr.write(`modes: ${(e as Error).message}\n`);
        process.exit(2);
      }
      throw e;
    },
  );
}
