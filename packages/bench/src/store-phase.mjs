// The store-level scenario: every contender in a child of its own, all set up first, then rounds in which each runs
// one trial, back to back, in an order that rotates every round (so that none always runs first or last).
import { Child } from './child.mjs';

/** Rotate `items` left by `by`. */
export function rotate(items, by) {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/**
 * Run the store-level scenario over `contenders`. Resolves, per contender id, the trial results of every round and
 * the child's peak RSS in bytes.
 */
export async function runStorePhase(contenders, size, log) {
  const children = new Map();
  const results = new Map(contenders.map((c) => [c.id, { trials: [], rssBytes: Number.NaN, sequentialUs: Infinity }]));
  try {
    for (const c of contenders) {
      const child = new Child('store-child', c.id);
      children.set(c.id, child);
      await child.ask({ type: 'setup', id: c.id, sids: size.sids, inFlight: size.inFlight, warmupMs: size.warmupMs * 2 });
      log(`  store level: ${c.label} ready`);
    }
    for (let round = 0; round < size.rounds; round++) {
      for (const c of rotate(contenders, round)) {
        const { result } = await children.get(c.id).ask({
          type: 'trial',
          inFlight: size.inFlight,
          warmupMs: size.warmupMs,
          trialMs: size.trialMs,
        });
        results.get(c.id).trials.push(result);
        log(`  store level, round ${round + 1}: ${c.label.padEnd(34)} ${result.rps.toFixed(0).padStart(7)} req/s`);
      }
    }
    // Uncontended: one request at a time, in short batches taken in turn; each contender's best batch, which is the
    // one least disturbed by anything else the machine was doing.
    for (let batch = 0; batch < size.sequentialBatches; batch++) {
      for (const c of rotate(contenders, batch)) {
        const { us } = await children.get(c.id).ask({ type: 'sequential', requests: size.sequentialRequests });
        results.get(c.id).sequentialUs = Math.min(results.get(c.id).sequentialUs, us);
      }
    }
    log(`  store level: ${size.sequentialBatches} uncontended batches of ${size.sequentialRequests} requests done`);
    for (const c of contenders) {
      results.get(c.id).rssBytes = await children.get(c.id).close();
      children.delete(c.id);
    }
    return results;
  } finally {
    for (const child of children.values()) child.kill();
  }
}
