/**
 * The PyTorch peer (../shared/peers/torch_gan_bench.py), run with Debian's
 * interpreter and python3-torch, 2 intra-op threads and single-threaded OpenBLAS:
 *   OPENBLAS_NUM_THREADS=1 /usr/bin/python3 torch_gan_bench.py --model M --threads 2
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelCase } from './models.ts';

export const PYTHON = '/usr/bin/python3';
export const PEER_THREADS = 2;
export const DEFAULT_PEER_SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '../../shared/peers/torch_gan_bench.py');

const ENV = { ...process.env, OPENBLAS_NUM_THREADS: '1' };

/** The peer's JSON line, as it prints it. */
export interface PeerResult {
  peer: 'pytorch';
  version: string;
  model: ModelCase;
  batch: number;
  threads: number;
  steps: number;
  train_steps_per_s: number;
  train_img_per_s: number;
  sample_img_per_s: number;
  /** every round's numbers (added by the harness; the fields above are then the best) */
  rounds_train_img_per_s?: number[];
  rounds_sample_img_per_s?: number[];
}

export type PeerCheck = { available: true; torch: string } | { available: false; reason: string };

function python(args: string[]): { ok: boolean; stdout: string; why: string } {
  const r = spawnSync(PYTHON, args, { env: ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) return { ok: false, stdout: '', why: r.error.message };
  const lastErr = r.stderr.trim().split('\n').pop() ?? '';
  return { ok: r.status === 0, stdout: r.stdout, why: r.status === 0 ? '' : lastErr || `exit status ${String(r.status ?? r.signal)}` };
}

/** Whether `/usr/bin/python3 -c 'import torch'` works and the peer script is there. */
export function checkPeer(script: string): PeerCheck {
  if (!existsSync(script)) return { available: false, reason: `peer script ${script} not found` };
  if (!existsSync(PYTHON)) return { available: false, reason: `${PYTHON} not found` };
  const r = python(['-c', 'import torch; print(torch.__version__)']);
  if (!r.ok) return { available: false, reason: `${PYTHON} cannot import torch (${r.why}); apt-get install python3-torch libopenblas0-pthread` };
  return { available: true, torch: r.stdout.trim() };
}

/** The peer's trainable-parameter counts, from its own model code: sum(p.numel() for p in m.parameters()). */
export function peerParams(script: string): Record<ModelCase, { g: number; d: number }> {
  const code = [
    'import json, runpy',
    `models = runpy.run_path(${JSON.stringify(script)})['MODELS']`,
    'n = lambda m: sum(p.numel() for p in m.parameters())',
    'print(json.dumps({k: {"g": n(f(100)[0]), "d": n(f(100)[1])} for k, f in models.items()}))',
  ].join('\n');
  const r = python(['-c', code]);
  if (!r.ok) throw new Error(`could not count the peer's parameters: ${r.why}`);
  return JSON.parse(r.stdout) as Record<ModelCase, { g: number; d: number }>;
}

/** One peer case: same batch, steps and warm-up as ours. */
export function runPeer(script: string, model: ModelCase, steps: number, warmup: number): PeerResult {
  const r = python([script, '--model', model, '--threads', String(PEER_THREADS), '--steps', String(steps), '--warmup', String(warmup)]);
  if (!r.ok) throw new Error(`peer ${model} failed: ${r.why}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as PeerResult;
  } catch {
    throw new Error(`peer ${model} printed no JSON line (got ${JSON.stringify(line.slice(0, 200))})`);
  }
}
