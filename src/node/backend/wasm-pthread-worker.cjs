'use strict';
/**
 * The thread script for TF.js's threaded wasm build under Node's worker_threads.
 *
 * tfjs-backend-wasm hands Emscripten this script as a blob: URL, and the main
 * module script as a Blob; Node can load neither (ERR_WORKER_PATH), which is why
 * the package turns threads off in Node. Here the same script text runs as a
 * file, and the Blob it is sent is read from the package's copy on disk.
 * See wasm-threads.ts.
 */
const path = require('node:path');

const wasmOut = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '..', 'wasm-out');
const mainScript = path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js');

// The thread script turns the Blob it is sent into a URL, then reads that URL as a file.
URL.createObjectURL = () => mainScript;
URL.revokeObjectURL = () => {};

const { wasmWorkerContents } = require(path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js'));
// The package keeps the script in a template literal whose "\n" escapes became real newlines; undo that as tfjs does.
new Function('require', '__filename', wasmWorkerContents.replace(/\n/g, '\\n'))(require, __filename);
