// A store with a pending prune timer, on a knex the application destroys without closing the store: the process
// must still exit on its own (the timer is unref'd). Then a store that owns its knex, closed: exits as well.
import { KnexStore } from '../../../src/index.js';
import { memoryKnex } from '../fixtures.js';
import { RecordingAdapter } from '../recording-adapter.js';

async function main(): Promise<void> {
  const knex = memoryKnex();
  const store = new KnexStore({ knex, cleanupInterval: 600_000 }, new RecordingAdapter());
  await store.ready;
  await knex.destroy();

  const adapter = new RecordingAdapter({ createDefaultKnex: () => memoryKnex() });
  const owning = new KnexStore({ cleanupInterval: 600_000 }, adapter);
  await owning.set('a', { cookie: { maxAge: 60_000 } } as never);
  await owning.close();
  process.stdout.write('done');
}

void main();
