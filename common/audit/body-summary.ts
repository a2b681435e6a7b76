/**
 * What an audit record shows of a JSON request body: the object with the
 * values of secret-looking fields (password, token, secret, credentials,
 * keys) replaced by "(redacted)", or its first characters when long (a
 * cluster map).
 */
const MAX_DETAIL_CHARS = 500;
const SECRET_FIELD = /pass|token|secret|credential|key$/i;

function redact(v: unknown, depth: number): unknown {
  if (depth > 8 || typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map((x) => redact(x, depth + 1));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, SECRET_FIELD.test(k) ? '(redacted)' : redact(x, depth + 1)]));
}

export function bodySummary(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Buffer.isBuffer(body)) return undefined;
  const safe = redact(body, 0);
  const text = JSON.stringify(safe);
  if (text === '{}') return undefined;
  return text.length <= MAX_DETAIL_CHARS ? safe : `${text.slice(0, MAX_DETAIL_CHARS)}…`;
}
