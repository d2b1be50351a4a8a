import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lerp, sampleNoise, slerp } from './noise.ts';
import { Rng } from './rng.ts';

test('same seed, same stream; streams differ', () => {
  const a = new Rng(7, 'x');
  const b = new Rng(7, 'x');
  const c = new Rng(7, 'y');
  const va = Array.from({ length: 5 }, () => a.nextUint32());
  assert.deepEqual(va, Array.from({ length: 5 }, () => b.nextUint32()));
  assert.notDeepEqual(va, Array.from({ length: 5 }, () => c.nextUint32()));
});

test('state round-trips mid-stream', () => {
  const a = new Rng(1);
  for (let i = 0; i < 10; i++) a.next();
  const b = Rng.fromState(a.getState());
  assert.deepEqual(Array.from({ length: 8 }, () => a.normal()), Array.from({ length: 8 }, () => b.normal()));
});

test('fillNormal gives the values and the end state of repeated normal() calls', () => {
  // [0, 0, c, 0] makes the first uniform exactly 0, so the redraw branch runs too
  for (const state of [new Rng(11, 'z').getState(), [0, 0, 5, 0] as [number, number, number, number], [0xffffffff, 0x80000000, 0x7fffffff, 0xfffffffe] as [number, number, number, number]]) {
    const a = Rng.fromState(state);
    const b = Rng.fromState(state);
    const expected = Float32Array.from({ length: 1001 }, () => a.normal());
    const got = new Float32Array(1001);
    b.fillNormal(got);
    assert.deepEqual(got, expected);
    assert.deepEqual(b.getState().map((v) => v >>> 0), a.getState().map((v) => v >>> 0));
    assert.equal(b.nextUint32(), a.nextUint32());
  }
});

test('normal and uniform noise have the right moments', () => {
  const n = sampleNoise(2000, 10, 'normal', new Rng(3));
  const mean = n.reduce((s, v) => s + v, 0) / n.length;
  const variance = n.reduce((s, v) => s + (v - mean) ** 2, 0) / n.length;
  assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.05, `var ${variance}`);
  const u = sampleNoise(2000, 10, 'uniform', new Rng(3));
  assert.ok(u.every((v) => v >= -1 && v < 1));
  const uvar = u.reduce((s, v) => s + v * v, 0) / u.length;
  assert.ok(Math.abs(uvar - 1 / 3) < 0.02, `uniform var ${uvar}`);
});

test('lerp and slerp hit their endpoints; slerp keeps the norm of equal-norm endpoints', () => {
  const a = Float32Array.from([3, 0, 0]);
  const b = Float32Array.from([0, 3, 0]);
  assert.deepEqual(Array.from(lerp(a, b, 0)), [3, 0, 0]);
  assert.deepEqual(Array.from(lerp(a, b, 0.5)), [1.5, 1.5, 0]);
  const mid = slerp(a, b, 0.5);
  assert.ok(Math.abs(Math.hypot(...mid) - 3) < 1e-5);
  assert.ok(Math.abs(mid[0]! - mid[1]!) < 1e-6);
  const end = slerp(a, b, 1);
  assert.ok(Math.abs(end[1]! - 3) < 1e-5 && Math.abs(end[0]!) < 1e-5);
});
