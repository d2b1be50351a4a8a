/** The part of gifenc (untyped, CommonJS) that gif.ts uses. Import it as a default export. */
declare module 'gifenc' {
  export type Palette = number[][];

  export interface WriteFrameOptions {
    /** Colour table; required on the first frame (becomes the global table). */
    palette?: Palette;
    /** Frame delay in milliseconds (stored as centiseconds). */
    delay?: number;
    /** -1 play once, 0 loop forever, n > 0 repeat n times. */
    repeat?: number;
    transparent?: boolean;
    transparentIndex?: number;
    dispose?: number;
  }

  export interface Encoder {
    writeFrame(index: Uint8Array, width: number, height: number, opts?: WriteFrameOptions): void;
    finish(): void;
    bytes(): Uint8Array;
  }

  export type ColorFormat = 'rgb565' | 'rgb444' | 'rgba4444';

  const gifenc: {
    GIFEncoder(opts?: { auto?: boolean; initialCapacity?: number }): Encoder;
    quantize(rgba: Uint8Array, maxColors: number, opts?: { format?: ColorFormat }): Palette;
    applyPalette(rgba: Uint8Array, palette: Palette, format?: ColorFormat): Uint8Array;
  };
  export default gifenc;
}
