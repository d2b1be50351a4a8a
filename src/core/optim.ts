/**
 * Adam (Kingma & Ba 2015) as PyTorch writes it:
 *   m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
 *   w <- w - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 * The step count t is a plain number and the bias corrections are computed in
 * float64, so a resumed run continues bit for bit (tf.train.adam keeps b^t as a
 * float32 product and recomputes it differently after setWeights).
 */
import * as tf from '@tensorflow/tfjs';
import { ForgerError } from './errors.ts';

type NamedTensor = { name: string; tensor: tf.Tensor };

/**
 * Name of an optional kernel doing one variable's whole update in one pass (Forger's
 * native backend registers it): inputs param, m, v, grad; attrs lrOverC1, c2, beta1,
 * beta2, epsilon; outputs the new param, m and v, or a single [1] tensor when it
 * updated the three in place. Backends without it run the ops below.
 */
export const FUSED_ADAM = 'ForgerFusedAdam';

export interface AdamOptions {
  learningRate: number;
  beta1: number;
  beta2: number;
  /** @default 1e-8 */
  epsilon?: number;
}

/** What a checkpoint stores: the step count and, per variable in varList order, m and v. */
export interface AdamState {
  step: number;
  moments: { m: Float32Array; v: Float32Array; shape: number[] }[];
}

export interface FusedAdamAttrs {
  lrOverC1: number;
  c2: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** What FUSED_ADAM computes, as tf ops: the new [param, m, v]. */
export function adamOps(w: tf.Tensor, m: tf.Tensor, v: tf.Tensor, g: tf.Tensor, a: FusedAdamAttrs): tf.Tensor[] {
  const m1 = tf.add(tf.mul(m, a.beta1), tf.mul(g, 1 - a.beta1));
  const v1 = tf.add(tf.mul(v, a.beta2), tf.mul(tf.square(g), 1 - a.beta2));
  // w - (lr / c1) * m / (sqrt(v) / c2 + eps)
  const denom = tf.add(tf.div(tf.sqrt(v1), a.c2), a.epsilon);
  return [tf.sub(w, tf.mul(tf.div(m1, denom), a.lrOverC1)), m1, v1];
}

export class Adam extends tf.Optimizer {
  static get className(): string {
    return 'ForgerAdam';
  }

  readonly opts: Required<AdamOptions>;
  step = 0;
  /** Multiplies opts.learningRate (a schedule sets it before each update). @default 1 */
  lrScale = 1;
  private m: tf.Variable[] = [];
  private v: tf.Variable[] = [];

  constructor(opts: AdamOptions) {
    super();
    this.opts = { epsilon: 1e-8, ...opts };
  }

  override applyGradients(grads: tf.NamedTensorMap | NamedTensor[]): void {
    const list = Array.isArray(grads) ? grads : Object.keys(grads).map((name) => ({ name, tensor: grads[name]! }));
    this.step += 1;
    const { beta1: b1, beta2: b2, epsilon } = this.opts;
    const lr = this.opts.learningRate * this.lrScale;
    const c1 = 1 - b1 ** this.step;
    const c2 = Math.sqrt(1 - b2 ** this.step);
    const fused = tf.getKernel(FUSED_ADAM, tf.getBackend()) !== undefined;
    tf.tidy(() => {
      list.forEach(({ name, tensor: g }, i) => {
        const w = tf.engine().registeredVariables[name]!;
        if (this.m[i] === undefined) {
          this.m[i] = tf.variable(tf.zerosLike(w), false);
          this.v[i] = tf.variable(tf.zerosLike(w), false);
        }
        const m = this.m[i]!;
        const v = this.v[i]!;
        if (fused) {
          const attrs: FusedAdamAttrs = { lrOverC1: lr / c1, c2, beta1: b1, beta2: b2, epsilon };
          const out = tf.engine().runKernel(FUSED_ADAM, { param: w, m, v, grad: g }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];
          if (!Array.isArray(out)) return; // updated in place
          const [w1, m1, v1] = out;
          m.assign(m1!);
          v.assign(v1!);
          w.assign(w1!);
          return;
        }
        const [w1, m1, v1] = adamOps(w, m, v, g, { lrOverC1: lr / c1, c2, beta1: b1, beta2: b2, epsilon });
        m.assign(m1!);
        v.assign(v1!);
        w.assign(w1!);
      });
    });
  }

  /** Snapshot of the state as plain arrays (async: reads tensors back). */
  async getState(): Promise<AdamState> {
    const moments = await Promise.all(
      this.m.map(async (m, i) => ({ m: (await m.data()) as Float32Array, v: (await this.v[i]!.data()) as Float32Array, shape: m.shape })),
    );
    return { step: this.step, moments };
  }

  /** Restore a snapshot taken with getState() for the same variable list. */
  setState(state: AdamState): void {
    this.disposeMoments();
    this.step = state.step;
    this.m = state.moments.map((s) => tf.tidy(() => tf.variable(tf.tensor(s.m, s.shape), false)));
    this.v = state.moments.map((s) => tf.tidy(() => tf.variable(tf.tensor(s.v, s.shape), false)));
  }

  override async getWeights(): Promise<NamedTensor[]> {
    return [...this.m.map((t, i) => ({ name: `m${i}`, tensor: t })), ...this.v.map((t, i) => ({ name: `v${i}`, tensor: t }))];
  }

  override async setWeights(): Promise<void> {
    throw new ForgerError('E_CHECKPOINT', 'Adam.setWeights is not supported; use Adam.setState');
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...this.opts };
  }

  private disposeMoments(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
    this.m = [];
    this.v = [];
  }

  override dispose(): void {
    this.disposeMoments();
    super.dispose();
  }
}
