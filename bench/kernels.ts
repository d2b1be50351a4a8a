/**
 * Times the stock wasm kernels against registerWasmTrainingKernels()'s on the
 * DCGAN MNIST shapes (batch 64). A script, not a test:
 *   npx tsx bench/kernels.ts [repeats]
 * Conv2DBackpropFilter has no stock wasm kernel (and the cpu backend takes seconds
 * to a minute per call at these sizes), so its baseline is the same layer's forward
 * conv2d on wasm: the same multiply-adds through XNNPACK.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../src/node/backend/kernels.ts';

type Shape4 = [number, number, number, number];
/** Makes the inputs, returns the call to time. */
type Setup = () => () => tf.Tensor;

interface Row {
  name: string;
  baselineName: string;
  /** timed before the kernels are registered */
  baseline: Setup;
  ours: Setup;
}

const repeats = Number(process.argv[2] ?? 10);

function input(shape: number[], seed: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, (_, i) => Math.sin((i + 1) * 12.9898 + seed) * 0.5), shape);
}

/** conv2dTranspose [N, h, h, inC] -> [N, 2h, 2h, outC], k4 s2 'same' (the Conv2DBackpropInput kernel). */
function transposedConv(n: number, h: number, inC: number, outC: number): Setup {
  return () => {
    const x = input([n, h, h, inC], 1) as tf.Tensor4D;
    const f = input([4, 4, outC, inC], 2) as tf.Tensor4D;
    const outShape: Shape4 = [n, h * 2, h * 2, outC];
    return () => tf.conv2dTranspose(x, f, outShape, 2, 'same');
  };
}

/** dW of conv2d [N, h, h, inC] -> [N, h/2, h/2, outC], k4 s2 'same' (the Conv2DBackpropFilter kernel). */
function filterGrad(n: number, h: number, inC: number, outC: number): Setup {
  return () => {
    const x = input([n, h, h, inC], 3);
    const dy = input([n, h / 2, h / 2, outC], 4);
    const attrs = { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [4, 4, inC, outC] };
    return () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs) as tf.Tensor;
  };
}

/** The forward conv2d of the layer filterGrad() differentiates. */
function forwardConv(n: number, h: number, inC: number, outC: number): Setup {
  return () => {
    const x = input([n, h, h, inC], 3) as tf.Tensor4D;
    const f = input([4, 4, inC, outC], 5) as tf.Tensor4D;
    return () => tf.conv2d(x, f, 2, 'same');
  };
}

/** Batch norm's gradient tiles per-channel terms [1, 1, 1, C] to [N, h, h, C]. */
function tile(n: number, h: number, c: number): Setup {
  return () => {
    const x = input([1, 1, 1, c], 6);
    return () => tf.tile(x, [n, h, h, 1]);
  };
}

const rows: Row[] = [
  { name: 'G conv2dTranspose 64x7x7x128 -> 64x14x14x64', baselineName: 'wasm stock', baseline: transposedConv(64, 7, 128, 64), ours: transposedConv(64, 7, 128, 64) },
  { name: 'G conv2dTranspose 64x14x14x64 -> 64x28x28x1', baselineName: 'wasm stock', baseline: transposedConv(64, 14, 64, 1), ours: transposedConv(64, 14, 64, 1) },
  { name: 'D dW conv2d 64x28x28x1 -> 64x14x14x64', baselineName: 'wasm conv2d forward', baseline: forwardConv(64, 28, 1, 64), ours: filterGrad(64, 28, 1, 64) },
  { name: 'D dW conv2d 64x14x14x64 -> 64x7x7x128', baselineName: 'wasm conv2d forward', baseline: forwardConv(64, 14, 64, 128), ours: filterGrad(64, 14, 64, 128) },
  { name: 'BN grad tile 1x1x1x64 -> 64x14x14x64', baselineName: 'wasm stock', baseline: tile(64, 14, 64), ours: tile(64, 14, 64) },
];

/** Median milliseconds of `repeats` runs after two warm-ups. */
function time(setup: Setup): number {
  return tf.tidy(() => {
    const run = setup();
    for (let i = 0; i < 2; i++) tf.tidy(run).dataSync();
    const ms: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      const out = run();
      out.dataSync();
      ms.push(performance.now() - t0);
      out.dispose();
    }
    ms.sort((a, b) => a - b);
    return ms[Math.floor(ms.length / 2)]!;
  });
}

await tf.setBackend('wasm');
const baseline = rows.map((r) => time(r.baseline));
registerWasmTrainingKernels();
const ours = rows.map((r) => time(r.ours));

const table = [['case', 'baseline', 'baseline ms', 'forger ms', 'baseline/forger']];
rows.forEach((r, i) => table.push([r.name, r.baselineName, baseline[i]!.toFixed(1), ours[i]!.toFixed(1), `${(baseline[i]! / ours[i]!).toFixed(2)}x`]));
const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
for (const row of table) console.log(row.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
console.log(`median of ${repeats} runs after 2 warm-ups; wasm simd: ${simd}, threads: ${threads}`);
