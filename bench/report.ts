/**
 * The harness's results as one JSON line per case and as a Markdown table for
 * BENCHMARKS.md, between markers so a later --write-md replaces it in place.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import type { OursResult, SoakResult } from './ours.ts';
import type { PeerResult } from './peer.ts';

/** What a model case prints: ours, then the peer's numbers when it ran. */
export interface CaseLine extends OursResult {
  peer: 'pytorch' | null;
  peer_note?: string;
  peer_version?: string;
  peer_threads?: number;
  peer_params_g?: number;
  peer_params_d?: number;
  peer_train_img_per_s?: number;
  peer_sample_img_per_s?: number;
  peer_rounds_train_img_per_s?: number[];
  peer_rounds_sample_img_per_s?: number[];
  /** ours / peer, training */
  ratio?: number;
  /** ours / peer, sampling */
  sample_ratio?: number;
}

export type Line = CaseLine | SoakResult;

export function caseLine(ours: OursResult, peer: PeerResult | null, peerNote: string | null, peerParams?: { g: number; d: number }): CaseLine {
  const line: CaseLine = { ...ours, peer: peer ? 'pytorch' : null };
  if (peerNote !== null) line.peer_note = peerNote;
  if (peer) {
    line.peer_version = peer.version;
    line.peer_threads = peer.threads;
    if (peerParams) {
      line.peer_params_g = peerParams.g;
      line.peer_params_d = peerParams.d;
    }
    line.peer_train_img_per_s = peer.train_img_per_s;
    line.peer_sample_img_per_s = peer.sample_img_per_s;
    if (peer.rounds_train_img_per_s) line.peer_rounds_train_img_per_s = peer.rounds_train_img_per_s;
    if (peer.rounds_sample_img_per_s) line.peer_rounds_sample_img_per_s = peer.rounds_sample_img_per_s;
    line.ratio = Number((ours.train_img_per_s / peer.train_img_per_s).toFixed(3));
    line.sample_ratio = Number((ours.sample_img_per_s / peer.sample_img_per_s).toFixed(3));
  }
  return line;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
}

export function machine(): Machine {
  let cpu = cpus()[0]?.model ?? 'unknown CPU';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1]!.trim();
  } catch {
    // not Linux: keep os.cpus()'s name
  }
  return { cpu, cores: cpus().length, memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)), node: process.version };
}

const fmt = (x: number | undefined, digits = 1) => (x === undefined ? '–' : x.toFixed(digits));

export interface TableInfo {
  machine: Machine;
  date: string;
  command: string;
  steps: number;
  warmup: number;
  rounds: number;
  /** null when the peer did not run */
  torch: string | null;
  peerNote: string | null;
}

/** The section BENCHMARKS.md holds: machine, versions, one row per case, the soak verdict. */
export function renderSection(lines: Line[], info: TableInfo): string {
  const cases = lines.filter((l): l is CaseLine => l.case !== 'soak');
  const soaks = lines.filter((l): l is SoakResult => l.case === 'soak');
  const tfjs = lines[0]?.tfjs ?? 'unknown';
  const backends = [...new Map(cases.map((l) => [l.backend, `${l.backend} ${l.threads} thread${l.threads === 1 ? '' : 's'}`])).values()].join(', ');
  const m = info.machine;
  const out = [
    `Measured ${info.date} on ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), Node ${m.node}, TensorFlow.js ${tfjs} (backends: ${backends})` +
      (info.torch !== null ? `, PyTorch ${info.torch} (${cases[0]?.peer_threads ?? 2} threads, OPENBLAS_NUM_THREADS=1).` : '.') +
      ` Batch 64, ${info.steps} timed steps after ${info.warmup} warm-up; sampling is G forward at batch 256.` +
      (info.rounds > 1 ? ` Ours and PyTorch alternate ${info.rounds} times per case; each is reported at its best round (every round is in the JSON lines).` : '') +
      ` Ratio = Forger / PyTorch (above 1: Forger is faster).`,
    '',
    `Command: \`${info.command}\``,
    '',
  ];
  if (info.peerNote !== null) out.push(`PyTorch peer not run: ${info.peerNote}.`, '');
  if (cases.length > 0) {
    out.push(
      '| case | backend | train img/s | PyTorch train img/s | ratio | sample img/s | PyTorch sample img/s | ratio | peak RSS MB |',
      '|---|---|--:|--:|--:|--:|--:|--:|--:|',
      ...cases.map(
        (l) =>
          `| ${l.case} | ${l.backend} | ${fmt(l.train_img_per_s)} | ${fmt(l.peer_train_img_per_s)} | ${fmt(l.ratio, 2)} | ` +
          `${fmt(l.sample_img_per_s)} | ${fmt(l.peer_sample_img_per_s)} | ${fmt(l.sample_ratio, 2)} | ${fmt(l.peak_rss_mb, 0)} |`,
      ),
      '',
    );
  }
  for (const s of soaks) {
    out.push(
      `Soak (${s.backend}): ${s.steps} ${s.model} steps after ${s.warmup} warm-up, ${fmt(s.train_img_per_s)} img/s; ` +
        `live tensors ${s.tensors_start} -> ${s.tensors_end}, RSS ${fmt(s.rss_start_mb)} -> ${fmt(s.rss_end_mb)} MB ` +
        `(${s.rss_growth_pct >= 0 ? '+' : ''}${fmt(s.rss_growth_pct, 2)}%, max ${fmt(s.rss_max_mb)} MB): **${s.pass ? 'pass' : 'FAIL'}**`,
      '',
    );
  }
  return out.join('\n');
}

const BEGIN = '<!-- bench:begin (written by `npm run bench -- --write-md`; edits inside are replaced) -->';
const END = '<!-- bench:end -->';
const HEADER = `# Benchmarks

Forger's training and sampling speed against PyTorch on the same networks and the same step
(\`bench/run.ts\`, issue 4). Every case runs in its own process, interleaved with the PyTorch peer
(\`../shared/peers/torch_gan_bench.py\`).
`;

/** A section's begin and end markers in BENCHMARKS.md. */
export interface Markers {
  begin: string;
  end: string;
}

/** Put `section` between the markers of `path` (creating the file, or appending the markers, if needed). Atomic. */
export function writeSection(path: string, section: string, markers: Markers = { begin: BEGIN, end: END }): void {
  const { begin: BEGIN, end: END } = markers;
  const block = `${BEGIN}\n${section.trimEnd()}\n${END}\n`;
  let text = existsSync(path) ? readFileSync(path, 'utf8') : `${HEADER}\n`;
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  if (a >= 0 && b > a) text = text.slice(0, a) + block + text.slice(b + END.length).replace(/^\n/, '');
  else text = `${text.trimEnd()}\n\n${block}`;
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}
