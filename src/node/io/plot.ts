/**
 * Training charts without a browser or canvas: line charts (losses, D outputs
 * against step), scatter plots (real vs generated 2D points) and a panel that
 * stacks them. Pure functions returning RGB Image8; the caller writes the PNG.
 *
 * Layout, top to bottom: title (left) and legend (right, or on its own row
 * when they do not fit), the plot area with grid and frame, x tick labels and
 * the x label. Values that are NaN or infinite are skipped; a line breaks
 * where they occur.
 */
import { ForgerError } from '../../core/errors.ts';
import type { Image8 } from '../../core/image.ts';
import { checkRange, extent, padRange, ticksAt, ticksFor, xLabelsFit } from './axis.ts';
import { CAP_HEIGHT, LINE_HEIGHT, drawText, textWidth } from './font.ts';
import { createRaster, dashSegments, fillDisc, fillRect, polylineSegments, strokeSegments, toImage8 } from './raster.ts';
import type { Raster, Rect, Rgb } from './raster.ts';

export type { Rgb };

/** Colours for series that name none, in order (Tableau 10). */
export const PALETTE: readonly Rgb[] = [
  [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
];

const STYLE = {
  background: [255, 255, 255] as Rgb,
  grid: [233, 233, 238] as Rgb,
  frame: [175, 175, 185] as Rgb,
  text: [60, 60, 68] as Rgb,
  title: [20, 20, 26] as Rgb,
  refLine: [110, 110, 120] as Rgb,
  pad: 14,
  tickLength: 4,
  titleScale: 2,
  lineWidth: 2,
  dotRadius: 1.5,
  dotAlpha: 0.45,
};

export interface LineSeries {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** @default PALETTE[index of the series] */
  color?: Rgb;
}

export interface LineChartOptions {
  title: string;
  series: LineSeries[];
  /** @default 800 */
  width?: number;
  /** @default 360 */
  height?: number;
  /** Fixed y range; data outside it is clipped. @default fit the data and hLines */
  yRange?: [number, number];
  xLabel?: string;
  /** Dashed reference lines, e.g. D = 0.5 where D cannot tell real from fake. */
  hLines?: { y: number; label?: string }[];
}

export interface ScatterSet {
  name: string;
  /** x, y interleaved. */
  points: Float32Array;
  color: Rgb;
}

export interface ScatterOptions {
  title: string;
  sets: ScatterSet[];
  /** @default 520 */
  width?: number;
  /** @default 520 */
  height?: number;
  /** [xmin, xmax, ymin, ymax]. @default all sets with a 5% margin, widened so x and y share one scale */
  range?: [number, number, number, number];
}

/** Where a chart puts things: exported so callers and tests can map data to pixels. */
export interface PlotFrame {
  width: number;
  height: number;
  /** The plot area, frame included: [x0, x1) x [y0, y1). */
  area: Rect;
  xRange: [number, number];
  yRange: [number, number];
  xTicks: number[];
  yTicks: number[];
  xLabels: string[];
  yLabels: string[];
  /** Title on row 1, legend right of it; or the legend on row 2 when it does not fit. */
  legendOwnRow: boolean;
}

/** Pixel x (float, pixel centres at +0.5) of data value `v`: xRange spans the centres of the frame's columns. */
export function frameX(f: PlotFrame, v: number): number {
  const [lo, hi] = f.xRange;
  return f.area.x0 + 0.5 + ((v - lo) / (hi - lo)) * (f.area.x1 - f.area.x0 - 1);
}

/** Pixel y of data value `v` (up is larger). */
export function frameY(f: PlotFrame, v: number): number {
  const [lo, hi] = f.yRange;
  return f.area.y1 - 0.5 - ((v - lo) / (hi - lo)) * (f.area.y1 - f.area.y0 - 1);
}

// ---------------------------------------------------------------- layout

interface LegendItem {
  name: string;
  color: Rgb;
  kind: 'line' | 'dot';
}

const SWATCH = 18;
const LEGEND_GAP = 16;

function legendWidth(items: LegendItem[]): number {
  return items.reduce((w, it, i) => w + (i ? LEGEND_GAP : 0) + SWATCH + 5 + textWidth(it.name), 0);
}

interface FrameSpec {
  width: number;
  height: number;
  title: string;
  legend: LegendItem[];
  xLabel?: string | undefined;
  xRange: [number, number];
  yRange: [number, number];
  /** Widen the shorter range so one data unit has the same length on both axes. */
  equalAspect: boolean;
}

function layoutFrame(spec: FrameSpec): PlotFrame {
  const { width, height } = spec;
  const { pad, tickLength } = STYLE;
  const titleH = CAP_HEIGHT * STYLE.titleScale;
  const bottom = height - (tickLength + 5 + LINE_HEIGHT + (spec.xLabel ? 7 + LINE_HEIGHT : 0) + pad);
  let legendOwnRow = false;
  let left = pad + 30;
  let right = width - pad;
  let frame: PlotFrame | null = null;
  // Margins depend on tick labels, which depend on the plot size: settle in a few rounds.
  for (let round = 0; round < 4; round++) {
    const top = pad + titleH + (legendOwnRow ? 8 + LINE_HEIGHT : 0) + 12;
    const area = { x0: left, y0: top, x1: Math.max(right, left + 2), y1: Math.max(bottom, top + 2) };
    let [xRange, yRange] = [spec.xRange, spec.yRange];
    if (spec.equalAspect) [xRange, yRange] = equalAspect(xRange, yRange, area);
    const [w, h] = [area.x1 - area.x0, area.y1 - area.y0];
    let y = ticksFor(yRange, h, 45);
    let x = ticksFor(xRange, w, 120);
    for (let spacing = 180; !xLabelsFit(x, xRange, w) && spacing < 2 * w; spacing *= 1.5) x = ticksFor(xRange, w, spacing);
    if (spec.equalAspect && x.step !== y.step) {
      // One data unit is one length on both axes, so use one step too.
      const step = Math.min(x.step, y.step);
      const fits = xLabelsFit(ticksAt(xRange, step), xRange, w);
      [x, y] = [ticksAt(xRange, fits ? step : Math.max(x.step, y.step)), ticksAt(yRange, fits ? step : Math.max(x.step, y.step))];
    }
    frame = { width, height, area, xRange, yRange, xTicks: x.ticks, yTicks: y.ticks, xLabels: x.labels, yLabels: y.labels, legendOwnRow };

    const yLabelW = Math.max(0, ...y.labels.map((l) => textWidth(l)));
    const lastX = x.ticks.length ? frameX(frame, x.ticks[x.ticks.length - 1]!) : 0;
    const lastLabelHalf = x.labels.length ? textWidth(x.labels[x.labels.length - 1]!) / 2 : 0;
    const newLeft = pad + yLabelW + 6 + tickLength;
    const newRight = Math.min(width - pad, right + Math.floor(width - 4 - (lastX + lastLabelHalf)));
    const ownRow = textWidth(spec.title, STYLE.titleScale) + 24 + legendWidth(spec.legend) > newRight - newLeft;
    if (newLeft === left && newRight === right && ownRow === legendOwnRow) break;
    [left, right, legendOwnRow] = [newLeft, newRight, ownRow];
  }
  return frame!;
}

function equalAspect(x: [number, number], y: [number, number], area: Rect): [[number, number], [number, number]] {
  const perPxX = (x[1] - x[0]) / (area.x1 - area.x0);
  const perPxY = (y[1] - y[0]) / (area.y1 - area.y0);
  const widen = (r: [number, number], span: number): [number, number] => {
    const mid = (r[0] + r[1]) / 2;
    return [mid - span / 2, mid + span / 2];
  };
  return perPxX > perPxY
    ? [x, widen(y, perPxX * (area.y1 - area.y0))]
    : [widen(x, perPxY * (area.x1 - area.x0)), y];
}

// ---------------------------------------------------------------- drawing

function drawAxes(r: Raster, f: PlotFrame, xLabel?: string): void {
  const { area } = f;
  f.xTicks.forEach((t, i) => {
    const px = Math.floor(frameX(f, t));
    fillRect(r, px, area.y0, 1, area.y1 - area.y0, STYLE.grid);
    fillRect(r, px, area.y1, 1, STYLE.tickLength, STYLE.frame);
    const label = f.xLabels[i]!;
    drawText(r, label, px + 0.5 - textWidth(label) / 2, area.y1 + STYLE.tickLength + 5, STYLE.text);
  });
  f.yTicks.forEach((t, i) => {
    const py = Math.floor(frameY(f, t));
    fillRect(r, area.x0, py, area.x1 - area.x0, 1, STYLE.grid);
    fillRect(r, area.x0 - STYLE.tickLength, py, STYLE.tickLength, 1, STYLE.frame);
    const label = f.yLabels[i]!;
    drawText(r, label, area.x0 - STYLE.tickLength - 5 - textWidth(label), py - Math.floor(CAP_HEIGHT / 2), STYLE.text);
  });
  // Frame on the outermost rows and columns of the area.
  fillRect(r, area.x0, area.y0, area.x1 - area.x0, 1, STYLE.frame);
  fillRect(r, area.x0, area.y1 - 1, area.x1 - area.x0, 1, STYLE.frame);
  fillRect(r, area.x0, area.y0, 1, area.y1 - area.y0, STYLE.frame);
  fillRect(r, area.x1 - 1, area.y0, 1, area.y1 - area.y0, STYLE.frame);
  if (xLabel) {
    const y = area.y1 + STYLE.tickLength + 5 + LINE_HEIGHT + 7;
    drawText(r, xLabel, (area.x0 + area.x1) / 2 - textWidth(xLabel) / 2, y, STYLE.text);
  }
}

function drawHeader(r: Raster, f: PlotFrame, title: string, legend: LegendItem[]): void {
  const top = STYLE.pad;
  const shown = fitText(title, f.width - STYLE.pad - f.area.x0 - 1, STYLE.titleScale);
  // Drawn twice, one pixel apart: a bold face from the one font.
  for (const dx of [0, 1]) drawText(r, shown, f.area.x0 + dx, top, STYLE.title, STYLE.titleScale);
  // Legend right-aligned to the plot, its text baseline level with the title's.
  const y = f.legendOwnRow ? top + CAP_HEIGHT * STYLE.titleScale + 8 : top + CAP_HEIGHT * (STYLE.titleScale - 1);
  let x = f.legendOwnRow ? f.area.x0 : f.area.x1 - legendWidth(legend);
  for (const item of legend) {
    const mid = Math.round(y + CAP_HEIGHT / 2); // on a pixel edge: a crisp 2-pixel swatch
    if (item.kind === 'line') strokeSegments(r, [x + 1, mid, x + SWATCH - 1, mid], item.color, STYLE.lineWidth);
    else for (const dx of [4, 9, 14]) fillDisc(r, x + dx, mid, STYLE.dotRadius + 0.5, item.color, 0.8);
    x = drawText(r, item.name, x + SWATCH + 5, y, STYLE.text) + LEGEND_GAP;
  }
}

/** `text`, cut and ended with "..." if wider than `maxWidth`. */
function fitText(text: string, maxWidth: number, scale: number): string {
  if (textWidth(text, scale) <= maxWidth) return text;
  let cut = text;
  while (cut.length > 0 && textWidth(`${cut}...`, scale) > maxWidth) cut = cut.slice(0, -1);
  return `${cut.trimEnd()}...`;
}

function drawNoData(r: Raster, f: PlotFrame): void {
  const msg = 'no finite data';
  const { area } = f;
  drawText(r, msg, (area.x0 + area.x1) / 2 - textWidth(msg) / 2, (area.y0 + area.y1) / 2 - CAP_HEIGHT / 2, STYLE.refLine);
}

/** Let data reach the frame line (a value at the range edge stays fully visible) but no further. */
function clipToArea(r: Raster, area: Rect): void {
  const m = Math.ceil(STYLE.lineWidth / 2);
  r.clip = { x0: area.x0 - m, y0: area.y0 - m, x1: area.x1 + m, y1: area.y1 + m };
}

function unclip(r: Raster): void {
  r.clip = { x0: 0, y0: 0, x1: r.width, y1: r.height };
}

function checkSize(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 120 || height < 80) {
    throw new ForgerError('E_CONFIG', `plot size ${width}x${height} is too small; use at least 120x80 whole pixels`);
  }
}

// ---------------------------------------------------------------- charts

function seriesColors(series: LineSeries[]): Rgb[] {
  return series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]!);
}

/** The layout `lineChart` draws into. */
export function lineChartFrame(opts: LineChartOptions): PlotFrame {
  const { width = 800, height = 360 } = opts;
  checkSize(width, height);
  for (const s of opts.series) {
    if (s.x.length !== s.y.length) {
      throw new ForgerError('E_DATA', `plot series "${s.name}" has ${s.x.length} x values but ${s.y.length} y values`);
    }
  }
  const colors = seriesColors(opts.series);
  const xs: number[] = [];
  const ys: number[] = [];
  for (const s of opts.series) {
    for (let k = 0; k < s.x.length; k++) {
      if (Number.isFinite(s.x[k]) && Number.isFinite(s.y[k])) xs.push(s.x[k]!), ys.push(s.y[k]!);
    }
  }
  const yExt = extent([...ys, ...(opts.hLines ?? []).map((h) => h.y)]);
  return layoutFrame({
    width,
    height,
    title: opts.title,
    legend: opts.series.map((s, i) => ({ name: s.name, color: colors[i]!, kind: 'line' })),
    xLabel: opts.xLabel,
    xRange: padRange(extent(xs), 0.02),
    yRange: opts.yRange ? checkRange(opts.yRange, 'yRange') : padRange(yExt, 0.06),
    equalAspect: false,
  });
}

/** Lines of y against x for each series, with legend, grid and optional dashed reference lines. */
export function lineChart(opts: LineChartOptions): Image8 {
  const f = lineChartFrame(opts);
  const colors = seriesColors(opts.series);
  const r = createRaster(f.width, f.height, STYLE.background);
  drawAxes(r, f, opts.xLabel);

  clipToArea(r, f.area);
  for (const h of opts.hLines ?? []) {
    if (!Number.isFinite(h.y)) continue;
    const py = Math.floor(frameY(f, h.y)) + 0.5; // centred on a pixel row: crisp at 1 pixel wide
    strokeSegments(r, dashSegments(f.area.x0, py, f.area.x1, py, 6, 4), STYLE.refLine, 1);
    if (h.label) {
      const above = py - 4 - CAP_HEIGHT;
      const ty = above >= f.area.y0 + 3 ? above : py + 4;
      drawText(r, h.label, f.area.x1 - 6 - textWidth(h.label), ty, STYLE.refLine);
    }
  }
  let any = false;
  opts.series.forEach((s, i) => {
    // Break the line at non-finite values; a lone finite point becomes a dot twice the line width.
    const lines: number[] = [];
    const dots: number[] = [];
    let run: number[] = [];
    const flush = () => {
      if (run.length === 2) dots.push(...run, ...run);
      else for (const v of polylineSegments(run)) lines.push(v);
      run = [];
    };
    for (let k = 0; k < s.x.length; k++) {
      const [x, y] = [s.x[k]!, s.y[k]!];
      if (Number.isFinite(x) && Number.isFinite(y)) {
        run.push(frameX(f, x), frameY(f, y));
        any = true;
      } else if (run.length) flush();
    }
    if (run.length) flush();
    strokeSegments(r, lines, colors[i]!, STYLE.lineWidth);
    strokeSegments(r, dots, colors[i]!, 2 * STYLE.lineWidth);
  });
  unclip(r);

  if (!any) drawNoData(r, f);
  drawHeader(r, f, opts.title, opts.series.map((s, i) => ({ name: s.name, color: colors[i]!, kind: 'line' })));
  return toImage8(r);
}

/** The layout `scatter` draws into. */
export function scatterFrame(opts: ScatterOptions): PlotFrame {
  const { width = 520, height = 520 } = opts;
  checkSize(width, height);
  for (const s of opts.sets) {
    if (s.points.length % 2 !== 0) {
      throw new ForgerError('E_DATA', `scatter set "${s.name}" has ${s.points.length} numbers; points are x, y pairs`);
    }
  }
  let xRange: [number, number];
  let yRange: [number, number];
  if (opts.range) {
    const [x0, x1, y0, y1] = opts.range;
    [xRange, yRange] = [checkRange([x0, x1], 'x range'), checkRange([y0, y1], 'y range')];
  } else {
    const xs: number[] = [];
    const ys: number[] = [];
    for (const s of opts.sets) {
      for (let k = 0; k < s.points.length; k += 2) {
        if (Number.isFinite(s.points[k]) && Number.isFinite(s.points[k + 1])) xs.push(s.points[k]!), ys.push(s.points[k + 1]!);
      }
    }
    [xRange, yRange] = [padRange(extent(xs), 0.05), padRange(extent(ys), 0.05)];
  }
  return layoutFrame({
    width,
    height,
    title: opts.title,
    legend: opts.sets.map((s) => ({ name: s.name, color: s.color, kind: 'dot' })),
    xRange,
    yRange,
    equalAspect: !opts.range,
  });
}

/** Semi-transparent dots for each set of 2D points, so dense regions read darker. */
export function scatter(opts: ScatterOptions): Image8 {
  const f = scatterFrame(opts);
  const r = createRaster(f.width, f.height, STYLE.background);
  drawAxes(r, f);
  r.clip = { x0: f.area.x0 + 1, y0: f.area.y0 + 1, x1: f.area.x1 - 1, y1: f.area.y1 - 1 };
  let any = false;
  for (const s of opts.sets) {
    for (let k = 0; k < s.points.length; k += 2) {
      const [x, y] = [s.points[k]!, s.points[k + 1]!];
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      fillDisc(r, frameX(f, x), frameY(f, y), STYLE.dotRadius, s.color, STYLE.dotAlpha);
      any = true;
    }
  }
  unclip(r);
  if (!any) drawNoData(r, f);
  drawHeader(r, f, opts.title, opts.sets.map((s) => ({ name: s.name, color: s.color, kind: 'dot' })));
  return toImage8(r);
}

/** Stack charts top to bottom on white, left-aligned; gray and RGBA inputs become RGB. */
export function chartPanel(charts: Image8[]): Image8 {
  if (charts.length === 0) throw new ForgerError('E_DATA', 'chartPanel needs at least one chart');
  const width = Math.max(...charts.map((c) => c.width));
  const height = charts.reduce((h, c) => h + c.height, 0);
  const r = createRaster(width, height, STYLE.background);
  let top = 0;
  for (const c of charts) {
    for (let p = 0; p < c.width * c.height; p++) {
      const o = ((top + Math.floor(p / c.width)) * width + (p % c.width)) * 3;
      const s = p * c.channels;
      const [red, green, blue] = c.channels === 1 ? [c.data[s]!, c.data[s]!, c.data[s]!] : [c.data[s]!, c.data[s + 1]!, c.data[s + 2]!];
      const a = c.channels === 4 ? c.data[s + 3]! / 255 : 1;
      r.data[o] = Math.round(255 + (red - 255) * a);
      r.data[o + 1] = Math.round(255 + (green - 255) * a);
      r.data[o + 2] = Math.round(255 + (blue - 255) * a);
    }
    top += c.height;
  }
  return toImage8(r);
}
