/**
 * Forger's isomorphic core: runs in Node and in the browser (only @tensorflow/tfjs).
 * Node-only pieces (files, datasets, checkpoints, CLI, backend setup) are in 'forger/node'.
 */
export { AUGMENT_OPS, DEFAULTS, DEFAULT_PRESET, PRESETS, dataRange, isConditional, isImageModel, lrFactor, mergeConfig, parseAugmentList, resolveClasses, resolveConfig, resolveSteps, validateConfig } from './core/config.ts';
export type * from './core/config.ts';
export { ForgerError, isForgerError, type ErrorCode } from './core/errors.ts';
export { Rng, type RngState } from './core/rng.ts';
export { lerp, sampleNoise, slerp } from './core/noise.ts';
export { fromUint8, imageAt, makeGrid, toUint8, type GridOptions, type Image8, type ImageSet } from './core/image.ts';
export { buildDiscriminator, buildGenerator, buildModels, disposeModels, type GanModels } from './core/models/index.ts';
export { buildConditionalDiscriminator, buildConditionalGenerator } from './core/models/conditional.ts';
export { classRows, drawLabels, listClasses, oneHot, parseClass, perClassFor } from './core/labels.ts';
export { convOut, convTransposeOut } from './core/models/conv-arith.ts';
export { classLoss, discriminatorLoss, generatorLoss, gradientPenalty, inputGradient, interpolates, meanOutput, meanProbability, r1Penalty } from './core/losses.ts';
export { featureMatchingLoss, featureView, generatorObjective, meanFeatures, resolveFeatureLayer } from './core/feature-matching.ts';
export { addInstanceNoise, instanceNoiseSigma } from './core/instance-noise.ts';
export { applyAugment, cutoutSize, diffAugment, drawAugmentParams, maxShift, type AugmentParams } from './core/augment.ts';
export { Adam, type AdamOptions, type AdamState } from './core/optim.ts';
export { readMetrics, trainStep, trainableVariables, type StepLabels, type StepMetrics, type StepModels } from './core/train-step.ts';
export { GanRun, type HistoryRow, type RunState, type TrainCallbacks, type TrainOutcome } from './core/trainer.ts';
export { HealthMonitor, largestGap, meanPairwiseDistance, type HealthEvent, type HealthIssue, type HealthIssueKind, type HealthState, type MonitorState } from './core/health.ts';
export { ImageSampler, StreamSampler, circlesSampler, toySampler, type RealData, type SamplerState } from './core/data.ts';
export { generate, generatorClasses, sample, sampleClassRows, scoreConditional, scoreReal, toPixels, type ConditionalScores, type GenerateOptions } from './core/sample.ts';
export { makeCirclesSet, modeStats, sampleCircles, sampleToy, toyModes, toyRange, type ToyName } from './core/toy2d.ts';
