import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Progress } from './progress.ts';

const row = (step: number) => ({ step, lossD: 1.2345, lossG: 0.5, dReal: 0.61, dFake: 0.39, imgPerSec: 100, elapsed: step });

test('on a terminal: one bar redrawn in place with step, losses, D outputs, img/s and ETA', () => {
  let out = '';
  const p = new Progress({ total: 10, start: 0, tty: true, logEvery: 5, write: (s) => void (out += s) });
  p.update(row(1));
  p.update(row(10));
  p.end();
  const frames = out.split('\r').filter(Boolean);
  assert.ok(frames.length >= 2);
  assert.match(frames[frames.length - 1]!, /\[#{24}\] 10\/10 lossD 1\.234 lossG 0\.500 D\(x\) 0\.610 D\(G\(z\)\) 0\.390 100 img\/s ETA \d+s/);
  assert.ok(out.endsWith('\n'));
  let narrow = '';
  new Progress({ total: 10, start: 0, tty: true, columns: 40, logEvery: 5, write: (s) => void (narrow += s) }).update(row(3));
  assert.ok(narrow.replace('\r\x1b[2K', '').length <= 39, 'fits a 40-column terminal');
});

test('off a terminal: plain lines at the first step, every logEvery steps and the last', () => {
  let out = '';
  const p = new Progress({ total: 12, start: 0, tty: false, logEvery: 5, write: (s) => void (out += s) });
  for (let s = 1; s <= 12; s++) p.update(row(s));
  const steps = out.trim().split('\n').map((l) => /^step (\d+)\/12 /.exec(l)?.[1]);
  assert.deepEqual(steps, ['1', '5', '10', '12']);
  assert.doesNotMatch(out, /\r|\x1b/);
});
