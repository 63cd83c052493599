import { MAX_BATCH_SIZE, TurnBatch, type BatchStatements } from '../src/turn-batch.js';

/** Statements that record what each batch carried and answer each sid with its value doubled. */
function recording(fail?: (sids: string[]) => unknown): { batches: string[][]; statements: BatchStatements<number, number> } {
  const batches: string[][] = [];
  const statements: BatchStatements<number, number> = {
    one: async (sid, value) => {
      batches.push([sid]);
      const error = fail?.([sid]);
      if (error) throw error;
      return value * 2;
    },
    many: async (entries) => {
      const sids = [...entries.keys()];
      batches.push(sids);
      const error = fail?.(sids);
      if (error) throw error;
      return (sid) => entries.get(sid)! * 2;
    },
  };
  return { batches, statements };
}

describe('TurnBatch', () => {
  it('sends the calls of one turn together, and each gets its own answer', async () => {
    const { batches, statements } = recording();
    const batch = new TurnBatch(statements);
    await expect(Promise.all([batch.add('a', 1), batch.add('b', 2), batch.add('c', 3)])).resolves.toEqual([2, 4, 6]);
    expect(batches).toEqual([['a', 'b', 'c']]);
  });

  it('sends a lone call on its own, and the calls of a later turn in a batch of their own', async () => {
    const { batches, statements } = recording();
    const batch = new TurnBatch(statements);
    await expect(batch.add('a', 1)).resolves.toBe(2);
    await expect(Promise.all([batch.add('b', 1), batch.add('c', 1)])).resolves.toEqual([2, 2]);
    expect(batches).toEqual([['a'], ['b', 'c']]);
  });

  it('two calls on one sid share its entry, which holds the later value', async () => {
    const { batches, statements } = recording();
    const batch = new TurnBatch(statements);
    await expect(Promise.all([batch.add('a', 1), batch.add('b', 5), batch.add('a', 3)])).resolves.toEqual([6, 10, 6]);
    expect(batches).toEqual([['a', 'b']]);
  });

  it(`never sends more than ${MAX_BATCH_SIZE} sids in one statement`, async () => {
    const { batches, statements } = recording();
    const batch = new TurnBatch(statements);
    const sids = Array.from({ length: 2 * MAX_BATCH_SIZE + 1 }, (_, i) => `s${i}`);
    await Promise.all(sids.map((sid) => batch.add(sid, 1)));
    expect(batches.map((sent) => sent.length)).toEqual([MAX_BATCH_SIZE, MAX_BATCH_SIZE, 1]);
    expect(batches.flat()).toEqual(sids);
  });

  it('a failed statement fails the calls it carried, and only those', async () => {
    const boom = new Error('boom');
    const { statements } = recording((sids) => (sids.includes('bad') ? boom : undefined));
    const batch = new TurnBatch(statements);
    const first = Promise.allSettled([batch.add('bad', 1), batch.add('x', 1), batch.add('bad', 2)]);
    const results = await first;
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected', 'rejected']);
    await expect(Promise.all([batch.add('y', 1), batch.add('z', 2)])).resolves.toEqual([2, 4]);
  });

  it('an answer that throws for a sid fails the calls of that sid alone', async () => {
    const batch = new TurnBatch<number, number>({
      one: async () => 0,
      many: async () => (sid) => {
        if (sid === 'b') throw new Error('not b');
        return 1;
      },
    });
    const results = await Promise.allSettled([batch.add('a', 1), batch.add('b', 1), batch.add('c', 1), batch.add('b', 2)]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected']);
  });
});
