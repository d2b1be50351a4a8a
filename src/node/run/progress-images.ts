/** Pictures of a run in progress: the fixed-noise grid (or 2D scatter) and the training curves. */
import { join } from 'node:path';
import { dataRange, isBceLoss, isImageModel, type LossName } from '../../core/config.ts';
import { makeGrid, toUint8, type Image8 } from '../../core/image.ts';
import { Rng } from '../../core/rng.ts';
import { sampleToy, toyRange, type ToyName } from '../../core/toy2d.ts';
import type { GanRun, HistoryRow } from '../../core/trainer.ts';
import { chartPanel, lineChart, scatter, type LineChartOptions } from '../io/plot.ts';
import { writePng } from '../io/png.ts';
import { checkpointName } from './checkpoint.ts';

/**
 * Upscale tiny images so a grid is visible (28x28 digits become 56x56 cells,
 * 3x3 circles 63x63), with wider gaps between big cells.
 */
export function gridLayout(size: number): { scale: number; gap: number } {
  const scale = Math.max(1, Math.floor(64 / size));
  return { scale, gap: scale >= 8 ? 8 : 2 };
}

/** The fixed-noise batch as a grid image; a conditional run's has one row per class, in class order. */
export function sampleGrid(run: GanRun): Image8 {
  const m = run.config.model;
  const pixels = toUint8(run.sampleFixed(), dataRange(m)!);
  const shape = m.dataShape as [number, number, number];
  return makeGrid(pixels, shape, { columns: run.gridColumns(), ...gridLayout(shape[0]) });
}

/** Real vs generated points for 2D data. */
export function pointScatter(run: GanRun, step: number): Image8 {
  const source = run.config.data.source as ToyName;
  const fake = run.sampleFixed();
  const real = sampleToy(source, fake.length / 2, new Rng(run.config.seed, 'plot-real'));
  return scatter({
    title: `${run.config.preset} step ${step}`,
    sets: [
      { name: 'real', points: real, color: [90, 90, 90] },
      { name: 'generated', points: fake, color: [220, 60, 40] },
    ],
    range: toyRange(source),
  });
}

/** Trailing mean over `w` points, so thousands of noisy steps read as a curve. */
function smooth(y: number[], w: number): number[] {
  const out: number[] = [];
  let sum = 0;
  for (let i = 0; i < y.length; i++) {
    sum += y[i]!;
    if (i >= w) sum -= y[i - w]!;
    out.push(sum / Math.min(i + 1, w));
  }
  return out;
}

/**
 * The D-output panel. For the BCE losses D(x) and D(G(z)) are mean probabilities: a 0-1 axis
 * with D's equilibrium 0.5 marked. For the others they are mean raw scores, on an axis fitted
 * to the data: lsgan (targets 1 for reals, 0 for fakes) has its optimal D at
 * p_data / (p_data + p_g) (Mao et al. 2017, a = 0, b = 1), 0.5 again once G matches the data,
 * so the line stays; hinge and wgan-gp have no such value (with p_g = p_data any hinge score in
 * [-1, 1] is optimal, and a critic's scores are defined up to a constant), so no line.
 */
export function dOutputChart(history: HistoryRow[], loss: LossName, note = ''): LineChartOptions {
  const x = history.map((r) => r.step);
  const w = Math.max(1, Math.round(history.length / 100));
  const series = [
    { name: 'D(x)', x, y: smooth(history.map((r) => r.dReal), w) },
    { name: 'D(G(z))', x, y: smooth(history.map((r) => r.dFake), w) },
  ];
  if (isBceLoss(loss)) {
    return { title: `D(x) and D(G(z))${note}`, series, yRange: [0, 1], hLines: [{ y: 0.5, label: 'D cannot tell' }], xLabel: 'step' };
  }
  const title = `D(x), D(G(z)): raw scores (${loss})${note}`;
  if (loss === 'lsgan') return { title, series, hLines: [{ y: 0.5, label: 'D cannot tell (lsgan optimum)' }], xLabel: 'step' };
  return { title, series, xLabel: 'step' };
}

/** Losses and D outputs against step. */
export function trainingCharts(history: HistoryRow[], title: string, loss: LossName = 'non-saturating'): Image8 {
  const x = history.map((r) => r.step);
  const w = Math.max(1, Math.round(history.length / 100));
  const s = (k: keyof HistoryRow) => smooth(history.map((r) => r[k]), w);
  const note = w > 1 ? ` (mean of ${w} steps)` : '';
  return chartPanel([
    lineChart({
      title: `${title}: losses${note}`,
      series: [
        { name: 'loss D', x, y: s('lossD') },
        { name: 'loss G', x, y: s('lossG') },
      ],
      xLabel: 'step',
    }),
    lineChart(dOutputChart(history, loss, note)),
  ]);
}

/** samples/step-N.png + samples/latest.png, and charts/training.png. */
export async function writeProgressImages(runDir: string, run: GanRun, step: number): Promise<void> {
  const img = isImageModel(run.config.model) ? sampleGrid(run) : pointScatter(run, step);
  await writePng(join(runDir, 'samples', `${checkpointName(step)}.png`), img);
  await writePng(join(runDir, 'samples', 'latest.png'), img);
  if (run.history.length > 0) await writePng(join(runDir, 'charts', 'training.png'), trainingCharts(run.history, run.config.preset, run.config.train.loss));
}
