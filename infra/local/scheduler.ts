import { type FunctionName, schedules } from '../../shared/app/declaration.js';
import type { ScheduleDecl } from '../../shared/app/types.js';
import { localLog } from './log.js';

/** The event a scheduled function receives locally. */
export interface ScheduledEvent {
  scheduledTime: string;
  schedule: string;
}

/** Period in ms of a `rate(N minute|minutes|hour|hours)` expression. */
export function parseRate(expression: string): number {
  const match = /^rate\(\s*(\d+)\s+(minute|minutes|hour|hours)\s*\)$/.exec(expression.trim());
  if (!match) throw new Error(`Unsupported schedule expression: ${expression}`);
  const n = Number(match[1]);
  if (n < 1) throw new Error(`Unsupported schedule expression: ${expression}`);
  return n * (match[2]!.startsWith('minute') ? 60_000 : 3_600_000);
}

export class UnknownScheduleError extends Error {}

interface Entry {
  name: string;
  decl: ScheduleDecl<FunctionName>;
  periodMs: number;
  timer?: NodeJS.Timeout;
  /** Runs of this schedule, one after the other. */
  chain: Promise<unknown>;
  running: boolean;
}

/**
 * Runs each schedule of the declaration on its period (first run after one period), never two
 * runs of one schedule at once; `runNow` runs one on demand (queued behind a run in progress).
 */
export class LocalScheduler {
  private readonly entries = new Map<string, Entry>();
  private stopped = false;

  constructor(
    private readonly invoke: (fn: FunctionName, event: ScheduledEvent) => Promise<unknown>,
    declared: Record<string, ScheduleDecl<FunctionName>> = schedules,
  ) {
    for (const [name, decl] of Object.entries(declared)) {
      this.entries.set(name, {
        name,
        decl,
        periodMs: parseRate(decl.expression),
        chain: Promise.resolve(),
        running: false,
      });
    }
  }

  get names(): string[] {
    return [...this.entries.keys()];
  }

  /** Runs in progress or queued. */
  get busy(): boolean {
    return [...this.entries.values()].some((e) => e.running);
  }

  /** Starts the timers. */
  start(): void {
    for (const entry of this.entries.values()) {
      if (entry.timer) continue;
      entry.timer = setInterval(() => {
        if (entry.running || this.stopped) {
          if (entry.running)
            localLog.warn('schedule still running; this tick is skipped', { schedule: entry.name });
          return;
        }
        this.runNow(entry.name).catch(() => {
          // logged by run
        });
      }, entry.periodMs);
      entry.timer.unref();
    }
  }

  /** Runs schedule `name` once, after any run of it in progress; resolves with the handler's result. */
  runNow(name: string, now?: string): Promise<unknown> {
    const entry = this.entries.get(name);
    if (!entry) return Promise.reject(new UnknownScheduleError(`No schedule named ${name}`));
    const run = entry.chain.then(() => this.run(entry, now));
    entry.chain = run.catch(() => undefined);
    return run;
  }

  /** Resolves when no run is in progress or queued. */
  async idle(): Promise<void> {
    for (const entry of this.entries.values()) await entry.chain;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const entry of this.entries.values()) {
      if (entry.timer) clearInterval(entry.timer);
      delete entry.timer;
    }
    await this.idle();
  }

  private async run(entry: Entry, now?: string): Promise<unknown> {
    entry.running = true;
    const started = Date.now();
    try {
      const result = await this.invoke(entry.decl.fn, {
        scheduledTime: now ?? new Date().toISOString(),
        schedule: entry.name,
      });
      localLog.debug('schedule ran', { schedule: entry.name, ms: Date.now() - started });
      return result;
    } catch (error) {
      localLog.error('schedule failed', { schedule: entry.name, error });
      throw error;
    } finally {
      entry.running = false;
    }
  }
}
