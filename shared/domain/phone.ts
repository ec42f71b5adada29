/**
 * Phone numbers are stored in E.164. An 11-digit Chinese mobile number (1[3-9]x xxxx xxxx),
 * with or without +86 / 0086, is normalised to +86…; anything else must already be E.164.
 */
export function normalisePhone(input: string): string | undefined {
  const compact = input.replace(/[\s()-]/g, '');
  const cn = /^(?:\+86|0086|86)?(1[3-9]\d{9})$/.exec(compact);
  if (cn) return `+86${cn[1]}`;
  if (/^\+[1-9]\d{6,14}$/.test(compact)) return compact;
  return undefined;
}

export function normaliseEmail(input: string): string {
  return input.trim().toLowerCase();
}
