/**
 * Real-data samplers: batches of real samples as tensors in the model's range,
 * with a state a checkpoint can store so a resumed run sees the same batches.
 */
import * as tf from '@tensorflow/tfjs';
import { ForgerError } from './errors.ts';
import { fromUint8, type ImageSet } from './image.ts';
import { Rng, type RngState } from './rng.ts';
import { sampleCircles, sampleToy, type ToyName } from './toy2d.ts';

export type SamplerState = { kind: 'epochs'; epoch: number; cursor: number } | { kind: 'stream'; rng: RngState };

export interface RealData {
  /** Number of distinct samples; null for endless generated data. */
  readonly size: number | null;
  /** Shape of one sample. */
  readonly shape: number[];
  /** Class names in label order when the samples carry labels (conditional training); null otherwise. */
  readonly classNames: readonly string[] | null;
  /** The next `n` samples, [n, ...shape]. */
  batch(n: number): tf.Tensor;
  /**
   * The next `n` samples with their labels in [0, classNames.length); the same samples
   * and the same state as batch(n). Only where classNames is set.
   */
  labeledBatch?(n: number): { x: tf.Tensor; labels: Int32Array };
  getState(): SamplerState;
  setState(state: SamplerState): void;
}

/**
 * A finite image set, visited in a fresh permutation each epoch. The permutation
 * of epoch e comes from (seed, e), so the state is just (epoch, cursor). With labels
 * (set.labels and set.classNames), labeledBatch returns each image's label with it.
 */
export class ImageSampler implements RealData {
  readonly size: number;
  readonly shape: number[];
  readonly classNames: readonly string[] | null;
  private epoch = 0;
  private cursor = 0;
  private perm: Int32Array;

  constructor(
    private readonly set: ImageSet,
    private readonly range: [number, number],
    private readonly seed: number,
  ) {
    if (set.count < 1) throw new ForgerError('E_DATA', 'the dataset is empty');
    this.size = set.count;
    this.shape = [...set.shape];
    this.classNames = set.labels && set.classNames ? [...set.classNames] : null;
    if (this.classNames && set.labels!.length !== set.count) {
      throw new ForgerError('E_DATA', `the dataset has ${set.labels!.length} labels for ${set.count} images`);
    }
    this.perm = this.permutation(0);
  }

  private permutation(epoch: number): Int32Array {
    const p = new Int32Array(this.size);
    for (let i = 0; i < p.length; i++) p[i] = i;
    new Rng(this.seed, `data-epoch-${epoch}`).shuffle(p);
    return p;
  }

  /** The indices of the next n images, advancing the epoch and cursor. */
  private next(n: number): Int32Array {
    const idx = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      if (this.cursor >= this.size) {
        this.epoch += 1;
        this.cursor = 0;
        this.perm = this.permutation(this.epoch);
      }
      idx[i] = this.perm[this.cursor++]!;
    }
    return idx;
  }

  private pixels(idx: Int32Array): tf.Tensor {
    const per = this.shape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(idx.length * per);
    idx.forEach((j, i) => fromUint8(this.set.pixels.subarray(j * per, (j + 1) * per), this.range, out.subarray(i * per, (i + 1) * per)));
    return tf.tensor(out, [idx.length, ...this.shape]);
  }

  batch(n: number): tf.Tensor {
    return this.pixels(this.next(n));
  }

  labeledBatch(n: number): { x: tf.Tensor; labels: Int32Array } {
    const labels = this.set.labels;
    if (!this.classNames || !labels) throw new ForgerError('E_DATA', 'this dataset has no class labels');
    const idx = this.next(n);
    return { x: this.pixels(idx), labels: Int32Array.from(idx, (j) => labels[j]!) };
  }

  getState(): SamplerState {
    return { kind: 'epochs', epoch: this.epoch, cursor: this.cursor };
  }

  setState(state: SamplerState): void {
    if (state.kind !== 'epochs') throw new ForgerError('E_CHECKPOINT', `data state of kind ${state.kind} does not fit an image dataset`);
    this.epoch = state.epoch;
    this.cursor = state.cursor;
    this.perm = this.permutation(this.epoch);
  }
}

/** Endless data drawn from a seeded stream: 2D toy mixtures and 3x3 circles. */
export class StreamSampler implements RealData {
  readonly size = null;
  readonly classNames = null;
  private rng: Rng;

  constructor(
    readonly shape: number[],
    private readonly draw: (n: number, rng: Rng) => Float32Array,
    seed: number,
  ) {
    this.rng = new Rng(seed, 'data');
  }

  batch(n: number): tf.Tensor {
    return tf.tensor(this.draw(n, this.rng), [n, ...this.shape]);
  }

  getState(): SamplerState {
    return { kind: 'stream', rng: this.rng.getState() };
  }

  setState(state: SamplerState): void {
    if (state.kind !== 'stream') throw new ForgerError('E_CHECKPOINT', `data state of kind ${state.kind} does not fit a generated dataset`);
    this.rng.setState(state.rng);
  }
}

export function toySampler(name: ToyName, seed: number): StreamSampler {
  return new StreamSampler([2], (n, rng) => sampleToy(name, n, rng), seed);
}

export function circlesSampler(range: [number, number], seed: number): StreamSampler {
  return new StreamSampler([3, 3, 1], (n, rng) => fromUint8(sampleCircles(n, rng), range), seed);
}
