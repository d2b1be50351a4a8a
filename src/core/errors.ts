/** Error codes: what kind of thing went wrong, stable for programs to match on. */
export type ErrorCode =
  | 'E_CONFIG' // a config value, flag or preset is invalid
  | 'E_SHAPE' // conv arithmetic or tensor shapes do not fit
  | 'E_DATA' // a dataset or image is missing, corrupt or of the wrong size
  | 'E_CHECKPOINT' // a checkpoint is missing, corrupt or does not match the config
  | 'E_IO' // a file or directory cannot be read or written
  | 'E_BACKEND' // a TensorFlow.js backend cannot be set up
  | 'E_DIVERGED' // training produced NaN/Inf
  | 'E_USAGE'; // the command line is malformed

/**
 * The one error class Forger throws. The message is a single line that says
 * what is wrong, with which value, and what is allowed.
 */
export class ForgerError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ForgerError';
    this.code = code;
  }
}

export function isForgerError(e: unknown): e is ForgerError {
  return e instanceof ForgerError;
}
