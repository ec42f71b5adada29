/**
 * The local stack's own log lines (not the handlers': those use the structured logger).
 * `SIYU_LOCAL_LOG` = `debug` | `info` (default) | `warn` | `error` | `silent`.
 */
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
type Level = Exclude<keyof typeof LEVELS, 'silent'>;

function threshold(): number {
  const name = (process.env.SIYU_LOCAL_LOG ?? 'info').toLowerCase();
  return LEVELS[name as keyof typeof LEVELS] ?? LEVELS.info;
}

function write(level: Level, message: string, fields?: Record<string, unknown>): void {
  if (LEVELS[level] < threshold()) return;
  const suffix = fields && Object.keys(fields).length ? ` ${JSON.stringify(fields, errorReplacer)}` : '';
  process.stderr.write(
    `[siyu-local] ${level === 'info' ? '' : `${level.toUpperCase()} `}${message}${suffix}\n`,
  );
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

export const localLog = {
  debug: (message: string, fields?: Record<string, unknown>) => write('debug', message, fields),
  info: (message: string, fields?: Record<string, unknown>) => write('info', message, fields),
  warn: (message: string, fields?: Record<string, unknown>) => write('warn', message, fields),
  error: (message: string, fields?: Record<string, unknown>) => write('error', message, fields),
};

export type LocalLog = typeof localLog;

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
