/** forger interpolate RUN: walks through latent space, as a grid (one walk per row) or an animated GIF. */
import { extname, join } from 'node:path';
import { isConditional, isImageModel } from '../../core/config.ts';
import { classLabel } from '../../core/labels.ts';
import { ForgerError } from '../../core/errors.ts';
import { makeGrid } from '../../core/image.ts';
import { lerp, sampleNoise, slerp } from '../../core/noise.ts';
import { Rng } from '../../core/rng.ts';
import { generate, toPixels } from '../../core/sample.ts';
import { setupBackend } from '../backend/setup.ts';
import { writeGif } from '../io/gif.ts';
import { writePng } from '../io/png.ts';
import { loadRun } from '../run/load.ts';
import { gridLayout } from '../run/progress-images.ts';
import type { Io } from './main.ts';
import { choiceOption, intOption, parse } from './parse.ts';
import { classOption, pickSeed } from './sample.ts';

const HELP = `usage: forger interpolate RUN [options]

  --steps N        images along each walk, endpoints included (default 10)
  --rows N         independent walks (rows of the grid, cells of each GIF frame; default 1 for .gif, 8 for .png)
  --mode M         slerp (default; keeps |z| typical of N(0,1)) | lerp
  --seed S         endpoints from this seed (default: random, printed)
  --from A --to B  endpoints z_A, z_B drawn from seeds A and B (one walk)
  --class C        class-conditional runs: every walk in class C (index or name); default: walk r in class r mod K
  --out FILE       .png grid or .gif animation (default RUN/samples/walk-seed<S>.gif)
  --fps N          GIF frames per second (default 8)
  --backend B      auto | native | wasm | cpu
`;

/** rows * steps latent vectors, each row walking from its own a to b. */
export function latentWalk(a: Float32Array, b: Float32Array, dim: number, steps: number, mode: 'lerp' | 'slerp'): Float32Array {
  const rows = a.length / dim;
  const out = new Float32Array(rows * steps * dim);
  const f = mode === 'slerp' ? slerp : lerp;
  for (let r = 0; r < rows; r++) {
    const za = a.subarray(r * dim, (r + 1) * dim);
    const zb = b.subarray(r * dim, (r + 1) * dim);
    for (let s = 0; s < steps; s++) out.set(f(za, zb, steps === 1 ? 0 : s / (steps - 1)), (r * steps + s) * dim);
  }
  return out;
}

export async function interpolateCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    steps: { type: 'string' },
    rows: { type: 'string' },
    mode: { type: 'string' },
    seed: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    class: { type: 'string' },
    out: { type: 'string' },
    fps: { type: 'string' },
    backend: { type: 'string' },
  });
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  const runDir = positionals[0];
  if (!runDir || positionals.length > 1) throw new ForgerError('E_USAGE', 'expected one run directory: forger interpolate RUN [options]');
  const steps = intOption(values, 'steps', 10, 2, 1000);
  const mode = choiceOption(values, 'mode', ['slerp', 'lerp'] as const, 'slerp');
  const seed = pickSeed(values);
  const out = (values.out as string | undefined) ?? join(runDir, 'samples', `walk-seed${seed}.gif`);
  const ext = extname(out).toLowerCase();
  if (ext !== '.gif' && ext !== '.png') throw new ForgerError('E_USAGE', `--out ${out} must end in .gif or .png`);
  const seeded = values.from !== undefined || values.to !== undefined;
  if (seeded && (values.from === undefined || values.to === undefined)) throw new ForgerError('E_USAGE', '--from and --to go together');
  const rows = seeded ? 1 : intOption(values, 'rows', ext === '.gif' ? 1 : 8, 1, 256);
  const fps = intOption(values, 'fps', 8, 1, 60);
  await setupBackend(choiceOption(values, 'backend', ['auto', 'native', 'wasm', 'cpu'] as const, 'auto'));
  const run = await loadRun(runDir);
  try {
    const model = run.state.config.model;
    if (!isImageModel(model)) throw new ForgerError('E_CONFIG', `${runDir} is a 2D model; interpolate makes images (use forger sample for points)`);
    const dim = model.latentDim;
    const draw = (s: number, stream: string) => sampleNoise(rows, dim, model.noise, new Rng(s, stream));
    const a = seeded ? draw(intOption(values, 'from', 0, 0, 2 ** 32 - 1), 'endpoint') : draw(seed, 'walk-a');
    const b = seeded ? draw(intOption(values, 'to', 0, 0, 2 ** 32 - 1), 'endpoint') : draw(seed, 'walk-b');
    // A conditional G walks z with the class held fixed: --class, or class r mod K for walk r
    const label = classOption(values, model, runDir);
    const labels = isConditional(model) ? Int32Array.from({ length: rows * steps }, (_, i) => label ?? Math.floor(i / steps) % model.numClasses) : null;
    const pixels = toPixels(generate(run.generator, latentWalk(a, b, dim, steps, mode), dim, { labels }), model);
    const shape = model.dataShape as [number, number, number];
    const per = shape[0] * shape[1] * shape[2];
    const scale = Math.max(gridLayout(shape[0]).scale, shape[0] < 64 ? 3 : 1);
    if (ext === '.png') {
      await writePng(out, makeGrid(pixels, shape, { columns: steps, ...gridLayout(shape[0]) }));
    } else {
      // Frame s shows step s of every walk; the walk plays forward then back.
      const frames = [];
      for (let s = 0; s < steps; s++) {
        const cells = new Uint8Array(rows * per);
        for (let r = 0; r < rows; r++) cells.set(pixels.subarray((r * steps + s) * per, (r * steps + s + 1) * per), r * per);
        frames.push(makeGrid(cells, shape, { scale, gap: rows > 1 ? 2 : 0 }));
      }
      await writeGif(out, [...frames, ...frames.slice(1, -1).reverse()], { delayMs: Math.round(1000 / fps), loop: true });
    }
    const classes = labels === null ? '' : label !== null ? `, class ${classLabel(model.classNames, label)}` : `, walk r in class r mod ${model.numClasses}`;
    io.out(`forger: wrote ${out} (${rows} walk${rows > 1 ? 's' : ''} of ${steps} steps, ${mode}, ${seeded ? `seeds ${String(values.from)} -> ${String(values.to)}` : `seed ${seed}`}${classes})\n`);
    return 0;
  } finally {
    run.dispose();
  }
}
