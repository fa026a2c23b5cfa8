import { describe, expect, it } from 'vitest';
import { fingerprint, labelsFromObject } from './labels.js';

describe('fingerprint', () => {
  // Fingerprints name chunks in object storage: these were computed by the first implementation
  // and must never change.
  it.each([
    [{}, 'ebb6c228df0c7375'],
    [{ app: 'a' }, '34ad60be3abff9d8'],
    [{ app: 'checkout', env: 'prod' }, '2fead34dde2240bd'],
    [{ service_name: 'ünïcode ✓', namespace: 'ns-3', pod: 'p-0' }, 'f1f8d2de4b16c2dd'],
  ])('of %j is %s', (labels, expected) => {
    expect(fingerprint(labelsFromObject(labels))).toBe(expected);
  });

  it('is 16 lower-case hex digits, leading zeros kept', () => {
    // Enough label sets that some halves start with zero digits.
    let zeroLed = 0;
    for (let i = 0; i < 2000; i++) {
      const fp = fingerprint(labelsFromObject({ app: `a${i}` }));
      expect(fp).toMatch(/^[0-9a-f]{16}$/);
      if (fp[0] === '0' || fp[8] === '0') zeroLed++;
    }
    expect(zeroLed).toBeGreaterThan(0);
  });
});
