/** References to stored chunks and the object keys derived from them. */
import { InvalidError } from '../errors.js';

/** Everything the index keeps about one chunk. Immutable once written. */
export interface ChunkRef {
  /** Owning tenant. */
  tenant: string;
  /** Series fingerprint, 16 lower-case hex digits (`fingerprint(labels)`). */
  fingerprint: string;
  /** Timestamp of the first entry, ns. */
  fromNs: bigint;
  /** Timestamp of the last entry, ns (inclusive). */
  throughNs: bigint;
  /** crc32 (zlib) of the stored chunk bytes. */
  checksum: number;
  /** Stored (compressed) chunk length in bytes. */
  sizeBytes: number;
  /** Number of log entries. */
  entries: number;
  /** Sum of line bytes before compression. */
  uncompressedBytes: number;
}

const FINGERPRINT_RE = /^[0-9a-f]{16}$/;

/** True for 16 lower-case hex digits. */
export function isFingerprint(s: string): boolean {
  return FINGERPRINT_RE.test(s);
}

function hex64(v: bigint): string {
  return BigInt.asUintN(64, v).toString(16);
}

/**
 * The object key of a chunk: `<tenant>/chunks/<fingerprint>/<from>-<through>-<checksum>`,
 * times as unpadded lower-case hex ns and the checksum as 8 hex digits. Content-derived, so
 * rewriting the same chunk is idempotent and the key doubles as the ref's identity.
 */
export function chunkKey(ref: ChunkRef): string {
  return `${ref.tenant}/chunks/${ref.fingerprint}/${hex64(ref.fromNs)}-${hex64(ref.throughNs)}-${(ref.checksum >>> 0).toString(16).padStart(8, '0')}`;
}

/**
 * Throws InvalidError unless the ref is well formed: tenant usable as a key segment,
 * fingerprint 16 hex digits, 0 ≤ from ≤ through < 2^63, counts non-negative safe integers.
 */
export function validateChunkRef(ref: ChunkRef): void {
  const bad = (why: string): never => {
    throw new InvalidError(`invalid chunk ref for tenant "${ref.tenant}" series "${ref.fingerprint}": ${why}`);
  };
  validateTenant(ref.tenant);
  if (!isFingerprint(ref.fingerprint)) bad('fingerprint must be 16 lower-case hex digits');
  if (ref.fromNs < 0n || ref.throughNs < ref.fromNs || ref.throughNs >= 2n ** 63n) {
    bad(`bad time range [${ref.fromNs}, ${ref.throughNs}]`);
  }
  if (!Number.isInteger(ref.checksum) || ref.checksum < 0 || ref.checksum > 0xffffffff) bad(`bad checksum ${ref.checksum}`);
  for (const [name, v] of [
    ['sizeBytes', ref.sizeBytes],
    ['entries', ref.entries],
    ['uncompressedBytes', ref.uncompressedBytes],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0) bad(`bad ${name} ${v}`);
  }
}

/** Throws InvalidError unless the tenant id can be one object-key segment. */
export function validateTenant(tenant: string): void {
  if (tenant === '' || tenant === '.' || tenant === '..' || tenant.includes('/') || tenant.includes('\\') || tenant.includes('\0')) {
    throw new InvalidError(`invalid tenant id "${tenant}"`);
  }
}
