import { parseArgs } from 'node:util';
import { signLocalToken } from './jwt.js';

/** `npm run token -- --tenant T --role admin|staff --sub S [--ttl 3600]`: prints a local bearer token. */
const usage =
  'Usage: npm run token -- --tenant <tenant> --role admin|staff --sub <staff id> [--ttl <seconds>]';
let values: { tenant?: string; role?: string; sub?: string; ttl?: string };
try {
  ({ values } = parseArgs({
    options: {
      tenant: { type: 'string' },
      role: { type: 'string' },
      sub: { type: 'string' },
      ttl: { type: 'string' },
    },
  }));
} catch (error) {
  console.error(`${(error as Error).message}\n${usage}`);
  process.exit(2);
}
const { tenant, role, sub } = values;
const ttl = Number(values.ttl ?? 3600);
if (!tenant || !sub || (role !== 'admin' && role !== 'staff') || !Number.isInteger(ttl) || ttl <= 0) {
  console.error(usage);
  process.exit(2);
}
console.log(await signLocalToken({ tenant, role, sub, ttlSeconds: ttl }));
