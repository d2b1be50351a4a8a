import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ForgerError } from '../../core/errors.ts';
import type { Image8 } from '../../core/image.ts';
import { formatTicks, niceStep, ticksFor } from './axis.ts';
import { chartPanel, frameX, frameY, lineChart, lineChartFrame, scatter, scatterFrame } from './plot.ts';
import type { LineChartOptions, Rgb } from './plot.ts';

const MAGENTA: Rgb = [200, 0, 120];
const WHITE = [255, 255, 255];

function pixel(img: Image8, x: number, y: number): number[] {
  const o = (Math.floor(y) * img.width + Math.floor(x)) * img.channels;
  return [...img.data.subarray(o, o + img.channels)];
}

/** How many pixels in rows [y0, y1) are exactly `color`. */
function countColor(img: Image8, color: Rgb, y0 = 0, y1 = img.height): number {
  let n = 0;
  for (let y = y0; y < y1; y++) for (let x = 0; x < img.width; x++) if (pixel(img, x, y).every((v, k) => v === color[k])) n++;
  return n;
}

test('lineChart: size, RGB, white background', () => {
  for (const [width, height] of [[800, 360], [320, 200]] as const) {
    const img = lineChart({ title: 'Losses', width, height, series: [{ name: 'loss D', x: [0, 1, 2], y: [1, 0.5, 0.7] }] });
    assert.equal(img.width, width);
    assert.equal(img.height, height);
    assert.equal(img.channels, 3);
    assert.equal(img.data.length, width * height * 3);
    assert.deepEqual(pixel(img, 0, 0), WHITE);
    assert.deepEqual(pixel(img, width - 1, height - 1), WHITE);
  }
  assert.equal(lineChart({ title: 't', series: [] }).width, 800, 'default width');
  assert.equal(lineChart({ title: 't', series: [] }).height, 360, 'default height');
});

test('a horizontal series at y = 0.5 lands on the row frameY(0.5), across the plot', () => {
  const opts: LineChartOptions = { title: 'D(x)', yRange: [0, 1], series: [{ name: 'D(x)', x: [0, 100], y: [0.5, 0.5], color: MAGENTA }] };
  const img = lineChart(opts);
  const f = lineChartFrame(opts);
  const row = Math.floor(frameY(f, 0.5));
  // With yRange [0, 1], 0.5 is halfway between the frame's top and bottom rows.
  assert.ok(Math.abs(row - (f.area.y0 + f.area.y1 - 1) / 2) <= 1);
  for (let x = Math.ceil(frameX(f, 0)); x < frameX(f, 100); x += 7) {
    assert.deepEqual(pixel(img, x, row), [...MAGENTA], `column ${x}`);
    assert.notDeepEqual(pixel(img, x, row - 3), [...MAGENTA]);
    assert.notDeepEqual(pixel(img, x, row + 3), [...MAGENTA]);
  }
});

test('a diagonal passes through the expected pixels', () => {
  const opts: LineChartOptions = { title: 'y = x', yRange: [0, 1], series: [{ name: 'y', x: [0, 1], y: [0, 1], color: MAGENTA }] };
  const img = lineChart(opts);
  const f = lineChartFrame(opts);
  for (const t of [0.1, 0.25, 0.5, 0.9]) {
    const [r, g, b] = pixel(img, frameX(f, t), frameY(f, t));
    assert.ok(Math.abs(r! - MAGENTA[0]) < 40 && g! < 60 && Math.abs(b! - MAGENTA[2]) < 40, `at ${t}: ${r},${g},${b}`);
  }
});

test('the dashed reference line alternates ink and gaps along its row', () => {
  const opts: LineChartOptions = { title: 'D', yRange: [0, 1], series: [], hLines: [{ y: 0.5, label: 'D = 0.5' }] };
  const img = lineChart(opts);
  const f = lineChartFrame(opts);
  const row = Math.floor(frameY(f, 0.5));
  const inked: boolean[] = [];
  for (let x = f.area.x0 + 1; x < f.area.x1 - 1; x++) inked.push(pixel(img, x, row)[0]! < 200);
  const changes = inked.filter((v, i) => i > 0 && v !== inked[i - 1]).length;
  assert.ok(changes > 40, `dash pattern changes ${changes} times`);
  assert.ok(inked.filter(Boolean).length > inked.length / 2, 'mostly ink');
});

test('NaN and Infinity are skipped: the line breaks there and the range ignores them', () => {
  const opts: LineChartOptions = {
    title: 'gap',
    series: [{ name: 's', x: [0, 1, 2, 3, 4], y: [0.2, 0.2, NaN, 0.8, Infinity], color: MAGENTA }],
  };
  const f = lineChartFrame(opts);
  assert.ok(f.yRange[0] < 0.2 && f.yRange[1] > 0.8 && f.yRange[1] < 1, `yRange ${f.yRange}`);
  const img = lineChart(opts);
  assert.deepEqual(pixel(img, frameX(f, 0.5), frameY(f, 0.2)), [...MAGENTA], 'the finite run is drawn');
  // Joining (1, 0.2) to (3, 0.8) would pass through (2, 0.5).
  assert.notDeepEqual(pixel(img, frameX(f, 2), frameY(f, 0.5)), [...MAGENTA], 'no line across the NaN');
  // The lone finite point (3, 0.8) between NaN and Infinity is kept as a dot.
  assert.deepEqual(pixel(img, frameX(f, 3), frameY(f, 0.8)), [...MAGENTA]);
});

test('degenerate input draws an empty chart instead of throwing', () => {
  const cases: LineChartOptions[] = [
    { title: 'no series', series: [] },
    { title: 'empty series', series: [{ name: 'a', x: [], y: [], color: MAGENTA }] },
    { title: 'all NaN', series: [{ name: 'a', x: [0, 1], y: [NaN, -Infinity], color: MAGENTA }] },
  ];
  for (const opts of cases) {
    const f = lineChartFrame(opts);
    assert.deepEqual(f.yRange, [0, 1], opts.title);
    const img = lineChart(opts);
    assert.equal(countColor(img, MAGENTA, f.area.y0, f.area.y1), 0, `${opts.title}: nothing plotted`);
  }
});

test('a constant series gets a range around it and shows up', () => {
  const opts: LineChartOptions = { title: 'c', series: [{ name: 'c', x: [0, 1, 2], y: [0.693, 0.693, 0.693], color: MAGENTA }] };
  const f = lineChartFrame(opts);
  assert.ok(f.yRange[0] < 0.693 && 0.693 < f.yRange[1]);
  assert.ok(f.yTicks.length >= 2);
  assert.deepEqual(pixel(lineChart(opts), frameX(f, 1), frameY(f, 0.693)), [...MAGENTA]);
});

test('data outside a fixed yRange is clipped to the plot', () => {
  const opts: LineChartOptions = { title: 'clip', yRange: [0, 1], series: [{ name: 'a', x: [0, 1], y: [0.5, 5], color: MAGENTA }] };
  const f = lineChartFrame(opts);
  const img = lineChart(opts);
  assert.ok(countColor(img, MAGENTA, f.area.y0, f.area.y1) > 20, 'drawn inside');
  // Between the legend (in the header) and the plot's top edge there is nothing.
  assert.equal(countColor(img, MAGENTA, f.area.y0 - 8, f.area.y0 - 1), 0, 'clipped at the top');
});

test('the legend shows each series colour above the plot', () => {
  const opts: LineChartOptions = {
    title: 'Losses',
    series: [
      { name: 'loss D', x: [0, 1], y: [0, 1], color: MAGENTA },
      { name: 'loss G', x: [0, 1], y: [1, 0], color: [0, 150, 0] },
    ],
  };
  const f = lineChartFrame(opts);
  const img = lineChart(opts);
  assert.ok(countColor(img, MAGENTA, 0, f.area.y0 - 2) >= 10);
  assert.ok(countColor(img, [0, 150, 0], 0, f.area.y0 - 2) >= 10);
});

test('mismatched x and y lengths are E_DATA', () => {
  assert.throws(
    () => lineChart({ title: 't', series: [{ name: 'loss D', x: [1, 2, 3], y: [1, 2] }] }),
    (e: unknown) => e instanceof ForgerError && e.code === 'E_DATA' && /"loss D" has 3 x values but 2 y values/.test(e.message),
  );
  assert.throws(() => lineChart({ title: 't', series: [], yRange: [1, 1] }), (e: unknown) => e instanceof ForgerError && e.code === 'E_CONFIG');
});

test('scatter: semi-transparent dots at the expected pixels, NaN skipped', () => {
  const color: Rgb = [0, 0, 255];
  const opts = {
    title: 'real vs fake',
    range: [-1, 1, -1, 1] as [number, number, number, number],
    sets: [{ name: 'real', color, points: new Float32Array([-0.6, 0.6, 0.5, -0.5, 0.5, -0.5, NaN, 0, 0, Infinity]) }],
  };
  const img = scatter(opts);
  const f = scatterFrame(opts);
  assert.equal(img.width, 520);
  assert.equal(img.height, 520);
  assert.deepEqual(pixel(img, 0, 0), WHITE);
  // The same chart without points (its "no data" note is mid-plot) shows what a dot is blended over.
  const empty = scatter({ ...opts, sets: [{ ...opts.sets[0]!, points: new Float32Array(0) }] });
  const blendOnce = (bg: number, k: number) => Math.round(bg + (color[k]! - bg) * 0.45);
  const at = (img8: Image8, px: number, py: number) => pixel(img8, frameX(f, px), frameY(f, py));
  assert.deepEqual(at(img, -0.6, 0.6), at(empty, -0.6, 0.6).map(blendOnce), 'one dot, opacity 0.45');
  // Two dots on one spot blend twice, so dense regions read darker.
  assert.deepEqual(at(img, 0.5, -0.5), at(empty, 0.5, -0.5).map(blendOnce).map(blendOnce), 'two dots');
  assert.ok(at(img, 0.5, -0.5)[0]! < at(img, -0.6, 0.6)[0]!);
  // Only non-finite points: nothing drawn, same as no points.
  const nonFinite = scatter({ ...opts, sets: [{ ...opts.sets[0]!, points: new Float32Array([NaN, 0, 0, Infinity, -Infinity, NaN]) }] });
  assert.deepEqual(nonFinite.data, empty.data);
});

test('scatter fits all sets by default with the same scale on both axes', () => {
  const opts = {
    title: 'fit',
    sets: [
      { name: 'a', color: [255, 0, 0] as Rgb, points: new Float32Array([-4, 0, 4, 0]) },
      { name: 'b', color: [0, 0, 255] as Rgb, points: new Float32Array([0, -1, 0, 1]) },
    ],
  };
  const f = scatterFrame(opts);
  assert.ok(f.xRange[0] < -4 && f.xRange[1] > 4 && f.yRange[0] < -1 && f.yRange[1] > 1);
  const unitsPerPx = (r: [number, number], px: number) => (r[1] - r[0]) / px;
  assert.ok(Math.abs(unitsPerPx(f.xRange, f.area.x1 - f.area.x0) - unitsPerPx(f.yRange, f.area.y1 - f.area.y0)) < 1e-9);
  for (const [x, y] of [[-4, 0], [4, 0], [0, -1], [0, 1]] as const) {
    assert.ok(frameX(f, x) > f.area.x0 && frameX(f, x) < f.area.x1 && frameY(f, y) > f.area.y0 && frameY(f, y) < f.area.y1);
  }
  assert.equal(scatter({ title: 'empty', sets: [] }).width, 520);
  assert.throws(
    () => scatter({ title: 'odd', sets: [{ name: 'odd', color: [0, 0, 0], points: new Float32Array(3) }] }),
    (e: unknown) => e instanceof ForgerError && e.code === 'E_DATA',
  );
});

test('chartPanel stacks charts top to bottom and makes RGB', () => {
  const a: Image8 = { width: 3, height: 2, channels: 3, data: new Uint8Array(18).fill(10) };
  const b: Image8 = { width: 2, height: 1, channels: 1, data: new Uint8Array([50, 60]) };
  const c: Image8 = { width: 1, height: 1, channels: 4, data: new Uint8Array([0, 0, 0, 0]) }; // transparent -> white
  const panel = chartPanel([a, b, c]);
  assert.equal(panel.width, 3);
  assert.equal(panel.height, 4);
  assert.equal(panel.channels, 3);
  assert.deepEqual(pixel(panel, 2, 1), [10, 10, 10]);
  assert.deepEqual(pixel(panel, 1, 2), [60, 60, 60]);
  assert.deepEqual(pixel(panel, 2, 2), WHITE, 'narrower charts are padded with white');
  assert.deepEqual(pixel(panel, 0, 3), WHITE);
  assert.throws(() => chartPanel([]), (e: unknown) => e instanceof ForgerError && e.code === 'E_DATA');
});

test('tick steps are 1, 2 or 5 times a power of ten, and labels share a style', () => {
  assert.equal(niceStep(1, 5), 0.2);
  assert.equal(niceStep(15000, 8), 2000);
  assert.equal(niceStep(3e-5, 3), 1e-5);
  const table: [number[], number, string[]][] = [
    [[0, 0.5, 1], 0.5, ['0.0', '0.5', '1.0']],
    [[-0.25, 0, 0.25], 0.25, ['-0.25', '0.00', '0.25']],
    [[0, 4000, 8000, 12000], 4000, ['0', '4k', '8k', '12k']],
    [[0, 500, 1000], 500, ['0', '500', '1000']],
    [[1e-5, 2e-5], 1e-5, ['1e-5', '2e-5']],
    [[0, 5e7, 1e8, 1.5e8], 5e7, ['0', '5e7', '1e8', '1.5e8']],
  ];
  for (const [ticks, step, labels] of table) assert.deepEqual(formatTicks(ticks, step), labels);
  assert.ok(ticksFor([0.3, 0.31], 50, 45).ticks.length >= 2, 'at least two ticks even on a short axis');
});
