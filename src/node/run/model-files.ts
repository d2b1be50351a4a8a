/**
 * LayersModel <-> files in the TF.js format (model.json + weights.bin), the same
 * files tf.loadLayersModel('.../model.json') reads in a browser.
 */
import * as tf from '@tensorflow/tfjs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ForgerError } from '../../core/errors.ts';
// registers Forger's own layer classes (minibatch stddev / discrimination, PacGAN packing) for tf.loadLayersModel
import '../../core/models/minibatch.ts';
import '../../core/models/pack.ts';
// and the spectrally normalised Dense / Conv2D / Conv2DTranspose
import '../../core/models/spectral-norm.ts';
import { writeFileAtomic } from '../io/atomic.ts';

function joinWeights(data: tf.io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  return new Uint8Array(tf.io.CompositeArrayBuffer.join(data));
}

/** Write `model` as dir/model.json + dir/weights.bin; `metadata` goes into model.json's userDefinedMetadata. */
export async function saveModelFiles(model: tf.LayersModel, dir: string, metadata: Record<string, unknown> = {}): Promise<void> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    { includeOptimizer: false },
  );
  if (!artifacts) throw new ForgerError('E_IO', `could not serialise ${model.name}`);
  const modelJson = {
    format: 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy: null,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
    userDefinedMetadata: metadata,
  };
  await writeFileAtomic(join(dir, 'weights.bin'), joinWeights(artifacts.weightData));
  await writeFileAtomic(join(dir, 'model.json'), JSON.stringify(modelJson));
}

interface ModelJson {
  modelTopology: object;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  userDefinedMetadata?: Record<string, unknown>;
}

async function readModelJson(dir: string): Promise<{ json: ModelJson; weights: ArrayBuffer }> {
  const path = join(dir, 'model.json');
  let json: ModelJson;
  try {
    json = JSON.parse(await readFile(path, 'utf8')) as ModelJson;
  } catch (e) {
    throw new ForgerError('E_CHECKPOINT', `cannot read ${path}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!json || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new ForgerError('E_CHECKPOINT', `${path} is not a TF.js layers model (no modelTopology/weightsManifest)`);
  }
  const parts: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      try {
        parts.push(await readFile(join(dir, p)));
      } catch (e) {
        throw new ForgerError('E_CHECKPOINT', `cannot read weights ${join(dir, p)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    }
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const buf = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    buf.set(p, o);
    o += p.length;
  }
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const expected = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * 4, 0);
  if (expected !== total) {
    throw new ForgerError('E_CHECKPOINT', `weights in ${dir} are ${total} bytes, but model.json describes ${expected}; the checkpoint is truncated or corrupt`);
  }
  return { json, weights: buf.buffer };
}

/** Load a standalone LayersModel (for sampling, scoring, info). */
export async function loadModelFiles(dir: string): Promise<{ model: tf.LayersModel; metadata: Record<string, unknown> }> {
  const { json, weights } = await readModelJson(dir);
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  try {
    const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData: weights }));
    return { model, metadata: json.userDefinedMetadata ?? {} };
  } catch (e) {
    throw new ForgerError('E_CHECKPOINT', `cannot rebuild the model in ${dir}: ${(e as Error).message.split('\n')[0]}`);
  }
}

/**
 * Copy saved weights into an existing model of the same architecture, matching
 * by weight name and checking every shape.
 */
export async function loadWeightsInto(model: tf.LayersModel, dir: string): Promise<void> {
  const { json, weights } = await readModelJson(dir);
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const saved = tf.io.decodeWeights(weights, specs);
  try {
    const values = model.weights.map((w) => {
      const t = saved[w.originalName];
      if (!t) {
        throw new ForgerError('E_CHECKPOINT', `checkpoint ${dir} has no weight ${w.originalName}; it was saved from a different architecture`);
      }
      if (!tf.util.arraysEqual(t.shape, w.shape as number[])) {
        throw new ForgerError('E_CHECKPOINT', `checkpoint weight ${w.originalName} has shape [${t.shape}], the model expects [${w.shape}]; the checkpoint does not match the config`);
      }
      return t;
    });
    if (Object.keys(saved).length !== model.weights.length) {
      throw new ForgerError('E_CHECKPOINT', `checkpoint ${dir} has ${Object.keys(saved).length} weights, the model has ${model.weights.length}; it does not match the config`);
    }
    model.setWeights(values);
  } finally {
    tf.dispose(Object.values(saved));
  }
}
