/**
 * The WebAssembly byte kernels (kernels.wat) behind small typed wrappers. Each thread that
 * uses them compiles the module once; every wrapper owns an instance, hence its own memory,
 * into which it copies the bytes it scans. Callers keep their TypeScript path for when the
 * module is unavailable (`null` from the factories) or the input is too large to copy.
 */
import { KERNELS_WASM_BASE64 } from './kernels.gen.js';

/** Where callers' data starts: the module keeps its tables below (kernels.wat). */
const DATA_BASE = 1024;
/** Bytes of memory kept after data the level scan reads 16 at a time. */
const SLACK = 16;
const PAGE = 64 * 1024;

/** The parts of the WebAssembly API used here (this project's TypeScript lib has no DOM types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmModule {
  readonly __wasmModule?: never;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (m: WasmModule) => { exports: unknown };
}
const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

interface KernelExports {
  memory: WasmMemory;
  level(start: number, end: number): number;
  set_init(slots: number, cap: number, tmp: number, limit: number): void;
  set_clear(): void;
  set_size(): number;
  set_cap(): number;
  set_overflow(): number;
  add_lines(lines: number, offsets: number, n: number): number;
  set_list(out: number): number;
  bloom_build(out: number, bytes: number, k: number, list: number, end: number): void;
  gram_keys(lines: number, offs: number, n: number, out: number): number;
  gram_elements(list: number, end: number, map: number, mapBytes: number, shift: number): number;
  find(start: number, end: number, needle: number, len: number, fold: number): number;
  lz4(src: number, srcEnd: number, dst: number, dstEnd: number): number;
  line_span(p: number, end: number, n: number, startRel: number, endRel: number, span: number, maxLine: number, out: number): number;
  json_flat(start: number, end: number, objects: number): number;
}

let compiled: WasmModule | null | undefined;

/** The compiled module, or null when this runtime cannot compile it (no WebAssembly SIMD). */
function kernelModule(): WasmModule | null {
  if (compiled === undefined) {
    try {
      compiled = wasm === undefined ? null : new wasm.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64'));
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

function instantiate(): KernelExports | null {
  const m = kernelModule();
  return m === null || wasm === undefined ? null : (new wasm.Instance(m).exports as KernelExports);
}

/** Grows `mem` to at least `bytes`; returns a view of all of it. */
function ensure(mem: WasmMemory, bytes: number): Uint8Array {
  const have = mem.buffer.byteLength;
  if (bytes > have) mem.grow(Math.ceil((bytes - have) / PAGE));
  return new Uint8Array(mem.buffer);
}

/** Bit 4 of a `LevelWords.scan` answer: the line holds a '='. */
export const LEVEL_SAW_EQUALS = 16;

/**
 * Loki's level-word scan (field-detection.ts) over one body at a time: `load` copies the body
 * in, then `scan` answers for lines of that body.
 */
export class LevelWords {
  readonly #k: KernelExports;
  readonly #maxBytes: number;
  #loaded: Uint8Array | null = null;

  private constructor(k: KernelExports, maxBytes: number) {
    this.#k = k;
    this.#maxBytes = maxBytes;
  }

  /** A scanner for bodies of up to `maxBytes` (memory grows to fit and stays), or null without WebAssembly. */
  static create(maxBytes: number): LevelWords | null {
    const k = instantiate();
    return k === null ? null : new LevelWords(k, maxBytes);
  }

  /** Copies `body` in for `scan`; false (nothing loaded) when it is larger than `maxBytes`. */
  load(body: Uint8Array): boolean {
    this.#loaded = null;
    if (body.length > this.#maxBytes) return false;
    ensure(this.#k.memory, DATA_BASE + body.length + SLACK).set(body, DATA_BASE);
    this.#loaded = body;
    return true;
  }

  /**
   * The level word of the loaded body's line b[start, end) that starts first, as a LINE_LEVELS
   * code, plus LEVEL_SAW_EQUALS when the line holds a '='. `b` must be the loaded body.
   */
  readonly scan = (b: Uint8Array, start: number, end: number): number => {
    if (b !== this.#loaded || start < 0 || end > b.length || start > end) throw new Error('LevelWords.scan: not a line of the loaded body (bug)');
    return this.#k.level(DATA_BASE + start, DATA_BASE + end);
  };
}

/** Slots the token set starts with (as bloom.ts TokenHashSet). */
const INITIAL_SLOTS = 1 << 12;
/** A set grown past this many slots by a token-rich block starts small again for the next one. */
const SCRATCH_KEEP_SLOTS = 1 << 17;

/** Token bloom filters of blocks (bloom.ts `buildBlockBloom`), built in WebAssembly. */
export class BlockBlooms {
  readonly #k: KernelExports;
  readonly #limit: number;
  readonly #maxLineBytes: number;
  /** Fixed regions: slots (room for the largest set), rehash scratch, the filter; then lines and offsets. */
  readonly #slots: number;
  readonly #tmp: number;
  readonly #filter: number;
  readonly #lines: number;

  private constructor(k: KernelExports, limit: number, maxFilterBytes: number, maxLineBytes: number) {
    this.#k = k;
    this.#limit = limit;
    this.#maxLineBytes = maxLineBytes;
    // The set stays at most half full, so it never grows past 2·limit slots (rounded up to a power of two).
    let maxCap = INITIAL_SLOTS;
    while (maxCap < 2 * limit) maxCap *= 2;
    this.#slots = DATA_BASE;
    this.#tmp = this.#slots + maxCap * 4;
    this.#filter = this.#tmp + (maxCap / 2) * 4;
    this.#lines = this.#filter + maxFilterBytes;
    ensure(k.memory, this.#lines);
    k.set_init(this.#slots, INITIAL_SLOTS, this.#tmp, limit);
  }

  /**
   * A builder for sets of up to `limit` distinct tokens, filters of up to `maxFilterBytes`, and
   * blocks of up to `maxLineBytes` of lines; null without WebAssembly.
   */
  static create(limit: number, maxFilterBytes: number, maxLineBytes: number): BlockBlooms | null {
    const k = instantiate();
    return k === null ? null : new BlockBlooms(k, limit, maxFilterBytes, maxLineBytes);
  }

  /**
   * The filter of lines[offsets[i], offsets[i+1]) for i < n: `bitsPerToken` bits per distinct
   * token hash (at least one byte), `hashes` probes each. Null when the lines have more than
   * `limit` distinct tokens; undefined when they are too large for this builder.
   */
  build(lines: Uint8Array, offsets: Int32Array, n: number, bitsPerToken: number, hashes: number): Buffer | null | undefined {
    return this.#build(lines, offsets, n, bitsPerToken, hashes, false);
  }

  /**
   * The needle filter of the same lines (chunk/needle.ts `buildNeedleFilter`): `bitsPerGram`
   * bits per distinct selected gram, `hashes` probes. Null past `limit` distinct grams;
   * undefined when the lines are too large for this builder.
   */
  buildGrams(lines: Uint8Array, offsets: Int32Array, n: number, bitsPerGram: number, hashes: number): Buffer | null | undefined {
    return this.#build(lines, offsets, n, bitsPerGram, hashes, true);
  }

  #build(lines: Uint8Array, offsets: Int32Array, n: number, bitsPerToken: number, hashes: number, grams: boolean): Buffer | null | undefined {
    const used = n === 0 ? 0 : offsets[n]!;
    if (used > this.#maxLineBytes || used > lines.length) return undefined;
    const k = this.#k;
    const offAt = this.#lines + ((used + SLACK + 3) & ~3);
    // The hash list after the offsets: at most one gram key per byte, or the set's hashes.
    const listAt = offAt + (n + 1) * 4;
    const mem = ensure(k.memory, listAt + (grams ? 4 * used : 0));
    mem.set(lines.subarray(0, used), this.#lines);
    new Int32Array(mem.buffer, offAt, n + 1).set(offsets.subarray(0, n + 1));
    let end: number;
    let elements: number;
    if (grams) {
      end = k.gram_keys(this.#lines, offAt, n, listAt);
      const keys = (end - listAt) / 4;
      const { bits, shift } = countingMap(keys);
      const mapAt = (end + 7) & ~7;
      ensure(k.memory, mapAt + bits / 8);
      elements = distinctEstimate(k.gram_elements(listAt, end, mapAt, bits / 8, shift), bits);
      if (elements > this.#limit) return null;
    } else {
      k.set_clear();
      // Keep the scratch set small for the next block, as bloom.ts does with its shared set.
      if (k.set_cap() > SCRATCH_KEEP_SLOTS) k.set_init(this.#slots, INITIAL_SLOTS, this.#tmp, this.#limit);
      if (k.add_lines(this.#lines, offAt, n) !== 0) return null;
      elements = k.set_size();
      ensure(k.memory, listAt + 4 * elements);
      end = k.set_list(listAt);
    }
    const bytes = Math.max(1, Math.ceil((elements * bitsPerToken) / 8));
    k.bloom_build(this.#filter, bytes, hashes, listAt, end);
    return Buffer.from(new Uint8Array(k.memory.buffer, this.#filter, bytes));
  }
}

/**
 * The bitmap that estimates how many distinct elements a list of `keys` holds (linear
 * counting, Whang et al. 1990): 2^b bits, at least twice the keys and at least 8192, so that
 * the estimate's standard error stays under ~1 % (0.15 % for a 256 KiB block of logs); `shift`
 * = 32 - b maps an element to its bit.
 */
export function countingMap(keys: number): { bits: number; shift: number } {
  let b = 13;
  while (1 << b < 2 * keys && b < 31) b++;
  return { bits: 2 ** b, shift: 32 - b };
}

/** Linear counting: the distinct elements behind `ones` set bits of a `bits`-bit map (rounded; never fewer than `ones`). */
export function distinctEstimate(ones: number, bits: number): number {
  return ones === 0 ? 0 : Math.max(ones, Math.round(-bits * Math.log1p(-ones / bits)));
}

/**
 * Bytes common in log lines (lower-case letters but j, k, q, x, z; digits; space, tab and
 * `"=:/.,-_`): Buffer.indexOf stops at every occurrence of a needle's first byte, so it runs at
 * 2–3 GB/s for a needle starting with one, and at 13–17 GB/s for one starting with a rare byte
 * (`zq#x`, `ERR_`), where the `find` kernel's 9 GB/s would be slower (ADR 0014, addendum).
 * 1 at a common byte.
 */
export const COMMON_FIRST_BYTES = new Uint8Array(256);
for (const c of 'abcdefghilmnoprstuvwy0123456789 \t"=:/.,-_') COMMON_FIRST_BYTES[c.charCodeAt(0)] = 1;

/** Needle bytes a BlockSearch keeps below the block (more: callers keep Buffer.indexOf). */
const MAX_NEEDLE_BYTES = 4096;
/** Largest block a BlockSearch copies in, so that its memory does not stay huge (blocks are ~256 KiB). */
const MAX_SEARCH_BLOCK = 16 << 20;

/**
 * Substring search in one block at a time (querier line filters): `load` copies a block in,
 * `find` answers as `Buffer.indexOf` would for it (with `fold`: for it with ASCII A-Z
 * lower-cased; the needles are then lower case). Sixteen starts at a time, comparing the
 * needle's first and last bytes together: several times faster than Buffer.indexOf for needles
 * whose first byte is common (`" 5`, `status=`), slower for a rare first byte, where indexOf's
 * memchr skips ahead (bench/RESULTS.md).
 */
export class BlockSearch {
  readonly #k: KernelExports;
  readonly #fold: number;
  /** Address and length of each needle. */
  readonly #needles: (readonly [number, number])[] = [];
  /** Where blocks are copied to, after the needles. */
  readonly #base: number;
  /** `lines` offset that #base holds (load's start). */
  #start = 0;
  #end = 0;

  private constructor(k: KernelExports, needles: readonly Uint8Array[], fold: boolean) {
    this.#k = k;
    this.#fold = fold ? 1 : 0;
    let at = DATA_BASE;
    const mem = ensure(k.memory, DATA_BASE + MAX_NEEDLE_BYTES);
    for (const n of needles) {
      mem.set(n, at);
      this.#needles.push([at, n.length]);
      at += n.length;
    }
    this.#base = DATA_BASE + MAX_NEEDLE_BYTES;
  }

  /** Largest block `load` takes. */
  static readonly MAX_BLOCK = MAX_SEARCH_BLOCK;

  /** Whether this runtime runs the kernel (WebAssembly with SIMD). */
  static available(): boolean {
    return kernelModule() !== null;
  }

  /**
   * A searcher for `needles` (each at least one byte, 4 KiB in all; with `fold`, lower case),
   * or null: no WebAssembly, or needles too long.
   */
  static create(needles: readonly Uint8Array[], fold = false): BlockSearch | null {
    if (needles.some((n) => n.length === 0) || needles.reduce((a, n) => a + n.length, 0) > MAX_NEEDLE_BYTES) return null;
    const k = instantiate();
    return k === null ? null : new BlockSearch(k, needles, fold);
  }

  /** Copies lines[start, end) in, for `find`; false (nothing loaded) past 16 MiB: use Buffer.indexOf. */
  load(lines: Uint8Array, start: number, end: number): boolean {
    this.#start = this.#end = 0;
    if (end - start > MAX_SEARCH_BLOCK) return false;
    ensure(this.#k.memory, this.#base + (end - start) + SLACK).set(lines.subarray(start, end), this.#base);
    this.#start = start;
    this.#end = end;
    return true;
  }

  /** The first offset ≥ `from` (within the loaded range) where needle `i` occurs in the loaded lines, or -1. */
  find(i: number, from: number): number {
    const [at, len] = this.#needles[i]!;
    const s = Math.max(from, this.#start);
    if (s >= this.#end) return -1;
    const hit = this.#k.find(this.#base + (s - this.#start), this.#base + (this.#end - this.#start), at, len, this.#fold);
    return hit < 0 ? -1 : hit - this.#base + this.#start;
  }
}

/** Largest decoded block `Lz4Blocks.decode` takes (chunk blocks are 256 KiB; a single long line can make one larger). */
const MAX_LZ4_BLOCK = 16 << 20;

/**
 * LZ4 block decoding (`lz4` in kernels.wat) into this instance's memory, then one copy out.
 * The lz4-napi binding answers an external buffer per block, which costs the querier more than
 * the decoding (bench/RESULTS.md, "LZ4 chunks decoded in WebAssembly"); here the memory the
 * kernel writes is reused from block to block and the copy out is a plain allocation.
 */
export class Lz4Blocks {
  readonly #k: KernelExports;
  /** The last `decodeInPlace` answer while it is valid, and its address in memory. */
  #out: Buffer | null = null;
  #at = 0;
  /** `lineSpan`'s answers: entries [lo, hi) and their lines' offsets [from, to) within all the lines (`bytes`). */
  readonly span = { lo: 0, hi: 0, from: 0, to: 0, bytes: 0 };

  private constructor(k: KernelExports) {
    this.#k = k;
  }

  /** A decoder, or null when this runtime cannot run the kernels. */
  static create(): Lz4Blocks | null {
    const k = instantiate();
    return k === null ? null : new Lz4Blocks(k);
  }

  /** Largest block `decode` takes. */
  static readonly MAX_BLOCK = MAX_LZ4_BLOCK;

  /**
   * The `size` bytes the LZ4 block `src` (no size prefix) decodes to, as a new Buffer; null when
   * `size` is over MAX_BLOCK. Throws when the block is malformed or decodes to another size.
   */
  decode(src: Uint8Array, size: number): Buffer | null {
    const view = this.decodeInPlace(src, size);
    if (view === null) return null;
    const copy = Buffer.allocUnsafe(size);
    copy.set(view);
    return copy;
  }

  /**
   * Like `decode`, without the copy out: a view of this instance's memory, valid until the next
   * call on this decoder (the memory is reused, and growing it detaches the view). For a reader
   * that looks at a block before deciding to keep it (chunk/layout.ts `readBlockUnlessLacking`).
   */
  decodeInPlace(src: Uint8Array, size: number): Buffer | null {
    if (size > MAX_LZ4_BLOCK || src.length > MAX_LZ4_BLOCK) return null;
    this.#out = null;
    const out = DATA_BASE + src.length + SLACK;
    // Room for a needle after the output (`find`), so that a search never grows the memory.
    const mem = ensure(this.#k.memory, out + size + SLACK + MAX_NEEDLE_BYTES);
    mem.set(src, DATA_BASE);
    const n = this.#k.lz4(DATA_BASE, DATA_BASE + src.length, out, out + size);
    if (n !== size) throw new Error(n < 0 ? 'malformed lz4 block' : `lz4 block decodes to ${n} bytes, expected ${size}`);
    this.#out = Buffer.from(mem.buffer, out, size);
    this.#at = out;
    return this.#out;
  }

  /** Whether `view` is this decoder's last `decodeInPlace` answer, still valid. */
  owns(view: Uint8Array): boolean {
    return view === this.#out;
  }

  /**
   * The loops of chunk/block.ts `payloadLineSpan` (the definition) over `view` from `p`, which
   * must be this decoder's last `decodeInPlace` answer: `n - 1` timestamp deltas after the
   * first entry's, then `n` line lengths. Answers where the lines start, with `span` filled, or
   * -1 where payloadLineSpan answers null.
   */
  lineSpan(view: Buffer, p: number, n: number, startRel: number, endRel: number, spanNs: number, maxLine: number): number {
    if (view !== this.#out) throw new Error('Lz4Blocks.lineSpan: not the last decodeInPlace answer (bug)');
    const out = (this.#at + view.length + SLACK + 3) & ~3;
    const start = this.#k.line_span(this.#at + p, this.#at + view.length, n, startRel, endRel, spanNs, maxLine, out);
    if (start < 0) return -1;
    const m = new Int32Array(this.#k.memory.buffer, out, 5);
    const s = this.span;
    s.lo = m[0]!;
    s.hi = m[1]!;
    s.from = m[2]!;
    s.to = m[3]!;
    s.bytes = m[4]!;
    return start - this.#at;
  }

  /**
   * Where `needle` first occurs in `view[start, end)`, as `view.indexOf` would answer, when
   * `view` is this decoder's last `decodeInPlace` answer; searched by the kernel when the
   * needle's first byte is common in logs (see COMMON_FIRST_BYTES), else by indexOf.
   */
  find(view: Buffer, needle: Uint8Array, start: number, end: number): number {
    const n = needle.length;
    if (view !== this.#out || n === 0 || n > MAX_NEEDLE_BYTES || COMMON_FIRST_BYTES[needle[0]!] !== 1) return view.subarray(0, end).indexOf(needle, start);
    const nd = this.#at + view.length + SLACK;
    new Uint8Array(this.#k.memory.buffer).set(needle, nd);
    const hit = this.#k.find(this.#at + start, this.#at + end, nd, n, 0);
    return hit < 0 ? -1 : hit - this.#at;
  }
}


/** Longest line `FlatJson.check` copies in; longer ones are left to the parser. */
const MAX_FLAT_JSON_LINE = 1 << 20;

/**
 * The `json_flat` kernel: whether a line is a JSON object of plain keys (and, unless the parser
 * skips objects, non-object values) that the json parser reads to its end without an error
 * (kernels.wat says exactly which).
 * `false` also means "not sure": the parser then decides.
 */
export class FlatJson {
  readonly #k: KernelExports;
  /** A view of the instance's memory, renewed when the memory grows (the old buffer detaches). */
  #mem: Uint8Array;

  private constructor(k: KernelExports) {
    this.#k = k;
    this.#mem = new Uint8Array(k.memory.buffer);
  }

  /** A checker, or null when this runtime cannot run the kernels. */
  static create(): FlatJson | null {
    const k = instantiate();
    return k === null ? null : new FlatJson(k);
  }

  /**
   * Whether the parser reads `line` to its end without an error. `objects`: the parser wants no
   * label at all, so it skips object values to their closing brace instead of descending.
   */
  check(line: Uint8Array, objects: boolean): boolean {
    const n = line.length;
    if (n > MAX_FLAT_JSON_LINE) return false;
    // The kernel reads up to 4 bytes past a bare token: SLACK bytes after the line.
    if (DATA_BASE + n + SLACK > this.#mem.length) this.#mem = ensure(this.#k.memory, DATA_BASE + n + SLACK);
    this.#mem.set(line, DATA_BASE);
    return this.#k.json_flat(DATA_BASE, DATA_BASE + n, objects ? 1 : 0) === 1;
  }
}
