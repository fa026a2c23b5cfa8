/** Errors specific to the label index. */
import { ChunkCorruptError } from '../../errors.js';

/**
 * An index segment failed its checksum or a structural check. Subclasses ChunkCorruptError
 * so callers (and the status mapper) treat it like any other corrupt stored object.
 */
export class IndexCorruptError extends ChunkCorruptError {
  /** Object key of the bad segment ('' when decoded from bare bytes). */
  readonly key: string;
  constructor(key: string, message: string, options?: { cause?: unknown }) {
    super(`index segment ${key === '' ? '(unnamed)' : `"${key}"`}: ${message}`, options);
    this.name = 'IndexCorruptError';
    this.key = key;
  }
}
