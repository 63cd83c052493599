import { existsSync } from 'node:fs';
import { describeLive } from '@csk/conformance/scenarios/live';
import { describeBootRace, describeConcurrentFirstWrites } from '@csk/conformance/scenarios/multi-process';
import { describeTimezones } from '@csk/conformance/scenarios/timezones';
import { CLIENTS, EXPIRY_MS, serverTarget, storeModule } from './targets';

if (!existsSync(storeModule)) throw new Error(`${storeModule} is missing: build core, then this package (npx tsup)`);

describeLive('CSK_MYSQL_URL', 'MySQL/MariaDB server scenarios', (url) => {
  // Each driver has its own idea of time zones (for Date objects): the store must not depend on any of them.
  for (const client of CLIENTS) {
    describeTimezones(serverTarget(url, client), {
      sessionSql: ["set time_zone = '+09:00'"],
      sessionZoneExpression: '@@session.time_zone',
      sessionZone: '+09:00',
      expiryMsExpression: EXPIRY_MS,
    });
  }
  describeConcurrentFirstWrites(serverTarget(url, 'mysql2'));
  describeBootRace(serverTarget(url, 'mysql2'));
});
