/**
 * Conv arithmetic, checked before any layer is built (PyTorch convention):
 *   conv:        out = floor((in + 2p - k) / s) + 1
 *   transposed:  out = (in - 1) s - 2p + k
 * TF.js layers only know 'same' and 'valid' padding, so each layer is mapped
 * to one of them, with explicit zero-padding or cropping where neither fits.
 */
import { ForgerError } from '../errors.ts';

export interface ConvGeom {
  kernel: number;
  stride: number;
  padding: number;
}

export function convOut(inSize: number, g: ConvGeom): number {
  return Math.floor((inSize + 2 * g.padding - g.kernel) / g.stride) + 1;
}

export function convTransposeOut(inSize: number, g: ConvGeom): number {
  return (inSize - 1) * g.stride - 2 * g.padding + g.kernel;
}

/** How a conv of geometry g on `inSize` maps to TF.js: 'same' when it matches exactly, else pad + 'valid'. */
export function convPlan(layer: string, inSize: number, g: ConvGeom): { out: number; tfPadding: 'same' | 'valid'; pad: number } {
  const out = convOut(inSize, g);
  if (out < 1) {
    throw new ForgerError(
      'E_SHAPE',
      `${layer}: a ${g.kernel}x${g.kernel} conv with stride ${g.stride} and padding ${g.padding} cannot run on ${inSize}x${inSize} ` +
        `(out = floor((${inSize} + 2*${g.padding} - ${g.kernel}) / ${g.stride}) + 1 = ${out}); use fewer D layers or a larger image`,
    );
  }
  // TF 'same': out = ceil(in / s), pad_top = floor(max((out - 1) s + k - in, 0) / 2)
  const sameOut = Math.ceil(inSize / g.stride);
  const sameTop = Math.floor(Math.max((sameOut - 1) * g.stride + g.kernel - inSize, 0) / 2);
  if (sameOut === out && sameTop === g.padding) return { out, tfPadding: 'same', pad: 0 };
  return { out, tfPadding: 'valid', pad: g.padding };
}

/** Same for a transposed conv: 'same' when k - 2p = s, else 'valid' followed by cropping p on each side. */
export function convTransposePlan(layer: string, inSize: number, g: ConvGeom): { out: number; tfPadding: 'same' | 'valid'; crop: number } {
  const out = convTransposeOut(inSize, g);
  if (out < 1) {
    throw new ForgerError(
      'E_SHAPE',
      `${layer}: a ${g.kernel}x${g.kernel} transposed conv with stride ${g.stride} and padding ${g.padding} on ${inSize}x${inSize} ` +
        `gives out = (${inSize} - 1)*${g.stride} - 2*${g.padding} + ${g.kernel} = ${out}; reduce the padding or raise the kernel size`,
    );
  }
  if (g.kernel - 2 * g.padding === g.stride) return { out, tfPadding: 'same', crop: 0 };
  if (2 * g.padding > (inSize - 1) * g.stride + g.kernel - 1) {
    throw new ForgerError('E_SHAPE', `${layer}: padding ${g.padding} crops away the whole ${inSize}x${inSize} -> ${out} output`);
  }
  return { out, tfPadding: 'valid', crop: g.padding };
}
