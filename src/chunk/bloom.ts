/**
 * Per-block token bloom filters (VictoriaLogs' idea; FORMAT.md "Token bloom filter").
 *
 * A token is a maximal run of ASCII letters and digits ([0-9A-Za-z]); every other byte,
 * including `_`, whitespace, punctuation and all bytes ≥ 0x80, separates tokens. Tokens are
 * case-sensitive. A token's hash is FNV-1a over its bytes, finished with murmur3's fmix32,
 * with 0 mapped to 1 (0 marks an empty slot in the dedupe set). Hashes are computed while
 * scanning: no strings, no per-token allocation.
 *
 * A filter of m = 8·bloomBytes bits with k probes sets, per distinct token hash h, the bits
 * floor(((h + j·δ) mod 2^32) · m / 2^32) for j = 0 … k-1, where δ = h rotated right by 17 (LevelDB's double
 * hashing). Bit b lives in byte b >> 3, bit b & 7 (least significant first).
 */
import { BlockBlooms } from '../wasm/kernels.js';
import { BLOOM_BITS_PER_TOKEN, BLOOM_HASHES, MAX_BLOOM_BYTES, MAX_BLOOM_TOKENS } from './consts.js';

/** 1 for bytes [0-9A-Za-z], 0 for separators. */
const TOKEN_BYTE = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  TOKEN_BYTE[c] = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) ? 1 : 0;
}

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 16777619;

/** murmur3 fmix32 of an FNV-1a state, never 0; an int32 (callers store it in a Uint32Array or use `>>> 0`). */
function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h === 0 ? 1 : h;
}

/** Hash of the token bytes buf[start, end) (all token bytes; the caller delimited them). */
export function tokenHash(buf: Uint8Array, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, FNV_PRIME);
  return finish(h) >>> 0;
}

/**
 * Open-addressing set of the distinct token hashes of some lines; reused across blocks
 * (cutBlock is synchronous). Holds at most `limit` hashes: past that `overflow` is set.
 */
export class TokenHashSet {
  /** Slots, 0 = empty. Length is a power of two, at most half full. */
  slots: Int32Array;
  size = 0;
  overflow = false;
  readonly limit: number;

  constructor(limit: number, initialSlots = 1 << 12) {
    this.limit = limit;
    this.slots = new Int32Array(initialSlots);
  }

  clear(): void {
    if (this.size > 0) this.slots.fill(0);
    this.size = 0;
    this.overflow = false;
  }

  /**
   * Adds the hash of every token of the lines buf[offsets[l], offsets[l+1]) for l in [0, n).
   * Each line is tokenized on its own: a block's lines are stored back to back, and a token
   * never spans two lines. The hot loop of a block cut, so the set probe is written inline.
   */
  addLines(buf: Uint8Array, offsets: Int32Array, n: number): void {
    const table = TOKEN_BYTE;
    let slots = this.slots;
    let mask = slots.length - 1;
    let size = this.size;
    const limit = this.limit;
    if (this.overflow) return;
    for (let l = 0; l < n; l++) {
      let i = offsets[l]!;
      const end = offsets[l + 1]!;
      while (i < end) {
        while (i < end && table[buf[i]!] === 0) i++;
        if (i >= end) break;
        let h = FNV_OFFSET;
        let c = buf[i]!;
        do {
          h = Math.imul(h ^ c, FNV_PRIME);
          i++;
        } while (i < end && table[(c = buf[i]!)] === 1);
        // finish(h), inlined.
        h ^= h >>> 16;
        h = Math.imul(h, 0x85ebca6b);
        h ^= h >>> 13;
        h = Math.imul(h, 0xc2b2ae35);
        h ^= h >>> 16;
        if (h === 0) h = 1;
        let p = h & mask;
        for (;;) {
          const v = slots[p]!;
          if (v === h) break;
          if (v === 0) {
            if (size >= limit) {
              this.size = size;
              this.overflow = true;
              return;
            }
            slots[p] = h;
            if (++size * 2 > slots.length) {
              this.size = size;
              this.grow();
              slots = this.slots;
              mask = slots.length - 1;
            }
            break;
          }
          p = (p + 1) & mask;
        }
      }
    }
    this.size = size;
  }

  /** Adds one non-zero int32 hash; false (and `overflow` set) when the set is full without it. */
  add(h: number): boolean {
    if (this.overflow) return false;
    const slots = this.slots;
    const mask = slots.length - 1;
    let p = h & mask;
    for (;;) {
      const v = slots[p]!;
      if (v === h) return true;
      if (v === 0) break;
      p = (p + 1) & mask;
    }
    if (this.size >= this.limit) {
      this.overflow = true;
      return false;
    }
    slots[p] = h;
    if (++this.size * 2 > slots.length) this.grow();
    return true;
  }

  /** Adds the hash of every token of buf[start, end). */
  addRange(buf: Uint8Array, start: number, end: number): void {
    const offs = new Int32Array(2);
    offs[0] = start;
    offs[1] = end;
    this.addLines(buf, offs, 1);
  }

  /** Doubles the slots (callers keep the set at most half full). */
  grow(): void {
    const old = this.slots;
    const next = new Int32Array(old.length * 2);
    const mask = next.length - 1;
    for (let j = 0; j < old.length; j++) {
      const h = old[j]!;
      if (h === 0) continue;
      let i = h & mask;
      while (next[i] !== 0) i = (i + 1) & mask;
      next[i] = h;
    }
    this.slots = next;
  }
}

/**
 * Calls `fn(start, end, hash)` for every token of buf[start, end), in order. A call per
 * token: for query needles and tests, not for block cuts (TokenHashSet.addLines).
 */
export function forEachToken(buf: Uint8Array, start: number, end: number, fn: (start: number, end: number, hash: number) => void): void {
  let i = start;
  while (i < end) {
    while (i < end && TOKEN_BYTE[buf[i]!] === 0) i++;
    if (i >= end) return;
    const s = i;
    while (i < end && TOKEN_BYTE[buf[i]!] === 1) i++;
    fn(s, i, tokenHash(buf, s, i));
  }
}

/** 2^-32, exact as a double. */
const TWO_NEG_32 = 1 / 4294967296;

/** Sets the k probe bits of `h` in `bits` (m = bits.length · 8). */
export function setBits(bits: Uint8Array, m: number, k: number, h: number): void {
  let x = h >>> 0;
  const delta = ((x >>> 17) | (x << 15)) >>> 0;
  for (let j = 0; j < k; j++) {
    const b = Math.floor(x * m * TWO_NEG_32);
    bits[b >>> 3]! |= 1 << (b & 7);
    x = (x + delta) >>> 0;
  }
}

/** Whether all k probe bits of `h` are set. */
function hasBits(bits: Uint8Array, m: number, k: number, h: number): boolean {
  let x = h >>> 0;
  const delta = ((x >>> 17) | (x << 15)) >>> 0;
  for (let j = 0; j < k; j++) {
    const b = Math.floor(x * m * TWO_NEG_32);
    if ((bits[b >>> 3]! & (1 << (b & 7))) === 0) return false;
    x = (x + delta) >>> 0;
  }
  return true;
}

/**
 * Builds a filter over the distinct hashes in `set`, `bitsPerHash` bits each (at least one
 * byte) and `k` probes; null when the set overflowed. Token filters use the defaults.
 */
export function bloomFromSet(set: TokenHashSet, bitsPerHash = BLOOM_BITS_PER_TOKEN, k = BLOOM_HASHES): Buffer | null {
  if (set.overflow) return null;
  const bytes = Math.max(1, Math.ceil((set.size * bitsPerHash) / 8));
  const bits = Buffer.alloc(bytes);
  const m = bytes * 8;
  const slots = set.slots;
  for (let i = 0; i < slots.length; i++) {
    const h = slots[i]!;
    if (h !== 0) setBits(bits, m, k, h);
  }
  return bits;
}

/** A scratch set grown past this many slots by an unusually token-rich block is replaced. */
const SCRATCH_KEEP_SLOTS = 1 << 17;
/** Scratch dedupe set for block cuts (synchronous, so one serves every chunk). */
let sharedSet = new TokenHashSet(MAX_BLOOM_TOKENS);

/** Blocks up to this size are copied into WebAssembly memory to build their filter (which then stays this large). */
const WASM_MAX_BLOCK_BYTES = 16 * 1024 * 1024;
/** The WebAssembly filter builder of this thread, made on first use (null: unavailable). */
let wasmBlooms: BlockBlooms | null | undefined;

/**
 * The filter of a block's lines (line i = lines[offsets[i], offsets[i+1]) for i in [0, n)),
 * or null when the block has more than MAX_BLOOM_TOKENS distinct tokens. Built in WebAssembly
 * (src/wasm/kernels.wat) when it can be; `buildBlockBloomJs` is the same in TypeScript.
 */
export function buildBlockBloom(lines: Uint8Array, offsets: Int32Array, n: number): Buffer | null {
  if (wasmBlooms === undefined) wasmBlooms = BlockBlooms.create(MAX_BLOOM_TOKENS, MAX_BLOOM_BYTES, WASM_MAX_BLOCK_BYTES);
  const built = wasmBlooms?.build(lines, offsets, n, BLOOM_BITS_PER_TOKEN, BLOOM_HASHES);
  return built !== undefined ? built : buildBlockBloomJs(lines, offsets, n);
}

/** buildBlockBloom in TypeScript (the reference of the WebAssembly builder). */
export function buildBlockBloomJs(lines: Uint8Array, offsets: Int32Array, n: number): Buffer | null {
  const set = sharedSet;
  set.clear();
  set.addLines(lines, offsets, n);
  const out = bloomFromSet(set);
  if (set.slots.length > SCRATCH_KEEP_SLOTS) sharedSet = new TokenHashSet(MAX_BLOOM_TOKENS);
  return out;
}

/**
 * Whether a filter (`bits`, `k` probes) may hold every hash in `hashes`: false means at least
 * one token is certainly absent from the block. An empty `hashes` answers true.
 */
export function bloomMayContainAll(bits: Uint8Array, k: number, hashes: Uint32Array): boolean {
  const m = bits.length * 8;
  for (let i = 0; i < hashes.length; i++) if (!hasBits(bits, m, k, hashes[i]!)) return false;
  return true;
}
