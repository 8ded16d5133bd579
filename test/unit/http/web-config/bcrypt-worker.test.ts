import { describe, expect, it } from 'vitest';
import { createBcryptWorker } from '../../../../src/http/web-config/bcrypt-worker.js';

// test/fixtures/web-config/good/basic-auth.yml: alice, "correct horse", cost 4.
const HASH = '$2b$04$BnMqpyudP4ena7lm0PfizepvqFy6DJlZtGNEAu1K0miO1kCw8SCn6';

describe('bcrypt on a worker thread', () => {
  it('tells a matching password from a wrong one, and starts again after close', async () => {
    const worker = createBcryptWorker();
    try {
      expect(await worker.compare('correct horse', HASH)).toBe(true);
      expect(await worker.compare('certainly not it', HASH)).toBe(false);
      await worker.close();
      // A fresh worker answers the next comparison.
      expect(await worker.compare('correct horse', HASH)).toBe(true);
    } finally {
      await worker.close();
    }
  });

  it('answers comparisons sent together, each with its own result', async () => {
    const worker = createBcryptWorker();
    try {
      const results = await Promise.all([
        worker.compare('x', HASH),
        worker.compare('correct horse', HASH),
        worker.compare('z', HASH),
      ]);
      expect(results).toEqual([false, true, false]);
    } finally {
      await worker.close();
    }
  });
});
