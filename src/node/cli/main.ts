/**
 * forger <command> [options]: the only place that prints and exits.
 * Every command is a thin adapter: flags -> config -> a library call.
 */
import { isForgerError } from '../../core/errors.ts';
import { flagNameFor } from './flags.ts';

const USAGE = `forger: train GANs on images and 2D data, sample, walk the latent space, score images.

usage: forger <command> [options]

commands:
  train [--preset NAME] [options]      train a GAN (default preset mnist-dcgan); see forger train --help
  sample RUN [--n 64] [--grid F.png | --dir DIR | --format csv|json] [--seed S] [--class C]
  interpolate RUN [--steps 10] [--out walk.gif|walk.png] [--mode slerp|lerp]
  score RUN IMAGE_OR_DIR... [--json]   probability that each image is real, by the discriminator
  info RUN [--json]                    architecture, config and progress of a run
  presets                              list the presets

Run forger <command> --help for a command's options.
Exit status: 0 done, 1 data/checkpoint/I/O error or divergence, 2 usage or config error,
3 stopped by the health check (train --on-collapse), 130 stopped by Ctrl-C.`;

export interface Io {
  out(s: string): void;
  err(s: string): void;
  isTTY: boolean;
}

type Command = (argv: string[], io: Io) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  train: async () => (await import('./train.ts')).trainCommand,
  sample: async () => (await import('./sample.ts')).sampleCommand,
  interpolate: async () => (await import('./interpolate.ts')).interpolateCommand,
  score: async () => (await import('./score.ts')).scoreCommand,
  info: async () => (await import('./info.ts')).infoCommand,
  presets: async () => (await import('./train.ts')).presetsCommand,
};

/**
 * Turn "train.steps 0 is invalid" into "--steps 0 is invalid" where a flag exists (the key
 * everywhere in the message: "model.spectralNorm "d" cannot change on resume: ... trained
 * with model.spectralNorm "off"" names the flag both times).
 */
function userMessage(msg: string): string {
  const m = /^([a-zA-Z]+\.[a-zA-Z.]+) /.exec(msg);
  const flag = m ? flagNameFor(m[1]!) : null;
  return flag ? msg.split(`${m![1]!} `).join(`${flag} `) : msg;
}

export async function main(argv: string[], io: Io): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    io.out(USAGE + '\n');
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === '--version' || cmd === '-v') {
    io.out('forger 0.1.0\n');
    return 0;
  }
  const load = COMMANDS[cmd];
  if (!load) {
    io.err(`forger: unknown command "${cmd}"; use one of ${Object.keys(COMMANDS).join(', ')} (forger --help)\n`);
    return 2;
  }
  try {
    return await (await load())(rest, io);
  } catch (e) {
    if (isForgerError(e)) {
      io.err(`forger ${cmd}: error: ${userMessage(e.message)}\n`);
      return e.code === 'E_USAGE' || e.code === 'E_CONFIG' ? 2 : 1;
    }
    // Not ours: one line, unless FORGER_DEBUG asks for the stack.
    const err = e as Error;
    const first = String(err?.message ?? err).split('\n')[0]!.slice(0, 300);
    io.err(`forger ${cmd}: unexpected error: ${first}${process.env.FORGER_DEBUG ? `\n${err?.stack ?? ''}` : ' (set FORGER_DEBUG=1 for details)'}\n`);
    return 1;
  }
}

/** Entry point for bin/forger.js. */
export async function run(): Promise<void> {
  const io: Io = {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    isTTY: Boolean(process.stdout.isTTY),
  };
  const code = await main(process.argv.slice(2), io);
  process.exitCode = code;
}
