/** The kernels.gen.ts text for the WAT source `wat`. */
export function generate(wat: string): Promise<string>;
