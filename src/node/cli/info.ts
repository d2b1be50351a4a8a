/** forger info RUN: architecture layer by layer, config, and training progress. */
import type * as tf from '@tensorflow/tfjs';
import { ForgerError } from '../../core/errors.ts';
import { setupBackend } from '../backend/setup.ts';
import type { CheckpointState } from '../run/checkpoint.ts';
import { loadRun } from '../run/load.ts';
import { describeConfig } from '../run/train.ts';
import type { Io } from './main.ts';
import { parse } from './parse.ts';

export interface LayerInfo {
  name: string;
  type: string;
  outputShape: (number | null)[];
  params: number;
}

export function describeLayers(model: tf.LayersModel): { layers: LayerInfo[]; params: number; trainable: number } {
  const layers = model.layers.map((l) => ({
    name: l.name,
    type: l.getClassName(),
    outputShape: l.outputShape as (number | null)[],
    params: l.countParams(),
  }));
  const trainable = model.trainableWeights.reduce((n, w) => n + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
  return { layers, params: model.countParams(), trainable };
}

function table(title: string, d: ReturnType<typeof describeLayers>): string {
  const rows = d.layers.map((l) => [l.name, l.type, `[${l.outputShape.map((v) => v ?? 'n').join(', ')}]`, l.params.toLocaleString('en-US')]);
  const head = ['layer', 'type', 'output shape', 'params'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `  ${r.map((c, i) => (i === 3 ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('  ')}`;
  return [`${title}: ${d.params.toLocaleString('en-US')} parameters (${d.trainable.toLocaleString('en-US')} trainable)`, line(head), ...rows.map(line)].join('\n');
}

/** The checkpoint's health: whether it was healthy when written, rollbacks, the learning rates they left, and every event. */
export function healthLines(s: CheckpointState): string[] {
  const h = s.health;
  if (!h) return ['health: not recorded (a checkpoint from before the health checks)'];
  const t = s.config.train;
  const lr = h.lrScale === 1 ? '' : `, learning rates x${Number(h.lrScale.toPrecision(4))} (lrG ${Number((t.lrG * h.lrScale).toPrecision(4))}, lrD ${Number((t.lrD * h.lrScale).toPrecision(4))})`;
  const head = `health: ${h.healthy ? 'healthy' : 'UNHEALTHY'} at this checkpoint, ${h.events.length} event${h.events.length === 1 ? '' : 's'}, ${h.rollbacks} rollback${h.rollbacks === 1 ? '' : 's'}${lr}`;
  return [head, ...h.events.map((e) => `  step ${e.step} ${e.kind}, ${e.action}: ${e.message}`)];
}

export async function infoCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } });
  if (values.help) {
    io.out('usage: forger info RUN [--json]\n');
    return 0;
  }
  const runDir = positionals[0];
  if (!runDir || positionals.length > 1) throw new ForgerError('E_USAGE', 'expected one run directory: forger info RUN [--json]');
  await setupBackend('auto');
  const run = await loadRun(runDir);
  try {
    const s = run.state;
    const g = describeLayers(run.generator);
    const d = describeLayers(await run.loadDiscriminator());
    const last = s.history[s.history.length - 1] ?? null;
    const progress = { step: s.step, steps: s.config.train.steps, elapsedSeconds: Math.round(s.elapsed), savedAt: s.savedAt, checkpoint: run.checkpointDir, last };
    const health = s.health ?? null;
    if (values.json) {
      io.out(JSON.stringify({ run: runDir, progress, health, generator: g, discriminator: d, config: s.config }, null, 2) + '\n');
      return 0;
    }
    io.out(`run ${runDir}\n`);
    io.out(`progress: step ${s.step}/${s.config.train.steps}, ${Math.round(s.elapsed)} s of training, checkpoint ${run.checkpointDir} (${s.savedAt})\n`);
    if (last) io.out(`last step: lossD ${last.lossD.toFixed(4)} lossG ${last.lossG.toFixed(4)} D(x) ${last.dReal.toFixed(3)} D(G(z)) ${last.dFake.toFixed(3)}\n`);
    io.out(`config:\n${describeConfig(s.config).map((l) => `  ${l}\n`).join('')}`);
    io.out(`${healthLines(s).join('\n')}\n`);
    io.out(`${table('generator', g)}\n${table('discriminator', d)}\n`);
    return 0;
  } finally {
    run.dispose();
  }
}
