import { parseArgs } from 'node:util';

/** `npm run job -- <schedule> [--now <RFC 3339>]`: runs one schedule on the running local stack. */
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { now: { type: 'string' } },
});
const name = positionals[0];
if (!name || positionals.length > 1) {
  console.error('Usage: npm run job -- <schedule> [--now 2025-01-31T02:00:00+08:00]');
  process.exit(2);
}
if (values.now !== undefined && Number.isNaN(Date.parse(values.now))) {
  console.error(`--now must be an RFC 3339 date-time, got ${values.now}`);
  process.exit(2);
}

const base = `http://127.0.0.1:${process.env.PORT ?? 3000}`;
let response: Response;
try {
  response = await fetch(`${base}/__local/schedules/${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(values.now ? { now: values.now } : {}),
  });
} catch {
  console.error(`No local stack answers on ${base}; start it with \`npm start\`.`);
  process.exit(1);
}
const text = await response.text();
let shown = text;
try {
  shown = JSON.stringify(JSON.parse(text), null, 2);
} catch {
  // not JSON: print as is
}
if (!response.ok) {
  console.error(`${response.status}: ${shown}`);
  process.exit(1);
}
console.log(shown);
