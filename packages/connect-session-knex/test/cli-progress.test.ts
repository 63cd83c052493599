import { duration, PruneProgress } from '../src/cli/progress.js';

/** A stream that keeps what is written to it. */
function output(isTTY: boolean): { write(text: string): void; isTTY: boolean; columns: number; text: string } {
  return {
    isTTY,
    columns: 80,
    text: '',
    write(text: string) {
      this.text += text;
    },
  };
}

describe('PruneProgress', () => {
  it('on a terminal, redraws one bar in place and clears it when finished', () => {
    const out = output(true);
    const progress = new PruneProgress(out, 4000);
    progress.update(1000);
    expect(out.text).toMatch(/^\r\[#{10}-{30}\] {2}25 % 1,000\/4,000 · \d+ ms\u001b\[K$/);
    // The last batch is always drawn, however soon after the one before.
    progress.update(4000);
    expect(out.text).toMatch(/\r\[#{40}\] 100 % 4,000\/4,000 · \d+ ms\u001b\[K$/);
    progress.finish();
    expect(out.text.endsWith('\r\u001b[K')).toBe(true);
    const written = out.text;
    progress.update(5000);
    expect(out.text).toBe(written);
  });

  it('keeps the bar full when rows that expired meanwhile take the count past the total', () => {
    const out = output(true);
    new PruneProgress(out, 100).update(150);
    expect(out.text).toContain('] 100 % 150/100');
  });

  it('elsewhere, prints a plain line at each further tenth', () => {
    const out = output(false);
    const progress = new PruneProgress(out, 3000);
    for (const deleted of [1000, 2000, 2000, 3000, 3000]) progress.update(deleted);
    progress.finish();
    expect(out.text.split('\n').filter(Boolean)).toEqual([
      'pruned 1,000 of 3,000 expired sessions (30 %)',
      'pruned 2,000 of 3,000 expired sessions (60 %)',
      'pruned 3,000 of 3,000 expired sessions (100 %)',
    ]);
  });

  it('prints nothing when nothing had expired', () => {
    const out = output(true);
    const progress = new PruneProgress(out, 0);
    progress.update(0);
    progress.finish();
    expect(out.text).toBe('');
  });
});

it.each([
  [850, '850 ms'],
  [12_345, '12.3 s'],
  [245_000, '4 min 05 s'],
  [7_620_000, '2 h 07 min'],
  [273_600_000, '3 d 04 h'],
])('duration(%d) is %s', (ms, text) => {
  expect(duration(ms)).toBe(text);
});
