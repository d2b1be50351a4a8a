/**
 * Training health: divergence and mode collapse, found from numbers the loop already has.
 *
 *   diverged  a loss or mean D output is NaN or infinite (checked every step)
 *   d-wins    D separates reals from fakes almost perfectly for train.dWinsSteps steps in a row:
 *             D(x) - D(G(z)) >= dWinsGap * the largest gap the loss allows, which is
 *             1 - labelSmoothing for the BCE losses (D outputs are probabilities),
 *             1 for lsgan (D's targets are 1 and 0) and 2 for hinge (its margins are +1 and -1).
 *             wgan-gp's critic has no largest gap (its scores are unbounded): no d-wins check there.
 *   collapse  at the sample cadence, the mean pairwise distance of G's fixed-noise samples falls
 *             below train.collapseRatio times that of a real batch of the same size
 *
 * Pure and isomorphic: no tensors; the trainer hands in numbers and flat sample arrays.
 */
import { isBceLoss, type LossName, type TrainConfig } from './config.ts';

export type HealthIssueKind = 'diverged' | 'd-wins' | 'collapse';

export interface HealthIssue {
  kind: HealthIssueKind;
  /** The step at which it was found. */
  step: number;
  /** One line for the log: what, when and with which values. */
  message: string;
}

/** What the run did about an issue (train.onCollapse), as recorded in the run's state. */
export interface HealthEvent extends HealthIssue {
  action: 'warn' | 'rollback' | 'stop';
  /** rollback: the step of the checkpoint training went back to. */
  rolledBackTo?: number;
  /** rollback: the learning rates' multiplier from then on. */
  lrScale?: number;
}

/** The detector's memory, saved in checkpoints so that a resumed run detects as an uninterrupted one. */
export interface MonitorState {
  /** Consecutive steps, up to the last one, in which D won. */
  dWinsStreak: number;
  /** Collapse was found at the last sample check (and so far not recovered). */
  collapsed: boolean;
}

/** Everything about health that a checkpoint stores. */
export interface HealthState {
  monitor: MonitorState;
  /** Every issue found so far and what was done; kept across rollbacks. */
  events: HealthEvent[];
  rollbacks: number;
  /** Both learning rates are train.lrG / lrD times this (lowered by rollbacks). */
  lrScale: number;
  /** No issue was active when this state was captured: a checkpoint of it is a rollback target. */
  healthy: boolean;
}

export type HealthThresholds = Pick<TrainConfig, 'loss' | 'labelSmoothing' | 'dWinsSteps' | 'dWinsGap' | 'collapseRatio'>;

/** The largest D(x) - D(G(z)) a loss drives D towards; null where there is none (wgan-gp). */
export function largestGap(loss: LossName, labelSmoothing: number): number | null {
  if (isBceLoss(loss)) return 1 - labelSmoothing;
  if (loss === 'lsgan') return 1;
  if (loss === 'hinge') return 2;
  return null;
}

/** At most this many samples enter a pairwise-distance statistic: n^2 d / 2 <= 2e7 multiply-adds, and n <= 256. */
export function spreadSampleCount(available: number, dim: number): number {
  return Math.max(0, Math.min(available, 256, Math.floor(Math.sqrt((4e7 / Math.max(dim, 1))))));
}

/**
 * Mean Euclidean distance over all pairs of the first n samples of a flat [n, dim] array
 * (float64 sums). NaN if a sample is not finite; 0 for fewer than two samples.
 */
export function meanPairwiseDistance(x: ArrayLike<number>, n: number, dim: number): number {
  if (x.length < n * dim) throw new RangeError(`meanPairwiseDistance: ${x.length} values hold fewer than ${n} samples of ${dim}`);
  if (n < 2) return 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let d2 = 0;
      for (let k = 0; k < dim; k++) {
        const d = x[i * dim + k]! - x[j * dim + k]!;
        d2 += d * d;
      }
      sum += Math.sqrt(d2);
    }
  }
  return sum / ((n * (n - 1)) / 2);
}

const fmt = (v: number): string => (Number.isFinite(v) ? Number(v.toPrecision(3)).toString() : String(v));

export function initialHealthState(): HealthState {
  return { monitor: { dWinsStreak: 0, collapsed: false }, events: [], rollbacks: 0, lrScale: 1, healthy: true };
}

/**
 * The detector. observeStep() every step, observeSamples() at the sample cadence; each returns
 * the issue found, once per episode (a d-wins streak or a collapse is reported when it begins,
 * not again until it has ended and begun again).
 */
export class HealthMonitor {
  state: MonitorState = { dWinsStreak: 0, collapsed: false };
  private readonly gap: number | null;

  /**
   * @param realSpread mean pairwise distance of a real batch of the size observeSamples() will see
   *   (null: no collapse check)
   */
  constructor(
    private readonly t: HealthThresholds,
    readonly realSpread: number | null,
  ) {
    this.gap = t.dWinsSteps > 0 ? largestGap(t.loss, t.labelSmoothing) : null;
  }

  /** No issue is active: D is not winning beyond the patience and the last sample check passed. */
  get healthy(): boolean {
    return !this.state.collapsed && !(this.gap !== null && this.state.dWinsStreak >= this.t.dWinsSteps);
  }

  observeStep(step: number, m: { lossD: number; lossG: number; dReal: number; dFake: number }): HealthIssue | null {
    const bad = (['lossD', 'lossG', 'dReal', 'dFake'] as const).filter((k) => !Number.isFinite(m[k]));
    if (bad.length > 0) {
      return { kind: 'diverged', step, message: `training diverged at step ${step}: ${bad.map((k) => `${k} ${m[k]}`).join(', ')}` };
    }
    if (this.gap === null) return null;
    const threshold = this.t.dWinsGap * this.gap;
    if (m.dReal - m.dFake < threshold) {
      this.state.dWinsStreak = 0;
      return null;
    }
    this.state.dWinsStreak += 1;
    if (this.state.dWinsStreak !== this.t.dWinsSteps) return null;
    return {
      kind: 'd-wins',
      step,
      message:
        `D wins at step ${step}: D(x) - D(G(z)) >= ${fmt(threshold)} for ${this.t.dWinsSteps} steps ` +
        `(now D(x) ${fmt(m.dReal)}, D(G(z)) ${fmt(m.dFake)}); G learns little from a D this sure`,
    };
  }

  /**
   * @param fake G's samples on the fixed noise, flat [n, dim] with n >= the count realSpread was measured on
   * @param n samples to use (the count realSpread was measured on)
   */
  observeSamples(step: number, fake: ArrayLike<number>, n: number, dim: number): HealthIssue | null {
    if (this.realSpread === null || this.t.collapseRatio <= 0 || n < 2) return null;
    const spread = meanPairwiseDistance(fake, n, dim);
    if (!Number.isFinite(spread)) {
      return { kind: 'diverged', step, message: `training diverged at step ${step}: G's fixed-noise samples are not finite` };
    }
    const ratio = spread / Math.max(this.realSpread, 1e-12);
    const was = this.state.collapsed;
    this.state.collapsed = ratio < this.t.collapseRatio;
    if (!this.state.collapsed || was) return null;
    return {
      kind: 'collapse',
      step,
      message:
        `mode collapse at step ${step}: the fixed-noise samples' mean pairwise distance ${fmt(spread)} is ${fmt(ratio)} of a real batch's ` +
        `${fmt(this.realSpread)} (threshold ${this.t.collapseRatio})`,
    };
  }
}
