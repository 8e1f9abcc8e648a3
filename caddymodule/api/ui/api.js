// The API client: the token lives in sessionStorage (gone with the tab)
// and travels only in the Authorization header, never in a URL.

const tokenKey = 'hookgate.token';
const readOnlyKey = 'hookgate.readOnly';

// base is the API's URL: the page is at <mount>/ui/.
export const base = new URL('..', location.href);

export const session = {
  get token() { return sessionStorage.getItem(tokenKey); },
  get readOnly() { return sessionStorage.getItem(readOnlyKey) === '1'; },
  set(token, readOnly) {
    sessionStorage.setItem(tokenKey, token);
    sessionStorage.setItem(readOnlyKey, readOnly ? '1' : '0');
  },
  clear() {
    sessionStorage.removeItem(tokenKey);
    sessionStorage.removeItem(readOnlyKey);
  },
};

// APIError is an answer that is not 2xx, with the API's error body.
export class APIError extends Error {
  constructor(status, body) {
    const b = body && typeof body === 'object' ? body : {};
    super(`${status} ${b.error || ''}${b.detail ? ': ' + b.detail : ''}`.trim());
    this.status = status;
    this.body = body;
  }
}

// parse reads JSON keeping integers too big for a JS number as their
// exact text.
export function parse(s) {
  return JSON.parse(s, (k, v, ctx) =>
    typeof v === 'number' && ctx && typeof ctx.source === 'string' && !Number.isSafeInteger(v) && /^-?\d+$/.test(ctx.source) ? ctx.source : v);
}

// url is the absolute URL of an API path.
export function url(path) {
  return new URL(path.replace(/^\//, ''), base).href;
}

// api calls the API with the session's token.
export async function api(method, path, body, token = session.token) {
  const headers = { Authorization: 'Bearer ' + token };
  const init = { method, headers, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(url(path), init);
  const raw = await res.text();
  let data = null;
  if (raw) {
    try { data = parse(raw); } catch { data = raw; }
  }
  if (!res.ok) throw new APIError(res.status, data);
  return data;
}

// quote quotes a word for a POSIX shell.
export function quote(s) {
  return "'" + String(s).replaceAll("'", "'\\''") + "'";
}

// curl is the command line that makes the same request, the token read
// from the environment.
export function curl(method, path, body) {
  let s = `curl -X ${method} -H "Authorization: Bearer $HOOKGATE_TOKEN" ${quote(url(path))}`;
  if (body !== undefined) s += ` -H 'Content-Type: application/json' -d ${quote(JSON.stringify(body))}`;
  return s;
}

// items is the items of a list answer: a page or a bare array.
export function items(answer) {
  if (Array.isArray(answer)) return answer;
  return (answer && answer.items) || [];
}
