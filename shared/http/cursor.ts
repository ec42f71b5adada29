import { createHash } from 'node:crypto';
import { ValidationError } from '../errors.js';

/** What a cursor is bound to: a cursor used with another tenant, caller or filter is a 400. */
export interface CursorBinding {
  tenantId: string;
  caller: string;
  filter: unknown;
}

type LastKey = Record<string, unknown>;

function bindingHash(binding: CursorBinding): string {
  return createHash('sha256')
    .update(JSON.stringify([binding.tenantId, binding.caller, binding.filter]))
    .digest('base64url')
    .slice(0, 22);
}

export function encodeCursor(lastKey: LastKey | undefined, binding: CursorBinding): string | null {
  if (!lastKey) return null;
  return Buffer.from(JSON.stringify({ k: lastKey, b: bindingHash(binding) })).toString('base64url');
}

/**
 * Decodes a cursor and checks its binding; `allowedKey` checks the key itself belongs to the
 * partition being read (so even a hand-made cursor cannot reach another tenant's items).
 */
export function decodeCursor(
  cursor: string | undefined,
  binding: CursorBinding,
  allowedKey: (key: LastKey) => boolean,
): LastKey | undefined {
  if (cursor === undefined) return undefined;
  let parsed: { k?: unknown; b?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!parsed || typeof parsed !== 'object' || parsed.b !== bindingHash(binding)) throw invalid();
  const key = parsed.k;
  if (!key || typeof key !== 'object' || Array.isArray(key)) throw invalid();
  const values = Object.values(key as LastKey);
  if (!values.every((v) => typeof v === 'string') || !allowedKey(key as LastKey)) throw invalid();
  return key as LastKey;
}

function invalid(): ValidationError {
  return new ValidationError('The cursor is not valid for this request.', [
    { path: 'query.cursor', message: 'not a cursor of this list, caller and filter' },
  ]);
}
