import { eventRules, functions, routes, schedules, streamConsumers } from '../shared/app/declaration.js';
import type {
  EventRuleDecl,
  FunctionDecl,
  RouteDecl,
  ScheduleDecl,
  StreamConsumerDecl,
} from '../shared/app/types.js';

/**
 * What the CDK app reads from the app declaration. Typed loosely (string function names) so a
 * test can hand in the real declaration plus an extra entry; `checkDeclaration` restores the
 * cross-references the `satisfies` clauses guarantee for the real one.
 */
export interface AppDeclaration {
  readonly functions: Readonly<Record<string, FunctionDecl>>;
  readonly routes: Readonly<Record<string, Pick<RouteDecl, 'fn' | 'auth'>>>;
  readonly schedules: Readonly<Record<string, ScheduleDecl>>;
  readonly eventRules: Readonly<Record<string, EventRuleDecl>>;
  /** The functions fed by the table stream, each with its own filter. */
  readonly streamConsumers: Readonly<Record<string, StreamConsumerDecl>>;
}

export const siyuDeclaration: AppDeclaration = { functions, routes, schedules, eventRules, streamConsumers };

export type HttpRouteMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** `'GET /v1/jobs/{jobId}'` → method and path, exactly as declared. */
export function parseRouteKey(routeKey: string): { method: HttpRouteMethod; path: string } {
  const match = /^(GET|POST|PUT|PATCH|DELETE) (\/\S*)$/.exec(routeKey);
  if (!match) throw new Error(`Route key "${routeKey}" is not "<METHOD> /<path>".`);
  return { method: match[1] as HttpRouteMethod, path: match[2] as string };
}

/** `jobWorker` → `JobWorker`: construct ids, hence stable logical ids. */
export function pascalCase(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/** Fails the synth, with the offending entry named, if an entry points at nothing. */
export function checkDeclaration(declaration: AppDeclaration): void {
  const known = (fn: string, where: string) => {
    if (!Object.hasOwn(declaration.functions, fn))
      throw new Error(`${where} names unknown function "${fn}".`);
  };
  for (const [key, route] of Object.entries(declaration.routes)) {
    parseRouteKey(key);
    known(route.fn, `Route "${key}"`);
  }
  for (const [name, schedule] of Object.entries(declaration.schedules))
    known(schedule.fn, `Schedule "${name}"`);
  for (const [name, rule] of Object.entries(declaration.eventRules)) known(rule.fn, `Event rule "${name}"`);
  const readers = Object.entries(declaration.functions)
    .filter(([, fn]) => fn.tableStream)
    .map(([name]) => name);
  for (const [name, consumer] of Object.entries(declaration.streamConsumers))
    known(consumer.fn, `Stream consumer "${name}"`);
  const expected = [...new Set(Object.values(declaration.streamConsumers).map((c) => c.fn))].sort();
  if (readers.sort().join() !== expected.join()) {
    throw new Error(
      `Functions declaring tableStream (${readers.join(', ') || 'none'}) must be exactly the stream consumers' (${expected.join(', ') || 'none'}).`,
    );
  }
}
