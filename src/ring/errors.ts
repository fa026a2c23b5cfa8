import { UnavailableError } from '../errors.js';

/**
 * The ring cannot answer: no member holds tokens, or too few healthy members for a quorum.
 * Messages are dskit's ("empty ring", "at least 2 live replicas required, could only find 1 -
 * unhealthy instances: 10.0.0.3:9095", "too many unhealthy instances in the ring"), since
 * clients and alerts match on them. Kind `unavailable` (HTTP 503).
 */
export class RingError extends UnavailableError {
  constructor(message: string) {
    super(message);
    this.name = 'RingError';
  }
}

/** dskit ErrEmptyRing. */
export const EMPTY_RING = 'empty ring';

/** dskit ErrTooManyUnhealthyInstances. */
export const TOO_MANY_UNHEALTHY = 'too many unhealthy instances in the ring';
