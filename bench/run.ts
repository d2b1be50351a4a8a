/**
 * The benchmark harness (issue 4): Forger against the PyTorch peer on the same
 * networks and step, case by case, interleaved in rounds (ours, peer, ours, peer,
 * ...), each side reported at its best round: on a shared machine a neighbour's
 * load only ever slows a run down, so the fastest round is the one least
 * disturbed, and alternating gives both sides the same chances.
 *
 *   npm run bench                               all cases: dcgan28, mlp, dcgan64, soak
 *   npm run bench -- --case dcgan28 --json      one case, one JSON line on stdout
 *
 * Each of our cases runs in a fresh child process (this file with --child), so
 * its peak RSS is its own and no case inherits another's tfjs state.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BackendChoice } from '../src/node/backend/setup.ts';
import { MODEL_CASES, PEER_PARAMS, type ModelCase } from './models.ts';
import type { OursResult, SoakResult } from './ours.ts';
import { checkPeer, DEFAULT_PEER_SCRIPT, peerParams, runPeer, type PeerResult } from './peer.ts';
import { caseLine, machine, renderSection, writeSection, type Line } from './report.ts';

const ALL_CASES = [...MODEL_CASES, 'soak'] as const;
type CaseName = (typeof ALL_CASES)[number];
const BACKENDS: readonly BackendChoice[] = ['auto', 'native', 'wasm', 'cpu'];
const SELF = fileURLToPath(import.meta.url);
const ROOT = resolve(SELF, '../..');

const HELP = `npm run bench -- [options]

  --case NAME        dcgan28, mlp, dcgan64 or soak; repeat or comma-separate (default: all four)
  --json             only JSON lines on stdout (one per case); notes go to stderr
  --steps N          timed training steps per case (default 30), after --warmup N (default 5), as the peer
  --rounds N         alternate ours and the peer N times per case and report each at its best (default 3)
  --backend B[,B]    auto, native, wasm or cpu (default auto); several run each case on each, against one peer run
  --no-peer          do not run the PyTorch peer
  --peer FILE        the peer script (default ../shared/peers/torch_gan_bench.py)
  --soak-steps N     soak length in dcgan28 steps (default 2000), after --soak-warmup N (default 100)
  --write-md         replace the results section of BENCHMARKS.md with this call's cases
  --md-path FILE     write that section to FILE instead of BENCHMARKS.md
`;

class UsageError extends Error {}

interface Options {
  cases: CaseName[];
  json: boolean;
  steps: number;
  warmup: number;
  rounds: number;
  backends: BackendChoice[];
  peer: boolean;
  peerScript: string;
  soakSteps: number;
  soakWarmup: number;
  mdPath: string | null;
}

function int(flag: string, v: string | undefined, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${flag} expects an integer >= ${min}, got "${v}"`);
  return n;
}

function parse(argv: string[]): Options & { child: CaseName | null; help: boolean } {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    options: {
      case: { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
      steps: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      backend: { type: 'string', default: 'auto' },
      'no-peer': { type: 'boolean', default: false },
      peer: { type: 'string' },
      'soak-steps': { type: 'string' },
      'soak-warmup': { type: 'string' },
      'write-md': { type: 'boolean', default: false },
      'md-path': { type: 'string' },
      child: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const cases = (v.case ?? []).flatMap((c) => c.split(',')).map((c) => c.trim()).filter((c) => c !== '');
  for (const c of cases) if (!(ALL_CASES as readonly string[]).includes(c)) throw new UsageError(`unknown case "${c}"; use ${ALL_CASES.join(', ')}`);
  const backends = v.backend.split(',').map((b) => b.trim());
  for (const b of backends) if (!(BACKENDS as readonly string[]).includes(b)) throw new UsageError(`--backend expects ${BACKENDS.join(', ')}, got "${b}"`);
  const child = v.child ?? null;
  if (child !== null && !(ALL_CASES as readonly string[]).includes(child)) throw new UsageError(`unknown --child case "${child}"`);
  if (v['md-path'] !== undefined && !v['write-md']) throw new UsageError('--md-path needs --write-md');
  return {
    cases: cases.length > 0 ? [...new Set(cases as CaseName[])] : [...ALL_CASES],
    json: v.json,
    steps: int('steps', v.steps, 30, 1),
    warmup: int('warmup', v.warmup, 5, 0),
    rounds: int('rounds', v.rounds, 3, 1),
    backends: [...new Set(backends)] as BackendChoice[],
    peer: !v['no-peer'],
    peerScript: resolve(v.peer ?? DEFAULT_PEER_SCRIPT),
    soakSteps: int('soak-steps', v['soak-steps'], 2000, 1),
    soakWarmup: int('soak-warmup', v['soak-warmup'], 100, 0),
    mdPath: v['write-md'] ? resolve(v['md-path'] ?? resolve(ROOT, 'BENCHMARKS.md')) : null,
    child: child as CaseName | null,
    help: v.help,
  };
}

/** In the child: one case of ours, one JSON line on stdout. (The parent never loads a backend.) */
async function child(name: CaseName, o: Options): Promise<void> {
  const { setupBackend } = await import('../src/node/backend/setup.ts');
  const { measureOurs, soak } = await import('./ours.ts');
  const setup = await setupBackend(o.backends[0]!);
  if (setup.note !== null) process.stderr.write(`bench: ${setup.note}\n`);
  const result = name === 'soak' ? await soak(o.soakSteps, o.soakWarmup) : await measureOurs(name, o.steps, o.warmup);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Run one case of ours in a fresh process (same Node flags, so tsx is loaded). */
function runOurs(name: CaseName, o: Options, backend: BackendChoice): OursResult | SoakResult {
  const args = [
    ...process.execArgv,
    '--expose-gc',
    SELF,
    '--child', name,
    '--backend', backend,
    '--steps', String(o.steps),
    '--warmup', String(o.warmup),
    '--soak-steps', String(o.soakSteps),
    '--soak-warmup', String(o.soakWarmup),
  ];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  const line = r.stdout?.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) throw new Error(`our ${name} case failed (exit ${String(r.status ?? r.signal)})`);
  return JSON.parse(line) as OursResult | SoakResult;
}

/** Each side at its best round; every round's numbers are kept in the line. */
function bestOurs(runs: OursResult[]): OursResult {
  return {
    ...runs[0]!,
    train_img_per_s: Math.max(...runs.map((r) => r.train_img_per_s)),
    sample_img_per_s: Math.max(...runs.map((r) => r.sample_img_per_s)),
    peak_rss_mb: Math.max(...runs.map((r) => r.peak_rss_mb)),
    rounds_train_img_per_s: runs.map((r) => r.train_img_per_s),
    rounds_sample_img_per_s: runs.map((r) => r.sample_img_per_s),
  };
}

function bestPeer(runs: PeerResult[]): PeerResult {
  return {
    ...runs[0]!,
    train_img_per_s: Math.max(...runs.map((r) => r.train_img_per_s)),
    sample_img_per_s: Math.max(...runs.map((r) => r.sample_img_per_s)),
    rounds_train_img_per_s: runs.map((r) => r.train_img_per_s),
    rounds_sample_img_per_s: runs.map((r) => r.sample_img_per_s),
  };
}

function say(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

function human(l: Line): string {
  if (l.case === 'soak') {
    return `soak     ${l.steps} steps: tensors ${l.tensors_start} -> ${l.tensors_end}, RSS ${l.rss_start_mb} -> ${l.rss_end_mb} MB (${l.rss_growth_pct}%): ${l.pass ? 'pass' : 'FAIL'}`;
  }
  const peer = l.peer ? `  | PyTorch ${l.peer_train_img_per_s} / ${l.peer_sample_img_per_s}  | ratio ${l.ratio} / ${l.sample_ratio}` : '';
  return `${l.case.padEnd(8)} ${l.backend}: train ${l.train_img_per_s} img/s, sample ${l.sample_img_per_s} img/s, peak RSS ${l.peak_rss_mb} MB${peer}`;
}

async function main(): Promise<number> {
  const o = parse(process.argv.slice(2));
  if (o.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (o.child !== null) {
    await child(o.child, o);
    return 0;
  }

  let peerNote: string | null = o.peer ? null : 'disabled with --no-peer';
  let torch: string | null = null;
  let counts: Record<ModelCase, { g: number; d: number }> | null = null;
  if (o.peer && o.cases.some((c) => c !== 'soak')) {
    const check = checkPeer(o.peerScript);
    if (check.available) {
      torch = check.torch;
      counts = peerParams(o.peerScript);
    } else {
      peerNote = check.reason;
      say(`PyTorch peer not available: ${check.reason}; reporting Forger alone`);
    }
  }

  const lines: Line[] = [];
  let failed = false;
  const emit = (line: Line): void => {
    lines.push(line);
    process.stdout.write(`${o.json ? JSON.stringify(line) : human(line)}\n`);
  };
  for (const name of o.cases) {
    try {
      if (name === 'soak') {
        say(`soak: Forger (${o.backends[0]})...`);
        const ours = runOurs(name, o, o.backends[0]!) as SoakResult;
        if (!ours.pass) failed = true;
        emit(ours);
        continue;
      }
      const ours = new Map<BackendChoice, OursResult[]>(o.backends.map((b) => [b, []]));
      const peers: PeerResult[] = [];
      for (let r = 1; r <= o.rounds; r++) {
        const round = o.rounds > 1 ? `, round ${r}/${o.rounds}` : '';
        for (const backend of o.backends) {
          say(`${name}: Forger (${backend})${round}...`);
          ours.get(backend)!.push(runOurs(name, o, backend) as OursResult);
        }
        if (torch !== null) {
          say(`${name}: PyTorch${round}...`);
          peers.push(runPeer(o.peerScript, name, o.steps, o.warmup));
        }
      }
      const peer = peers.length > 0 ? bestPeer(peers) : null;
      for (const backend of o.backends) {
        const best = bestOurs(ours.get(backend)!);
        const expected = counts?.[best.case] ?? PEER_PARAMS[best.case];
        if (best.params_g !== expected.g || best.params_d !== expected.d) {
          say(`${name}: parameter counts differ from PyTorch's: G ${best.params_g} vs ${expected.g}, D ${best.params_d} vs ${expected.d}`);
          failed = true;
        }
        emit(caseLine(best, peer, peerNote, counts?.[best.case]));
      }
    } catch (e) {
      say(`error: ${e instanceof Error ? e.message : String(e)}`);
      failed = true;
    }
  }

  if (o.mdPath !== null && lines.length > 0) {
    const section = renderSection(lines, {
      machine: machine(),
      date: new Date().toISOString().slice(0, 10),
      command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
      steps: o.steps,
      warmup: o.warmup,
      rounds: o.rounds,
      torch,
      peerNote,
    });
    writeSection(o.mdPath, section);
    say(`wrote ${o.mdPath}`);
  }
  return failed ? 1 : 0;
}

/** Bad flags: ours, or node:util parseArgs' (ERR_PARSE_ARGS_*). */
function isUsage(e: unknown): boolean {
  return e instanceof UsageError || (e instanceof Error && String((e as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS'));
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    const usage = isUsage(e);
    process.stderr.write(`bench: error: ${e instanceof Error ? e.message : String(e)}${usage ? ' (see --help)' : ''}\n`);
    process.exit(usage ? 2 : 1);
  },
);
