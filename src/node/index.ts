/**
 * Forger's Node side: backend setup, datasets, files, checkpoints and whole runs.
 * The isomorphic core is re-exported, so `import * as forger from 'forger/node'` has everything.
 */
export * from '../index.ts';
export { setupBackend, type BackendChoice, type BackendSetup } from './backend/setup.ts';
export { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from './backend/kernels.ts';
export { MNIST_CLASSES, loadMnist } from './data/mnist.ts';
export { FASHION_CLASSES, FASHION_DEFAULT_DIR, loadFashion } from './data/fashion.ts';
export { loadIdxImages, readIdx } from './data/idx.ts';
export { loadFolder, type FolderOptions } from './data/folder.ts';
export { decodeImage } from './data/decode.ts';
export { resizeCenterCrop } from './data/resize.ts';
export { writeEmojiFolder } from './data/emoji.ts';
export { encodePng, writePng } from './io/png.ts';
export { encodeGif, writeGif } from './io/gif.ts';
export { chartPanel, lineChart, scatter } from './io/plot.ts';
export { writeFileAtomic } from './io/atomic.ts';
export { loadRealData, loadImageSet } from './run/dataset.ts';
export { findHealthyCheckpoint, findLatestCheckpoint, readCheckpointState, restoreCheckpoint, saveCheckpoint, type CheckpointState } from './run/checkpoint.ts';
export { loadModelFiles, loadWeightsInto, saveModelFiles } from './run/model-files.ts';
export { loadRun, type LoadedRun } from './run/load.ts';
export { describeConfig, describeHealth, resumeConfig, trainRun, type Logger, type TrainRunOptions, type TrainRunResult } from './run/train.ts';
export { dOutputChart, sampleGrid, trainingCharts, writeProgressImages } from './run/progress-images.ts';
