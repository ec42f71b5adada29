import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Compares two byte strings in constant time; a length mismatch is checked first and is just false. */
export function safeEqual(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length || a.length === 0) return false;
  return timingSafeEqual(a, b);
}

export function hmacSha256(secret: string, data: Buffer | string): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}

export function md5Hex(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

/** Decodes a base64 signature header strictly: anything else is no signature. */
export function decodeBase64(value: string | undefined): Buffer | undefined {
  if (!value || !/^[A-Za-z0-9+/]+={0,2}$/.test(value.trim())) return undefined;
  return Buffer.from(value.trim(), 'base64');
}

export function decodeHex(value: string | undefined): Buffer | undefined {
  if (!value || !/^(?:[0-9a-fA-F]{2})+$/.test(value.trim())) return undefined;
  return Buffer.from(value.trim(), 'hex');
}
