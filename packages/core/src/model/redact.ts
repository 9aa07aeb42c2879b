/**
 * Credentials kept out of everything Stratus writes for people to read — events (stored and on the
 * bus), job results, error messages and values, log lines (spec/operations.md §11; CloudStack
 * masks them the same way): the password of a URL's user info (`nfs://user:secret@host/…`,
 * `rbd://admin:key@mon/pool`, `https://user:token@host/t.qcow2`) and the values of query
 * parameters that carry secrets (`?password=…`, `secretkey=…`, `token=…`, `signature=…`).
 */
const URL_USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/)([^\s/?#@:]*):([^\s/?#@]*)@/gi;
const SECRET_PARAMETER = /([?&;](?:password|passwd|pass|secret|secretkey|apikey|key|token|signature)=)([^&\s#"']*)/gi;

/** The mask written in place of a secret. */
export const REDACTED = '******';

/** `text` with URL passwords and secret query parameters masked. */
export function redactCredentials(text: string): string {
  if (!text.includes('://') && !text.includes('=')) return text;
  return text
    .replace(URL_USERINFO, (_m, scheme: string, user: string) => `${scheme}${user}:${REDACTED}@`)
    .replace(SECRET_PARAMETER, (_m, key: string) => `${key}${REDACTED}`);
}

/** `value` with {@link redactCredentials} applied to every string in it (plain objects and arrays, copied). */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redactCredentials(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v);
    return out as T;
  }
  return value;
}
