/** forger sample RUN: images as a grid or files, points as CSV/JSON or a scatter. */
import { join } from 'node:path';
import { isConditional, isImageModel, type ModelConfig } from '../../core/config.ts';
import { ForgerError } from '../../core/errors.ts';
import { imageAt, makeGrid } from '../../core/image.ts';
import { classLabel, listClasses, parseClass, perClassFor } from '../../core/labels.ts';
import { Rng } from '../../core/rng.ts';
import { sample, sampleClassRows, toPixels } from '../../core/sample.ts';
import { isToyName, modeStats, sampleToy, toyRange } from '../../core/toy2d.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { scatter } from '../io/plot.ts';
import { writePng } from '../io/png.ts';
import { setupBackend } from '../backend/setup.ts';
import { loadRun } from '../run/load.ts';
import { gridLayout } from '../run/progress-images.ts';
import type { Io } from './main.ts';
import { choiceOption, intOption, parse } from './parse.ts';

const HELP = `usage: forger sample RUN [options]

  --n N             how many samples (default 64); a class-conditional run without --class
                    makes ceil(N / K) of each of its K classes, one row per class
  --class C         class-conditional runs: only class C (an index 0..K-1 or a class name)
  --seed S          noise seed (default: random, printed)
  --grid FILE.png   one grid image (default RUN/samples/sample-seed<S>.png)
  --dir DIR         one PNG per image instead of a grid
  --columns N       grid columns
  --format F        2D models: csv | json (points, to --out or stdout) | png (scatter)
  --out FILE        where csv/json/png output goes
  --backend B       auto | native | wasm | cpu
`;

/** --class C of a conditional run as a label index; null when not given. Errors name the valid classes. */
export function classOption(values: Record<string, unknown>, model: ModelConfig, runDir: string): number | null {
  const raw = values['class'];
  if (raw === undefined) return null;
  if (!isConditional(model)) throw new ForgerError('E_USAGE', `--class applies to class-conditional runs; ${runDir} was trained with --conditional off`);
  return parseClass(String(raw), model.classNames, '--class');
}

export function pickSeed(values: Record<string, unknown>): number {
  return values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : intOption(values, 'seed', 0, 0, 2 ** 32 - 1);
}

export async function sampleCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    n: { type: 'string' },
    seed: { type: 'string' },
    grid: { type: 'string' },
    dir: { type: 'string' },
    columns: { type: 'string' },
    class: { type: 'string' },
    format: { type: 'string' },
    out: { type: 'string' },
    backend: { type: 'string' },
  });
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  const runDir = positionals[0];
  if (!runDir || positionals.length > 1) throw new ForgerError('E_USAGE', 'expected one run directory: forger sample RUN [options]');
  const n = intOption(values, 'n', 64, 1, 100000);
  const seed = pickSeed(values);
  await setupBackend(choiceOption(values, 'backend', ['auto', 'native', 'wasm', 'cpu'] as const, 'auto'));
  const run = await loadRun(runDir);
  try {
    const model = run.state.config.model;
    const label = classOption(values, model, runDir);
    // A conditional run: n samples of --class, or else one row of ceil(n / K) per class
    const perClass = isConditional(model) && label === null ? perClassFor(n, model.numClasses) : 0;
    const rng = new Rng(seed, 'sample');
    const values32 = perClass > 0
      ? sampleClassRows(run.generator, model, perClass, rng)
      : sample(run.generator, model, n, rng, label === null ? null : new Int32Array(n).fill(label));
    const count = perClass > 0 ? perClass * model.numClasses : n;
    const labelOf = (i: number): number | null => (perClass > 0 ? Math.floor(i / perClass) : label);
    const what = perClass > 0 ? `, ${perClass} per class; rows: ${listClasses(model.classNames, 256)}` : label !== null ? `, class ${classLabel(model.classNames, label)}` : '';
    if (!isImageModel(model)) {
      const format = choiceOption(values, 'format', ['csv', 'json', 'png'] as const, 'csv');
      const pts = Array.from({ length: n }, (_, i) => [values32[2 * i]!, values32[2 * i + 1]!] as const);
      const source = run.state.config.data.source;
      const stats = isToyName(source) ? modeStats(source, values32) : null; // null for the spiral
      if (stats) {
        const k = stats.counts.length;
        io.err(`forger: ${stats.modesCovered}/${k} modes captured, ${(stats.highQuality * 100).toFixed(1)}% high quality (within 3 std of a mode)\n`);
      }
      if (format === 'png') {
        const out = (values.out as string | undefined) ?? (values.grid as string | undefined) ?? join(runDir, 'samples', `sample-seed${seed}.png`);
        const real = isToyName(source) ? [{ name: 'real', points: sampleToy(source, n, new Rng(seed, 'real')), color: [90, 90, 90] as const }] : [];
        await writePng(
          out,
          scatter({
            title: `${run.state.config.preset}: ${n} samples, seed ${seed}`,
            sets: [...real, { name: 'generated', points: values32, color: [220, 60, 40] }],
            ...(isToyName(source) ? { range: toyRange(source) } : {}),
          }),
        );
        io.out(`forger: wrote ${out} (${n} points, seed ${seed})\n`);
        return 0;
      }
      const text =
        format === 'csv' ? `x,y\n${pts.map(([x, y]) => `${x},${y}`).join('\n')}\n` : JSON.stringify({ seed, points: pts }) + '\n';
      if (typeof values.out === 'string') {
        await writeFileAtomic(values.out, text);
        io.err(`forger: wrote ${values.out} (${n} points, seed ${seed})\n`);
      } else {
        io.out(text);
      }
      return 0;
    }
    if (values.format !== undefined && values.format !== 'png') throw new ForgerError('E_USAGE', `--format ${String(values.format)} is for 2D models; this run makes images`);
    const shape = model.dataShape as [number, number, number];
    const pixels = toPixels(values32, model);
    if (typeof values.dir === 'string') {
      for (let i = 0; i < count; i++) {
        const c = labelOf(i);
        await writePng(join(values.dir, `sample-${String(i).padStart(4, '0')}${c === null ? '' : `-class${c}`}.png`), imageAt(pixels, shape, i));
      }
      io.out(`forger: wrote ${count} images to ${values.dir} (seed ${seed}${what})\n`);
      return 0;
    }
    const out = (values.grid as string | undefined) ?? join(runDir, 'samples', `sample-seed${seed}${label === null ? '' : `-class${label}`}.png`);
    const columns = values.columns === undefined ? (perClass > 0 ? perClass : undefined) : intOption(values, 'columns', 8, 1, 10000);
    await writePng(out, makeGrid(pixels, shape, { columns, ...gridLayout(shape[0]) }));
    io.out(`forger: wrote ${out} (${count} images, seed ${seed}${what})\n`);
    return 0;
  } finally {
    run.dispose();
  }
}
