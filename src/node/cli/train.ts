/** forger train: flags -> config -> trainRun(), with a progress bar and Ctrl-C that saves first. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_PRESET, PRESETS, resolveConfig, type UserConfig } from '../../core/config.ts';
import { ForgerError } from '../../core/errors.ts';
import { setupBackend } from '../backend/setup.ts';
import { findLatestCheckpoint, readCheckpointState } from '../run/checkpoint.ts';
import { describeConfig, nextRunDir, trainRun } from '../run/train.ts';
import { CONFIG_FLAGS, configFlagOptions, flagsToUserConfig } from './flags.ts';
import type { Io } from './main.ts';
import { parse } from './parse.ts';
import { Progress } from './progress.ts';

/** The exit status of a run the health check stopped (--on-collapse stop, or no rollback left). */
export const EXIT_UNHEALTHY = 3;

const METAVAR = { int: 'N', num: 'X', str: 'NAME', list: 'A,B', onoff: 'on|off', layer: 'N|NAME' } as const;

const HELP = `usage: forger train [--preset NAME] [--config run.json] [options]

Trains a GAN and writes runs/<preset>-<n>/ (or --out DIR): samples/*.png (fixed-noise grids,
or real-vs-generated scatters for 2D data), charts/training.png, checkpoints/, config.json.
Ctrl-C stops after saving a checkpoint (exit 130); --resume DIR continues from the latest one.
A run the health check stops (--on-collapse stop, or after --max-rollbacks) exits with 3.

  --preset NAME        ${Object.keys(PRESETS).join(' | ')} (default ${DEFAULT_PRESET})
  --config FILE        JSON config (keys as in config.json), laid over the preset; flags win
  --out DIR            run directory
  --resume DIR         continue the run in DIR (training options may change; model and data may not)
  --image-size N       image side (square images)
  --channels N         1 (grayscale) or 3 (RGB)
${CONFIG_FLAGS.map((f) => `  ${`--${f.flag} ${f.metavar ?? METAVAR[f.kind]}`.padEnd(20)} ${f.help}`).join('\n')}
`;

export async function presetsCommand(_argv: string[], io: Io): Promise<number> {
  for (const [name, p] of Object.entries(PRESETS)) io.out(`${name.padEnd(16)} ${p.description}\n`);
  return 0;
}

async function readConfigFile(path: string): Promise<UserConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ForgerError('E_CONFIG', `cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as UserConfig;
  } catch (e) {
    throw new ForgerError('E_CONFIG', `config file ${path} is not a JSON object: ${(e as Error).message.split('\n')[0]}`);
  }
}

export async function trainCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    preset: { type: 'string' },
    config: { type: 'string' },
    out: { type: 'string' },
    resume: { type: 'string' },
    ...configFlagOptions(),
  });
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  if (positionals.length > 0) throw new ForgerError('E_USAGE', `unexpected argument ${JSON.stringify(positionals[0])} (see forger train --help)`);
  const fileConfig = typeof values.config === 'string' ? await readConfigFile(values.config) : {};
  const resume = values.resume as string | undefined;
  let preset = (values.preset as string | undefined) ?? fileConfig.preset ?? DEFAULT_PRESET;
  if (resume) {
    const saved = await readCheckpointState(await findLatestCheckpoint(resume));
    if (values.preset !== undefined && values.preset !== saved.config.preset) {
      throw new ForgerError('E_CHECKPOINT', `${resume} is a ${saved.config.preset} run, not ${String(values.preset)}; drop --preset to resume it`);
    }
    preset = saved.config.preset;
    if (values.out !== undefined && values.out !== resume) throw new ForgerError('E_USAGE', '--out cannot be combined with --resume (a resumed run writes to its own directory)');
  }
  const user = flagsToUserConfig(values, fileConfig, preset);
  delete user.out;
  const config = resolveConfig({ ...user, preset }, preset);

  const runDir = resume ?? (values.out as string | undefined) ?? (await nextRunDir('runs', preset));
  const backend = await setupBackend(config.backend);
  io.err(`forger: backend ${backend.name}, ${backend.threads} thread${backend.threads === 1 ? '' : 's'}${backend.note ? ` (${backend.note})` : ''}\n`);

  let stopRequested = false;
  const onSigint = () => {
    if (stopRequested) {
      io.err('\nforger: second Ctrl-C, exiting without a final checkpoint\n');
      process.exit(130);
    }
    stopRequested = true;
    io.err('\nforger: stopping after this step and saving a checkpoint (Ctrl-C again to quit at once)\n');
  };
  process.on('SIGINT', onSigint);
  let progress: Progress | null = null;
  try {
    const result = await trainRun({
      config,
      runDir,
      resume: Boolean(resume),
      overrides: { ...user, preset },
      // On a terminal the progress bar owns the current line: a warning (mid-run) starts a new one.
      logger: { info: (m) => io.err(`forger: ${m}\n`), warn: (m) => io.err(`${io.isTTY ? '\n' : ''}forger: warning: ${m}\n`) },
      onStart: (resolved, startStep) => {
        io.out(`forger: run ${runDir}\n${describeConfig(resolved).map((l) => `  ${l}\n`).join('')}`);
        progress = new Progress({ total: resolved.train.steps, start: startStep, tty: io.isTTY, columns: process.stdout.columns, logEvery: resolved.train.logEvery, write: io.out });
      },
      onStep: (row) => progress?.update(row),
      shouldStop: () => stopRequested,
    });
    (progress as Progress | null)?.end();
    const latest = result.checkpoint ? ` checkpoint ${result.checkpoint}` : '';
    if (result.unhealthy) {
      io.out(`forger: stopped at step ${result.step} by the health check (${result.unhealthy.kind});${latest}\n`);
      io.out(`  samples ${join(runDir, 'samples', 'latest.png')}, charts ${join(runDir, 'charts', 'training.png')}\n`);
      io.err(`forger train: stopped: ${result.unhealthy.message}\n`);
      return EXIT_UNHEALTHY;
    }
    io.out(`forger: ${result.stoppedEarly ? 'stopped' : 'done'} at step ${result.step};${latest}\n`);
    io.out(`  samples ${join(runDir, 'samples', 'latest.png')}, charts ${join(runDir, 'charts', 'training.png')}\n`);
    if (result.stoppedEarly) io.out(`  continue with: forger train --resume ${runDir}\n`);
    return result.stoppedEarly ? 130 : 0;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
