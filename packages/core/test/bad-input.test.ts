import { ConfigurationError, InvalidSessionError, PORTABLE_CAPABILITIES, resolveOptions } from '../src/index.js';
import { readRows, sessionWith, useFixtures, viaCallback, type Fixture } from './support/fixtures.js';
import { RecordingAdapter } from './support/recording-adapter.js';

const fixtures = useFixtures();
const HOUR = 3_600_000;
const live = (data: object = {}): ReturnType<typeof sessionWith> => sessionWith({ maxAge: HOUR }, data);

/** Write a row as the store would not: `sess` as given (a number stays a number), `expired` as given. */
async function writeRaw(fixture: Fixture, sid: string, sess: unknown, expired: unknown): Promise<void> {
  await fixture.store.ready;
  const t = fixture.store.table;
  await t.query(fixture.knex).insert({ [t.sidColumn]: sid, [t.sessColumn]: sess, [t.expiredColumn]: expired });
}

describe('identifiers knex would not keep as written', () => {
  it.each([
    ['a question mark (a bind parameter to knex, even quoted)', 'sess?ions', /"\?"/],
    ['" as " (an alias to knex)', 'sessions as s', /" as "/],
    ['" As " in any case', 'sessions As s', /" as "/],
    ['a leading space (knex trims)', ' sessions', /whitespace/],
    ['a trailing newline', 'sessions\n', /whitespace/],
    ['"*" (left unquoted)', '*', /"\*"/],
    ['a lone surrogate', 'sessions\udc00', /lone surrogate/],
  ])('%s is refused in every identifier option', (_title, name, message) => {
    for (const option of ['tableName', 'schemaName', 'sidFieldName', 'tablename', 'sidfieldname']) {
      let thrown: unknown;
      try {
        resolveOptions({ [option]: name });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConfigurationError);
      expect(thrown).toMatchObject({ option, message: expect.stringMatching(message) });
    }
  });

  it('still accepts quotes, semicolons, spaces inside, mixed case, "as" inside a word and unicode', () => {
    for (const name of [`We"ird 'Tab; le`, 'Mixed`]Case', 'has as-is', 'Sessions_As', 'сессии 🔑']) {
      expect(resolveOptions({ tableName: name, sidFieldName: name }).tableName).toBe(name);
    }
  });

  it("refuses at construction a name holding a character the adapter's knex quoting drops", () => {
    const adapter = new RecordingAdapter();
    Object.assign(adapter, { capabilities: { ...PORTABLE_CAPABILITIES, refusedIdentifierCharacters: ['[', ']'] } });
    expect(() => fixtures.store({ tableName: 'a]b' }, adapter)).toThrow(ConfigurationError);
    expect(() => fixtures.store({ columns: { 'user[id': () => null } }, adapter)).toThrow(/columns\.user\[id.*must not contain "\[" or "\]"/);
    expect(fixtures.store({ tableName: 'ab' }, adapter).store.table.tableName).toBe('ab');
  });
});

describe('sids no database would store as given', () => {
  it.each([
    ['a NUL', 'a\u0000b', /NUL/],
    ['a lone high surrogate', 'a\ud800', /lone surrogate/],
    ['a lone low surrogate', '\udfffa', /lone surrogate/],
    ['a trailing space', 'abc ', /end with a space/],
    ['a leading byte-order mark', '\ufeffabc', /U\+FEFF/],
  ])('a sid holding %s is refused by every method, through the callback', async (_title, sid, message) => {
    const { store } = fixtures.store();
    for (const call of [
      (done: (error: unknown) => void) => store.get(sid, done),
      (done: (error: unknown) => void) => store.set(sid, live(), done),
      (done: (error: unknown) => void) => store.touch(sid, live(), done),
      (done: (error: unknown) => void) => store.destroy(sid, done),
      (done: (error: unknown) => void) => store.destroy(['ok', sid], done),
    ]) {
      const { error } = await viaCallback(call);
      expect(error).toBeInstanceOf(InvalidSessionError);
      expect((error as Error).message).toMatch(message);
    }
  });

  it('accepts what each rule leaves: controls, an inner space or BOM, a well-formed pair, a leading space', async () => {
    const fixture = fixtures.store();
    const sids = ['\u0001\u001f\u007f', 'a b', 'a\ufeffb', '😀', ' lead', 'tab\t'];
    for (const sid of sids) await fixture.store.set(sid, live({ sid }));
    expect((await readRows(fixture)).map((row) => row.sid).sort()).toEqual([...sids].sort());
    for (const sid of sids) await expect(fixture.store.get(sid)).resolves.toMatchObject({ sid });
  });
});

describe('onCorruptSession', () => {
  it("defaults to 'error' and accepts only 'error' or 'delete'", () => {
    expect(resolveOptions({}).onCorruptSession).toBe('error');
    expect(resolveOptions({ onCorruptSession: 'delete' }).onCorruptSession).toBe('delete');
    for (const value of ['ignore', true, null, 0]) {
      expect(() => resolveOptions({ onCorruptSession: value })).toThrow(
        expect.objectContaining({ name: 'ConfigurationError', option: 'onCorruptSession' }),
      );
    }
  });

  it.each([
    ['invalid JSON', '{"cookie":', /is not valid JSON/],
    ['a number', 42, /is not a JSON object \(it holds a number\)/],
    ['a JSON array', '[]', /it holds an array/],
    ['JSON null', 'null', /it holds null/],
  ])(
    'by default a row holding %s fails get and all with an error naming the sid, and stays',
    async (_t, sess, message) => {
      const fixture = fixtures.store();
      await writeRaw(fixture, 'bad "one"', sess, fixture.adapter.encodeExpiry(Date.now() + HOUR));
      const reads = [
        (done: (error: unknown) => void) => fixture.store.get('bad "one"', done),
        (done: (error: unknown) => void) => fixture.store.all(done),
      ];
      for (const read of reads) {
        const { error } = await viaCallback(read);
        expect(error).toBeInstanceOf(InvalidSessionError);
        expect(error).toMatchObject({ sid: 'bad "one"', message: expect.stringMatching(message) });
        expect((error as Error).message).toContain('"bad \\"one\\""');
      }
      const count = await fixture.store.table.query(fixture.knex).count({ n: '*' }).first();
      expect(Number(count?.n)).toBe(1);
    },
  );

  it("with 'delete', corrupt rows read as missing everywhere and are deleted; good rows stay", async () => {
    const fixture = fixtures.store({ onCorruptSession: 'delete' });
    const { store } = fixture;
    await store.set('good', live({ good: true }));
    const later = fixture.adapter.encodeExpiry(Date.now() + HOUR);
    for (const [sid, sess] of [
      ['b1', 'nope'],
      ['b2', 7],
      ['b3', '"s"'],
      ['b4', 'true'],
    ] as const) {
      await writeRaw(fixture, sid, sess, later);
    }
    await expect(store.get('b1')).resolves.toBeNull();
    await expect(store.length()).resolves.toBe(1);
    await writeRaw(fixture, 'b5', '[', later);
    await expect(store.ids()).resolves.toEqual(['good']);
    await writeRaw(fixture, 'b6', 'null', later);
    await expect(store.allById()).resolves.toEqual({ good: expect.objectContaining({ good: true }) });
    expect((await readRows(fixture)).map((row) => row.sid)).toEqual(['good']);
  });
});

describe('rows with a NULL expiry (a hand-made table)', () => {
  it("are never live; prune leaves them by default, and deletes them in batches with onCorruptSession 'delete'", async () => {
    const db = fixtures.knex();
    await db.schema.createTable('loose', (table) => {
      table.string('sid', 255).primary();
      table.text('sess');
      table.bigInteger('expired').nullable().index();
    });
    const strict = fixtures.store({ knex: db, tableName: 'loose', createTable: false }).store;
    const lenient = fixtures.store({
      knex: db,
      tableName: 'loose',
      createTable: false,
      onCorruptSession: 'delete',
    }).store;
    await strict.set('live', live());
    const rows = Array.from({ length: 1203 }, (_, i) => ({ sid: `n${i}`, sess: '{}', expired: null }));
    for (let i = 0; i < rows.length; i += 200) await db.table('loose').insert(rows.slice(i, i + 200));
    for (const store of [strict, lenient]) {
      await expect(store.get('n1')).resolves.toBeNull();
      await expect(store.length()).resolves.toBe(1);
    }
    await expect(strict.prune()).resolves.toBe(0);
    await expect(db.table('loose').count({ n: '*' }).first()).resolves.toEqual({ n: 1204 });
    await expect(lenient.prune()).resolves.toBe(1203);
    expect(await db.table('loose').pluck('sid')).toEqual(['live']);
  });
});

it('InvalidSessionError keeps a sid when given one, and none otherwise', () => {
  expect(new InvalidSessionError('x', { sid: 's' }).sid).toBe('s');
  expect(new InvalidSessionError('x').sid).toBeUndefined();
});
