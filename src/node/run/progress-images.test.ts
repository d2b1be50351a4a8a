import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LossName } from '../../core/config.ts';
import type { HistoryRow } from '../../core/trainer.ts';
import { frameY, lineChartFrame } from '../io/plot.ts';
import { dOutputChart, trainingCharts } from './progress-images.ts';

/** 50 steps with D(x) and D(G(z)) moving between the given ends. */
function history(dReal: [number, number], dFake: [number, number]): HistoryRow[] {
  return Array.from({ length: 50 }, (_, i) => {
    const t = i / 49;
    return { step: i + 1, lossD: 1, lossG: 1, dReal: dReal[0] + t * (dReal[1] - dReal[0]), dFake: dFake[0] + t * (dFake[1] - dFake[0]), imgPerSec: 1, elapsed: i };
  });
}

test('BCE losses: D outputs are probabilities on a 0-1 axis with the 0.5 line', () => {
  for (const loss of ['non-saturating', 'minimax'] as const) {
    const opts = dOutputChart(history([0.6, 0.9], [0.4, 0.1]), loss);
    assert.deepEqual(opts.yRange, [0, 1]);
    assert.deepEqual(opts.hLines, [{ y: 0.5, label: 'D cannot tell' }]);
    assert.doesNotMatch(opts.title, /raw/);
  }
});

test('raw-score losses: the axis fits the data, no probability line (lsgan keeps its 0.5 optimum)', () => {
  const cases: [LossName, [number, number], [number, number], number[]][] = [
    ['hinge', [0.5, 6], [-0.5, -7], []],
    ['wgan-gp', [10, 40], [-5, -60], []],
    ['lsgan', [0.6, 0.95], [0.4, 0.1], [0.5]],
  ];
  for (const [loss, real, fake, lines] of cases) {
    const opts = dOutputChart(history(real, fake), loss);
    assert.equal(opts.yRange, undefined, loss);
    assert.deepEqual((opts.hLines ?? []).map((h) => h.y), lines, loss);
    assert.match(opts.title, new RegExp(`raw scores \\(${loss}\\)`));
    const f = lineChartFrame(opts);
    const lo = Math.min(real[0], real[1], fake[0], fake[1]);
    const hi = Math.max(real[0], real[1], fake[0], fake[1]);
    // Every value is inside the plot, and the data fill most of its height.
    assert.ok(f.yRange[0] <= lo && f.yRange[1] >= hi, `${loss}: y range ${f.yRange} holds [${lo}, ${hi}]`);
    assert.ok((hi - lo) / (f.yRange[1] - f.yRange[0]) > 0.75, `${loss}: y range ${f.yRange} fits [${lo}, ${hi}]`);
    assert.ok(frameY(f, hi) >= f.area.y0 && frameY(f, lo) < f.area.y1);
  }
});

test('trainingCharts draws every loss', () => {
  for (const loss of ['non-saturating', 'hinge', 'lsgan', 'wgan-gp'] as const) {
    const img = trainingCharts(history([1, 5], [-1, -5]), 'run', loss);
    assert.equal(img.width, 800);
    assert.equal(img.height, 720);
  }
});
