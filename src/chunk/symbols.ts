/**
 * Per-chunk symbol table: every distinct structured-metadata name and value is stored once
 * and blocks refer to it by id (its index). Ids are dense and assigned in first-use order.
 */
import { TooLargeError } from '../errors.js';
import { ByteReader, type ByteWriter } from '../util/bytes.js';
import { MAX_SYMBOL_BYTES, MAX_SYMBOLS_PER_CHUNK } from './consts.js';

/** Symbols a table finds by comparing with each (no Map) before it builds its Map. */
const LINEAR_SEARCH_SYMBOLS = 16;
/**
 * Up to this many symbols the strings live in an array of exactly their number, copied on each
 * addition: a pushed-to array reserves 17 slots from its second element (~150 bytes), and an
 * ingester holds one table per active stream, most with two or three symbols (issue #20 goal 4).
 */
const EXACT_SYMBOLS = 8;

/** Append-only interning table owned by one MemChunk. */
export class SymbolTable {
  /**
   * Symbol strings by id. Ids only get added, and an addition may replace the array: a reader
   * keeping one still finds every id given out before it took it.
   */
  strings: string[] = [];
  /** UTF-8 bytes of all strings, for size estimates. */
  bytes = 0;
  /**
   * Ids by string, made once the table outgrows a linear search: most chunks hold a handful of
   * symbols (detected_level and its values), and an ingester holds one table per active stream.
   */
  private ids: Map<string, number> | null = null;

  /** The id of `s`, adding it when new. Throws TooLargeError past the per-symbol or per-chunk limits. */
  intern(s: string): number {
    const strings = this.strings;
    if (this.ids === null) {
      for (let i = 0; i < strings.length; i++) if (strings[i] === s) return i;
      if (strings.length >= LINEAR_SEARCH_SYMBOLS) {
        this.ids = new Map();
        for (let i = 0; i < strings.length; i++) this.ids.set(strings[i]!, i);
      }
    } else {
      const id = this.ids.get(s);
      if (id !== undefined) return id;
    }
    const n = Buffer.byteLength(s, 'utf8');
    if (n > MAX_SYMBOL_BYTES) throw new TooLargeError(`structured metadata string of ${n} bytes exceeds ${MAX_SYMBOL_BYTES}`);
    if (this.strings.length >= MAX_SYMBOLS_PER_CHUNK) {
      throw new TooLargeError(`chunk has ${this.strings.length} distinct structured metadata strings, limit ${MAX_SYMBOLS_PER_CHUNK}`);
    }
    const next = strings.length;
    if (next < EXACT_SYMBOLS) {
      const grown = new Array<string>(next + 1);
      for (let i = 0; i < next; i++) grown[i] = strings[i]!;
      grown[next] = s;
      this.strings = grown;
    } else strings.push(s);
    this.ids?.set(s, next);
    this.bytes += n;
    return next;
  }

  /** Number of symbols. */
  get size(): number {
    return this.strings.length;
  }

  /** Writes the uncompressed symbols payload: per symbol a uvarint length and its UTF-8 bytes. */
  encodeTo(w: ByteWriter): void {
    const s = this.strings;
    for (let i = 0; i < s.length; i++) w.string(s[i]!);
  }
}

/**
 * Parses a symbols payload holding exactly `count` strings. Throws a plain Error (callers wrap it)
 * when a length exceeds MAX_SYMBOL_BYTES, the data ends early or bytes are left over.
 */
export function decodeSymbols(payload: Buffer, count: number): string[] {
  const r = new ByteReader(payload);
  const out = new Array<string>(count);
  for (let i = 0; i < count; i++) out[i] = r.string(MAX_SYMBOL_BYTES);
  if (r.remaining() !== 0) throw new Error(`${r.remaining()} trailing bytes after ${count} symbols`);
  return out;
}
