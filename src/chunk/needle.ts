/**
 * Per-block needle filters (FORMAT.md "Needle filter", docs/adr/0023-needle-index.md): a Bloom
 * filter of a block's winnowed 5-grams, so that a substring needle of NEEDLE_MIN_BYTES (8) or
 * more bytes can rule a block out, whatever separators it holds or lacks.
 *
 * Grams: every GRAM_BYTES-byte substring of a line (grams never span two lines). Winnowing
 * (Schleimer, Wilkerson, Aiken 2003): of every GRAM_WINDOW consecutive grams of a line (8 bytes of
 * text) the one with the smallest hash is selected; the block's filter holds the selected hashes.
 * A line that contains a needle contains each of the needle's windows, and a window selects the
 * same gram wherever it occurs, so every gram the needle's own windows select is selected in the
 * line too. A block whose filter lacks one of them cannot hold the needle (no false negatives);
 * each further needle window that selects a new gram multiplies the false-positive rate.
 *
 * The order key of the gram b0 … b4 (32-bit arithmetic, `imul` = low 32 bits of the product):
 * `x = b0 | b1<<8 | b2<<16 | b3<<24; o = imul(x XOR imul(b4 + 1, 0x9e3779b1), 0x85ebca6b)`, compared
 * as a signed 32-bit integer; a window selects the gram with the smallest key (any fixed order
 * keeps the guarantee; two multiplies per byte is the cheapest that still looks random). The
 * filter holds murmur3's fmix32 of the selected keys, 0 mapped to 1, computed once per selection.
 */
import { BlockBlooms, countingMap, distinctEstimate } from '../wasm/kernels.js';
import { bloomMayContainAll, setBits } from './bloom.js';
import { GRAM_BITS_PER_GRAM, GRAM_BYTES, GRAM_HASHES, GRAM_WINDOW, MAX_BLOOM_BYTES, MAX_GRAM_FILTER_GRAMS } from './consts.js';

/** Shortest needle the filter answers for: one whole window of grams. */
export const NEEDLE_MIN_BYTES = GRAM_BYTES + GRAM_WINDOW - 1;

/**
 * Writes to `out` the element (fmix32 of the selected key, 0 mapped to 1) of every window of
 * the lines buf[offsets[l], offsets[l+1]) for l in [0, n), once per run of windows of a line
 * that select the same gram; returns how many were written (at most one per byte of the lines:
 * `out` must have room for that). The hot loop of the needle filter in TypeScript: gram keys
 * roll through four locals. Elements may repeat (the same gram selected in two places).
 */
export function selectBlockGrams(buf: Uint8Array, offsets: Int32Array, n: number, out: Uint32Array): number {
  let count = 0;
  for (let l = 0; l < n; l++) {
    const s = offsets[l]!;
    const e = offsets[l + 1]!;
    if (e - s < NEEDLE_MIN_BYTES) continue;
    let x = buf[s]! | (buf[s + 1]! << 8) | (buf[s + 2]! << 16) | (buf[s + 3]! << 24);
    let h0 = 0;
    let h1 = 0;
    let h2 = 0;
    let last = 0; // the last selected key (valid from window 3 on)
    // Gram i starts at s + i; window i covers grams i-3 … i, from the fourth gram on.
    for (let p = s + 4, i = 0; p < e; p++, i++) {
      const b4 = buf[p]!;
      const h = Math.imul(x ^ Math.imul(b4 + 1, 0x9e3779b1), 0x85ebca6b);
      x = (x >>> 8) | (b4 << 24);
      if (i >= 3) {
        let o = h0 < h1 ? h0 : h1;
        const o2 = h2 < h ? h2 : h;
        if (o2 < o) o = o2;
        // Consecutive windows mostly select the same gram: write it once.
        if (i === 3 || o !== last) {
          last = o;
          // fmix32(o), 0 → 1: the element the filter holds.
          let m = o ^ (o >>> 16);
          m = Math.imul(m, 0x85ebca6b);
          m ^= m >>> 13;
          m = Math.imul(m, 0xc2b2ae35);
          m ^= m >>> 16;
          out[count++] = m === 0 ? 1 : m;
        }
      }
      h0 = h1;
      h1 = h2;
      h2 = h;
    }
  }
  return count;
}

/** Scratch element list for block cuts (synchronous, so one serves every chunk of a thread). */
let scratch = new Uint32Array(1 << 16);
/** A scratch list grown past this many elements is replaced after use. */
const SCRATCH_KEEP = 1 << 19;

/** Blocks up to this size are copied into WebAssembly memory to build their filter. */
const WASM_MAX_BLOCK_BYTES = 16 * 1024 * 1024;
/** The WebAssembly builder of this thread, made on first use (null: unavailable). */
let wasmGrams: BlockBlooms | null | undefined;

/**
 * The needle filter of a block's lines (line i = lines[offsets[i], offsets[i+1]) for i < n):
 * GRAM_BITS_PER_GRAM bits per distinct selected gram, GRAM_HASHES probes, the distinct count
 * estimated by linear counting (FORMAT.md "Needle filter"; no hash set: every selection goes
 * into the filter, where a repeat sets the same bits). Null when the block has more than
 * MAX_GRAM_FILTER_GRAMS distinct selected grams (it is then always scanned). Built in
 * WebAssembly (src/wasm/kernels.wat `gram_keys`, `gram_elements`) when it can be;
 * `buildNeedleFilterJs` is the same in TypeScript.
 */
export function buildNeedleFilter(lines: Uint8Array, offsets: Int32Array, n: number): Buffer | null {
  if (wasmGrams === undefined) wasmGrams = BlockBlooms.create(MAX_GRAM_FILTER_GRAMS, MAX_BLOOM_BYTES, WASM_MAX_BLOCK_BYTES);
  const built = wasmGrams?.buildGrams(lines, offsets, n, GRAM_BITS_PER_GRAM, GRAM_HASHES);
  return built !== undefined ? built : buildNeedleFilterJs(lines, offsets, n);
}

/** buildNeedleFilter in TypeScript (the reference of the WebAssembly builder); `limit` as MAX_GRAM_FILTER_GRAMS. */
export function buildNeedleFilterJs(lines: Uint8Array, offsets: Int32Array, n: number, limit = MAX_GRAM_FILTER_GRAMS): Buffer | null {
  const used = n === 0 ? 0 : offsets[n]!;
  if (scratch.length < used) scratch = new Uint32Array(used);
  const list = scratch;
  const count = selectBlockGrams(lines, offsets, n, list);
  if (scratch.length > SCRATCH_KEEP) scratch = new Uint32Array(1 << 16);
  const { bits, shift } = countingMap(count);
  const map = new Uint8Array(bits / 8);
  for (let i = 0; i < count; i++) {
    const b = list[i]! >>> shift;
    map[b >>> 3]! |= 1 << (b & 7);
  }
  let ones = 0;
  for (let i = 0; i < map.length; i++) ones += POPCOUNT[map[i]!]!;
  const elements = distinctEstimate(ones, bits);
  if (elements > limit) return null;
  const out = Buffer.alloc(Math.max(1, Math.ceil((elements * GRAM_BITS_PER_GRAM) / 8)));
  const m = out.length * 8;
  for (let i = 0; i < count; i++) setBits(out, m, GRAM_HASHES, list[i]!);
  return out;
}

/** Set bits of each byte value. */
const POPCOUNT = Uint8Array.from({ length: 256 }, (_, v) => {
  let c = 0;
  for (let x = v; x !== 0; x &= x - 1) c++;
  return c;
});

const NO_HASHES = new Uint32Array(0);

/**
 * The distinct gram hashes the windows of `needle` select (as unsigned numbers): every block
 * holding the needle in one line has all of them in its needle filter. Empty for needles
 * shorter than NEEDLE_MIN_BYTES.
 */
export function needleGramHashes(needle: Uint8Array): Uint32Array {
  if (needle.length < NEEDLE_MIN_BYTES) return NO_HASHES;
  const list = new Uint32Array(needle.length);
  const count = selectBlockGrams(needle, Int32Array.of(0, needle.length), 1, list);
  return Uint32Array.from(new Set(list.subarray(0, count)));
}

/**
 * What a query needs a block to (possibly) hold: token hashes (bloom.ts `tokenHash`, tested
 * against the token filter) and needle gram hashes (`needleGramHashes`, tested against the
 * needle filter), both answered from the metas; and the literals themselves, which a reader
 * looks for in the decompressed lines before it decodes a block (`readBlockUnlessLacking`).
 * Immutable.
 */
export class BlockProbe {
  /** Tests nothing: every block may match. */
  static readonly EMPTY = new BlockProbe(NO_HASHES, NO_HASHES);

  constructor(
    /** Hashes of whole tokens every matching line holds. */
    readonly tokens: Uint32Array,
    /** Gram hashes every matching line's selected grams include. */
    readonly grams: Uint32Array,
    /** UTF-8 bytes every matching line holds (each at least one byte). */
    readonly literals: readonly Buffer[] = [],
  ) {}

  /** Number of hashes tested from the metas; 0 when the filters can rule nothing out. */
  get length(): number {
    return this.tokens.length + this.grams.length;
  }
}

/**
 * Whether a block with token filter `tokenBits` (k = `tokenK`) and needle filter `gramBits`
 * (k = `gramK`) may hold what `probe` asks for; a null filter answers "may".
 */
export function filtersMayMatch(tokenBits: Uint8Array | null, tokenK: number, gramBits: Uint8Array | null, gramK: number, probe: BlockProbe): boolean {
  if (tokenBits !== null && probe.tokens.length > 0 && !bloomMayContainAll(tokenBits, tokenK, probe.tokens)) return false;
  if (gramBits !== null && probe.grams.length > 0 && !bloomMayContainAll(gramBits, gramK, probe.grams)) return false;
  return true;
}
