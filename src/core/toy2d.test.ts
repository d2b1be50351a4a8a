import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ForgerError } from './errors.ts';
import { Rng } from './rng.ts';
import { makeCirclesSet, modeStats, sampleCircles, sampleToy, toyModes, toyRange } from './toy2d.ts';
import type { ToyName } from './toy2d.ts';

describe('sampleToy', () => {
  test('mixtures: every mode gets its share, points sit at std scale from the means', () => {
    const cases: [ToyName, number, number][] = [['ring8', 8, 0.01], ['grid25', 25, 0.05]];
    for (const [name, k, std] of cases) {
      const n = 20000;
      const pts = sampleToy(name, n, new Rng(1));
      assert.equal(pts.length, 2 * n);
      const modes = toyModes(name)!;
      assert.equal(modes.means.length, 2 * k);
      assert.equal(modes.std, std);
      const stats = modeStats(name, pts)!;
      for (const c of stats.counts) assert.ok(Math.abs(c / n - 1 / k) < 0.25 / k, `${name}: mode share ${c / n}`);
      assert.equal(stats.modesCovered, k);
      assert.ok(stats.highQuality > 0.98, `${name}: ${stats.highQuality} within 3 std`); // 1 - e^{-4.5} = 0.989
      // E|x - mean|^2 = 2 std^2 for an isotropic 2-D Gaussian
      let d2 = 0;
      for (let i = 0; i < n; i++) {
        let best = Infinity;
        for (let m = 0; m < k; m++) best = Math.min(best, (pts[2 * i]! - modes.means[2 * m]!) ** 2 + (pts[2 * i + 1]! - modes.means[2 * m + 1]!) ** 2);
        d2 += best;
      }
      const rms = Math.sqrt(d2 / n / 2);
      assert.ok(Math.abs(rms / std - 1) < 0.05, `${name}: per-axis rms ${rms} vs std ${std}`);
    }
  });

  test('ring8 means lie on the unit circle; grid25 on {-4..4}^2', () => {
    const r = toyModes('ring8')!.means;
    for (let k = 0; k < 8; k++) assert.ok(Math.abs(Math.hypot(r[2 * k]!, r[2 * k + 1]!) - 1) < 1e-6);
    const g = Array.from(toyModes('grid25')!.means);
    assert.deepEqual([...new Set(g)].sort((a, b) => a - b), [-4, -2, 0, 2, 4]);
  });

  test('spiral: radius grows with angle, inside the plot range', () => {
    assert.equal(toyModes('spiral'), null);
    assert.equal(modeStats('spiral', new Float32Array(4)), null);
    const n = 5000;
    const pts = sampleToy('spiral', n, new Rng(2));
    const [x0, x1, y0, y1] = toyRange('spiral');
    let rmin = Infinity;
    let rmax = 0;
    for (let i = 0; i < n; i++) {
      const x = pts[2 * i]!;
      const y = pts[2 * i + 1]!;
      assert.ok(x > x0 && x < x1 && y > y0 && y < y1);
      rmin = Math.min(rmin, Math.hypot(x, y));
      rmax = Math.max(rmax, Math.hypot(x, y));
    }
    assert.ok(rmin > 0.15 && rmin < 0.3 && rmax > 0.95 && rmax < 1.15, `r in [${rmin}, ${rmax}]`);
    // A spiral, not a disc: nearly every point is close to the noiseless curve r = t, angle = 3 pi t.
    let near = 0;
    for (let i = 0; i < n; i++) {
      let best = Infinity;
      for (let j = 0; j <= 600; j++) {
        const t = 0.25 + (0.75 * j) / 600;
        best = Math.min(best, Math.hypot(pts[2 * i]! - t * Math.cos(3 * Math.PI * t), pts[2 * i + 1]! - t * Math.sin(3 * Math.PI * t)));
      }
      if (best < 0.08) near++;
    }
    assert.ok(near / n > 0.99, `${near / n} near the curve`);
  });

  test('deterministic for a seed; ranges frame the modes; bad input is E_CONFIG', () => {
    assert.deepEqual(sampleToy('grid25', 100, new Rng(7)), sampleToy('grid25', 100, new Rng(7)));
    assert.notDeepEqual(sampleToy('grid25', 100, new Rng(7)), sampleToy('grid25', 100, new Rng(8)));
    assert.deepEqual(toyRange('grid25'), [-6, 6, -6, 6]);
    assert.equal(sampleToy('ring8', 0, new Rng(1)).length, 0);
    const isConfig = (e: unknown) => e instanceof ForgerError && e.code === 'E_CONFIG';
    assert.throws(() => sampleToy('moons' as ToyName, 10, new Rng(1)), isConfig);
    assert.throws(() => sampleToy('ring8', 1.5, new Rng(1)), isConfig);
  });
});

describe('circles (seed 004)', () => {
  test('edge midpoints bright, corners and centre dark, with variation', () => {
    const n = 4000;
    const px = sampleCircles(n, new Rng(3));
    assert.equal(px.length, 9 * n);
    const mean = new Array<number>(9).fill(0);
    const min = new Array<number>(9).fill(255);
    const max = new Array<number>(9).fill(0);
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < 9; p++) {
        const v = px[9 * i + p]!;
        mean[p]! += v / n / 255;
        min[p] = Math.min(min[p]!, v);
        max[p] = Math.max(max[p]!, v);
      }
    }
    const dark = [0, 2, 4, 6, 8];
    const bright = [1, 3, 5, 7];
    for (const p of dark) assert.ok(mean[p]! < 0.2 && max[p]! <= 0.25 * 255 + 1, `dark pixel ${p}: ${mean[p]}`);
    for (const p of bright) assert.ok(mean[p]! > 0.75 && min[p]! >= 0.7 * 255 - 1, `bright pixel ${p}: ${mean[p]}`);
    for (let p = 0; p < 9; p++) assert.ok(max[p]! - min[p]! > 40, `pixel ${p} varies`);
    assert.deepEqual(sampleCircles(5, new Rng(9)), sampleCircles(5, new Rng(9)));
  });

  test('makeCirclesSet', () => {
    const s = makeCirclesSet(6, new Rng(4));
    assert.deepEqual(s.shape, [3, 3, 1]);
    assert.equal(s.count, 6);
    assert.equal(s.labels, null);
    assert.deepEqual(s.pixels, sampleCircles(6, new Rng(4)));
  });
});
