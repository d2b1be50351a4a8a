import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULTS, type LossName } from './config.ts';
import { HealthMonitor, largestGap, meanPairwiseDistance, spreadSampleCount, type HealthThresholds } from './health.ts';
import { Rng } from './rng.ts';

const base: HealthThresholds = { loss: 'non-saturating', labelSmoothing: 0, dWinsSteps: 5, dWinsGap: 0.98, collapseRatio: 0.2 };
const m = (dReal: number, dFake: number, lossD = 0.01, lossG = 5) => ({ lossD, lossG, dReal, dFake });

test('meanPairwiseDistance: hand-computed cases', () => {
  // (0,0), (3,0), (0,4): distances 3, 4, 5
  assert.equal(meanPairwiseDistance([0, 0, 3, 0, 0, 4], 3, 2), 4);
  // only the first n samples count
  assert.equal(meanPairwiseDistance([0, 0, 3, 0, 100, 100], 2, 2), 3);
  assert.equal(meanPairwiseDistance([1, 2, 3], 1, 3), 0);
  assert.ok(Number.isNaN(meanPairwiseDistance([0, NaN, 1, 1], 2, 2)));
  assert.throws(() => meanPairwiseDistance([0, 0, 1], 2, 2), RangeError);
});

test('largestGap: 1 - smoothing for BCE, 1 for lsgan, 2 for hinge, none for wgan-gp', () => {
  const table: [LossName, number, number | null][] = [
    ['non-saturating', 0, 1],
    ['minimax', 0.1, 0.9],
    ['lsgan', 0, 1],
    ['hinge', 0, 2],
    ['wgan-gp', 0, null],
  ];
  for (const [loss, s, want] of table) assert.equal(largestGap(loss, s), want, loss);
});

test('spreadSampleCount caps the quadratic cost', () => {
  assert.equal(spreadSampleCount(1000, 2), 256);
  assert.equal(spreadSampleCount(64, 784), 64);
  assert.equal(spreadSampleCount(256, 784), 225);
  assert.equal(spreadSampleCount(64, 64 * 64 * 3), 57);
  assert.equal(spreadSampleCount(1, 2), 1);
});

test('diverged: any non-finite loss or D output, at once', () => {
  for (const k of ['lossD', 'lossG', 'dReal', 'dFake'] as const) {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const mon = new HealthMonitor(base, null);
      const issue = mon.observeStep(7, { ...m(0.5, 0.5), [k]: bad });
      assert.equal(issue?.kind, 'diverged', `${k} ${bad}`);
      assert.match(issue!.message, new RegExp(`^training diverged at step 7: ${k} ${bad}`));
    }
  }
  assert.equal(new HealthMonitor(base, null).observeStep(1, m(0.5, 0.5)), null);
});

test('d-wins: reported once when the streak reaches dWinsSteps, again only after it breaks and rebuilds', () => {
  const mon = new HealthMonitor(base, null);
  const seen: number[] = [];
  const feed = (from: number, to: number, dReal: number, dFake: number) => {
    for (let s = from; s <= to; s++) {
      const i = mon.observeStep(s, m(dReal, dFake));
      if (i) {
        assert.equal(i.kind, 'd-wins');
        seen.push(s);
      }
    }
  };
  feed(1, 4, 0.995, 0.004); // 4 steps: not yet
  assert.deepEqual(seen, []);
  assert.ok(mon.healthy);
  feed(5, 12, 0.995, 0.004); // the 5th in a row reports; the rest of the streak does not
  assert.deepEqual(seen, [5]);
  assert.equal(mon.healthy, false);
  feed(13, 13, 0.7, 0.3); // the streak breaks
  assert.ok(mon.healthy);
  feed(14, 17, 0.999, 0.001);
  assert.deepEqual(seen, [5]);
  feed(18, 18, 0.999, 0.001);
  assert.deepEqual(seen, [5, 18]);
});

test('d-wins thresholds per loss: just above fires, just below does not', () => {
  // [loss, smoothing, dReal, dFake, fires]; threshold = 0.98 * largest gap
  const cases: [LossName, number, number, number, boolean][] = [
    ['non-saturating', 0, 0.99, 0.005, true], // gap 0.985 >= 0.98
    ['non-saturating', 0, 0.985, 0.01, false], // gap 0.975
    ['minimax', 0.1, 0.895, 0.01, true], // gap 0.885 >= 0.882: smoothing caps D(x) near 0.9
    ['minimax', 0.1, 0.88, 0.01, false], // gap 0.87
    ['lsgan', 0, 1.01, 0.02, true], // gap 0.99 >= 0.98
    ['lsgan', 0, 0.9, 0.05, false],
    ['hinge', 0, 1.5, -0.5, true], // gap 2 >= 1.96
    ['hinge', 0, 1.2, -0.7, false], // gap 1.9
    ['wgan-gp', 0, 100, -100, false], // no largest gap: no check
  ];
  for (const [loss, labelSmoothing, dReal, dFake, fires] of cases) {
    const mon = new HealthMonitor({ ...base, loss, labelSmoothing, dWinsSteps: 3 }, null);
    const kinds = [1, 2, 3].map((s) => mon.observeStep(s, m(dReal, dFake))?.kind ?? null);
    assert.deepEqual(kinds, [null, null, fires ? 'd-wins' : null], `${loss} s${labelSmoothing} D(x) ${dReal} D(G(z)) ${dFake}`);
  }
  // dWinsSteps 0 turns the check off
  const off = new HealthMonitor({ ...base, dWinsSteps: 0 }, null);
  for (let s = 1; s < 500; s++) assert.equal(off.observeStep(s, m(1, 0)), null);
});

/** n samples of dim d: a centre plus N(0, scale^2) noise per coordinate. */
function blob(n: number, d: number, scale: number, rng: Rng, centre = 0): Float32Array {
  const out = new Float32Array(n * d);
  for (let i = 0; i < out.length; i++) {
    // Box-Muller from the seeded stream
    const u = Math.max(rng.next(), 1e-12);
    out[i] = centre + scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
  }
  return out;
}

test('collapse: near-copies fire, a spread like the data does not, at the configured ratio', () => {
  const [n, d] = [64, 784];
  const rng = new Rng(1, 'health-test');
  const real = blob(n, d, 0.5, rng);
  const realSpread = meanPairwiseDistance(real, n, d);
  // E|x - y| for two N(0, 0.25 I) vectors in 784 dims is about 0.5 * sqrt(2 * 784) = 19.8
  assert.ok(Math.abs(realSpread - 19.8) < 0.5, `real spread ${realSpread}`);
  const cases: [string, number, boolean][] = [
    ['as spread as the data', 0.5, false],
    ['half as spread (a fuller mode set than collapse)', 0.25, false],
    ['one image with small noise (ratio ~0.1)', 0.05, true],
    ['exact copies', 0, true],
  ];
  for (const [name, scale, fires] of cases) {
    const mon = new HealthMonitor(base, realSpread);
    const issue = mon.observeSamples(100, blob(n, d, scale, rng, 0.3), n, d);
    assert.equal(issue?.kind ?? null, fires ? 'collapse' : null, name);
    assert.equal(mon.healthy, !fires, name);
    if (issue) assert.match(issue.message, /^mode collapse at step 100: the fixed-noise samples' mean pairwise distance [\d.e-]+ is [\d.e-]+ of a real batch's 19\.\d \(threshold 0\.2\)$/);
  }
  // Ratio just around the threshold: 0.22 of the spread passes, 0.18 fires.
  for (const [ratio, fires] of [[0.22, false], [0.18, true]] as const) {
    const mon = new HealthMonitor(base, realSpread);
    assert.equal(mon.observeSamples(1, blob(n, d, 0.5 * ratio, rng), n, d)?.kind ?? null, fires ? 'collapse' : null, `ratio ${ratio}`);
  }
});

test('collapse is reported once per episode; recovery clears it; non-finite samples are divergence', () => {
  const [n, d] = [32, 2];
  const rng = new Rng(2, 'health-test');
  const mon = new HealthMonitor(base, meanPairwiseDistance(blob(n, d, 1, rng), n, d));
  const collapsed = () => blob(n, d, 0.01, rng, 1);
  const spread = () => blob(n, d, 1, rng);
  assert.equal(mon.observeSamples(1, collapsed(), n, d)?.kind, 'collapse');
  assert.equal(mon.observeSamples(2, collapsed(), n, d), null, 'still collapsed: not again');
  assert.equal(mon.healthy, false);
  assert.equal(mon.observeSamples(3, spread(), n, d), null);
  assert.ok(mon.healthy);
  assert.equal(mon.observeSamples(4, collapsed(), n, d)?.kind, 'collapse');
  const bad = spread();
  bad[5] = NaN;
  assert.equal(mon.observeSamples(5, bad, n, d)?.kind, 'diverged');
  // ratio 0 or no real yardstick: no check
  assert.equal(new HealthMonitor({ ...base, collapseRatio: 0 }, 1).observeSamples(1, collapsed(), n, d), null);
  assert.equal(new HealthMonitor(base, null).observeSamples(1, collapsed(), n, d), null);
});

test('the defaults are the documented ones', () => {
  const t = DEFAULTS.train;
  assert.deepEqual([t.onCollapse, t.dWinsSteps, t.dWinsGap, t.collapseRatio, t.maxRollbacks, t.rollbackLrFactor], ['warn', 200, 0.98, 0.2, 3, 0.5]);
});
