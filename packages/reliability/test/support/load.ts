import type { VisitBody } from './protocol.js';

/** One user with a browser's cookie jar of one cookie, visiting sequentially. */
export class VirtualUser {
  cookie: string | undefined;
  sid: string | undefined;
  /** The highest counter the application acknowledged (answered 200 after saving it). */
  acked = 0;
  constructor(readonly name: string) {}
}

/** The outcome of one request. */
export interface Visit {
  /** The HTTP status, or 0 when there was none (a network error, or no answer within the deadline). */
  readonly status: number;
  readonly ms: number;
  /** Why there was no status. */
  readonly failure?: 'deadline' | string;
  readonly body?: VisitBody;
}

/** What a load run measured. */
export class LoadStats {
  readonly byStatus: Record<string, number> = {};
  total = 0;
  maxMs = 0;
  /** Requests with no answer within the deadline: hangs. */
  hung = 0;
  /** Requests that failed at the HTTP level (the application process is on loopback: a crash, not a fault). */
  networkErrors: string[] = [];
  /** A 200 whose session was a new one although the user's old one had acknowledged writes. */
  lostSessions = 0;
  /** A 200 whose counter did not follow an acknowledged one: an acknowledged write that the store lost. */
  lostWrites = 0;

  record(visit: Visit): void {
    this.total += 1;
    this.maxMs = Math.max(this.maxMs, visit.ms);
    const key = visit.status === 0 ? (visit.failure === 'deadline' ? 'hung' : 'network error') : String(visit.status);
    this.byStatus[key] = (this.byStatus[key] ?? 0) + 1;
    if (visit.failure === 'deadline') this.hung += 1;
    else if (visit.status === 0) this.networkErrors.push(visit.failure ?? 'unknown');
  }
}

/** One visit of `/visit` by `user`, updating its cookie and acknowledged counter. */
export async function visit(baseUrl: string, user: VirtualUser, deadlineMs: number, stats?: LoadStats): Promise<Visit> {
  const started = Date.now();
  let result: Visit;
  try {
    const response = await fetch(`${baseUrl}/visit`, {
      headers: user.cookie ? { cookie: user.cookie } : {},
      signal: AbortSignal.timeout(deadlineMs),
    });
    const body = (await response.json().catch(() => ({}))) as VisitBody;
    const setCookie = response.headers.getSetCookie()[0];
    result = { status: response.status, ms: Date.now() - started, body };
    if (response.status === 200 && typeof body.n === 'number') {
      if (stats && user.sid !== undefined && body.sid !== user.sid && user.acked > 0) stats.lostSessions += 1;
      else if (stats && body.n <= user.acked) stats.lostWrites += 1;
      if (setCookie) user.cookie = setCookie.split(';')[0];
      user.sid = body.sid;
      user.acked = body.n;
    }
  } catch (error) {
    const name = (error as Error)?.name;
    const failure = name === 'TimeoutError' || name === 'AbortError' ? 'deadline' : String((error as Error)?.message);
    result = { status: 0, ms: Date.now() - started, failure };
  }
  stats?.record(result);
  return result;
}

/**
 * Keep `users` visiting, each sequentially with a short pause, until `stop()` is called or `maxRequests` were sent;
 * resolves when every request has ended.
 */
export function startLoad(
  baseUrl: string,
  users: VirtualUser[],
  { deadlineMs, pauseMs = 5, maxRequests = 20_000 }: { deadlineMs: number; pauseMs?: number; maxRequests?: number },
): { stats: LoadStats; stop: () => Promise<LoadStats> } {
  const stats = new LoadStats();
  let stopped = false;
  const loops = users.map(async (user) => {
    while (!stopped && stats.total < maxRequests) {
      await visit(baseUrl, user, deadlineMs, stats);
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  });
  return {
    stats,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      return stats;
    },
  };
}

/**
 * Visit as `user` every `everyMs` until a 200 (the service is back), giving up after `limitMs`; resolves the
 * milliseconds from `since` to that answer, or `undefined` when none came.
 */
export async function timeToService(
  baseUrl: string,
  user: VirtualUser,
  since: number,
  {
    deadlineMs,
    stats,
    limitMs = 15_000,
    everyMs = 20,
  }: { deadlineMs: number; stats?: LoadStats; limitMs?: number; everyMs?: number },
): Promise<number | undefined> {
  while (Date.now() - since < limitMs) {
    const result = await visit(baseUrl, user, deadlineMs, stats);
    if (result.status === 200) return Date.now() - since;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return undefined;
}
