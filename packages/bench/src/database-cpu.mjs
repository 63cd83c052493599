// The CPU time the database servers on this machine have used, read from /proc: with the server process's own, it is
// what a request costs the machine. On 2 cores shared by the load generator, the server and the database, that sum
// decides throughput, and it moves far less from round to round than req/s does.
import fs from 'node:fs';

/** The processes counted: the servers the benchmark talks to (PostgreSQL's backends, MariaDB or MySQL, Redis). */
const DATABASE_PROCESSES = new Set(['postgres', 'mariadbd', 'mysqld', 'redis-server']);

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** Microseconds of CPU (user + system) used so far by every database process; NaN where /proc cannot be read. */
export function databaseCpuUs() {
  let pids;
  try {
    pids = fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return Number.NaN;
  }
  let ticks = 0;
  for (const pid of pids) {
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // ended since the listing
    }
    // The command name is in parentheses and may hold spaces: the fields after it are split from its closing one.
    const close = stat.lastIndexOf(')');
    if (!DATABASE_PROCESSES.has(stat.slice(stat.indexOf('(') + 1, close))) continue;
    const fields = stat.slice(close + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1e6) / TICKS_PER_SECOND;
}
