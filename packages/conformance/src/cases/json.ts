import { describe, expect, it } from '@jest/globals';
import { useScope } from '../scope.js';
import type { SuiteContext } from '../target.js';
import { liveSession, roundTrip } from '../util.js';

/** Sessions come back exactly as JSON would carry them, whatever they hold. */
export function jsonCases(ctx: SuiteContext): void {
  describe('JSON round trip', () => {
    const scope = useScope(ctx, { label: 'json' });

    const expectRoundTrip = async (data: Record<string, unknown>): Promise<void> => {
      const sid = scope.sid();
      const session = liveSession(data);
      await scope.store.set(sid, session);
      await expect(scope.store.get(sid)).resolves.toEqual(roundTrip(session));
      expect((await scope.readRow(sid))?.sess).toEqual(roundTrip(session));
    };

    it('keeps nested objects, arrays, numbers, booleans and nulls', async () => {
      await expectRoundTrip({
        user: { id: 42, name: 'Ada', flags: { admin: true, beta: false }, tags: ['a', 'b', { deep: [1, [2, [3]]] }] },
        nothing: null,
        zero: 0,
        negative: -1.5,
        big: Number.MAX_SAFE_INTEGER,
        tiny: 5e-324,
        empty: { object: {}, array: [], string: '' },
        when: new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 6)),
      });
    });

    it('keeps unicode: emoji, right-to-left and CJK text', async () => {
      await expectRoundTrip({
        emoji: '😀 👩‍👩‍👧‍👦 🏳️‍🌈 🇯🇵',
        rtl: 'שלום עולם — مرحبا بالعالم',
        cjk: '漢字 かな カナ 한국어 中文',
        combining: 'e\u0301 n\u0303 Å',
        ['ключ 🔑']: 'значение',
      });
    });

    it('keeps a 1 MB session', async () => {
      const chunk = 'session-data-0123456789-abcdefghijklmnopqrstuvwxyz-';
      const blob = chunk.repeat(Math.ceil((1024 * 1024) / chunk.length)).slice(0, 1024 * 1024);
      await expectRoundTrip({ blob, list: Array.from({ length: 1000 }, (_, i) => ({ i, s: `item ${i}` })) });
    });

    it('keeps quotes, backslashes, NUL and other control characters', async () => {
      await expectRoundTrip({
        quotes: `'single' "double" \`back\``,
        backslashes: 'C:\\path\\to\\file \\\\server\\share \\u0041 \\n',
        nul: 'before\u0000after',
        controls: '\t\r\n\b\f\u0001\u001f\u007f',
        sql: "'); DROP TABLE sessions; --",
        ['key "with" \'quotes\' \\ and \u0000']: true,
      });
    });
  });
}
