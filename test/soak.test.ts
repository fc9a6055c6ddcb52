/**
 * The soak run of bench/soak.ts, short (about 5 s) so CI runs it: mixed reads and writes at a
 * fixed concurrency against the real server; zero 5xx, no error in the log, every acknowledged
 * write present at the end. `npm run soak` runs the long version by hand.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatReport, runSoak } from '../bench/soak.js';

describe('soak (short)', () => {
  it('keeps every promise under 5 s of mixed load', { timeout: 120_000 }, async () => {
    const report = await runSoak({ seconds: 5, concurrency: 8, seed: 7 });
    const summary = formatReport(report);
    assert.deepEqual(report.violations, [], summary);
    assert.equal(report.serverErrors, 0, summary);
    assert.deepEqual(report.errorLogLines, [], summary);
    // The run did real work of every kind.
    for (const operation of ['read', 'collection', 'patch', 'hot', 'create', 'delete']) {
      assert.ok((report.byOperation[operation] ?? 0) > 0, `no ${operation} in ${summary}`);
    }
    assert.ok(report.acknowledgedWrites > 50, summary);
    assert.ok(report.rssStart !== undefined && report.rssEnd !== undefined, summary);
  });
});
