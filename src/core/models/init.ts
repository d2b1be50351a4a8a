/** Seeded weight initializers, so a --seed fixes the initial weights too. */
import * as tf from '@tensorflow/tfjs';
import type { InitName } from '../config.ts';
import { Rng } from '../rng.ts';

type Initializer = ReturnType<typeof tf.initializers.glorotUniform>;
export type Initializers = { kernel: () => Initializer };

export function makeInitializers(init: InitName, seed: number, stream: string): Initializers {
  const rng = new Rng(seed, stream);
  const next = () => rng.nextUint32() % 2147483647;
  return {
    kernel: () =>
      init === 'dcgan'
        ? tf.initializers.randomNormal({ mean: 0, stddev: 0.02, seed: next() })
        : tf.initializers.glorotUniform({ seed: next() }),
  };
}
