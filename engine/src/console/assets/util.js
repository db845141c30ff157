// Shared helpers of the console: DOM building, the API client, the session, time formats.
//
// Every element is built with h(): strings always become text nodes (never markup), so alert
// text, which any monitored system can write, can never run as script in the console.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') {
      if ('defaultValue' in el) el.defaultValue = v; // what a form reset returns to
      el.value = v;
    }
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// ---- Session: the token lives in sessionStorage only (never a cookie, never the URL).
export const session = {
  token: sessionStorage.getItem('triaged.token') || '',
  user: null,
  role: null,
};
const LEVELS = { viewer: 1, operator: 2, admin: 3 };
export function can(role) {
  return (LEVELS[session.role] || 0) >= LEVELS[role];
}
export function setToken(t) {
  session.token = t;
  if (t) sessionStorage.setItem('triaged.token', t);
  else sessionStorage.removeItem('triaged.token');
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function authHeaders(extra = {}) {
  const headers = { ...extra };
  if (session.token) headers.Authorization = 'Bearer ' + session.token;
  return headers;
}

// Calls the API; answers the parsed JSON, throws ApiError with the server's message.
export async function api(path, { method = 'GET', body, raw = false } = {}) {
  const headers = authHeaders(body === undefined ? {} : { 'Content-Type': 'application/json' });
  const res = await fetch(path, {
    method,
    headers,
    cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (raw && res.ok) return res;
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText}`;
    if (data && data.error) {
      const d = data.detail;
      msg = data.error + (d ? ': ' + (typeof d === 'string' ? d : JSON.stringify(d)) : '');
    }
    throw new ApiError(res.status, msg);
  }
  return data;
}

// ---- Time
export function parseTime(iso) {
  return iso ? Date.parse(iso) : NaN;
}
export function duration(ms) {
  const neg = ms < 0;
  let s = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const hh = Math.floor(s / 3600);
  s -= hh * 3600;
  const mm = Math.floor(s / 60);
  s -= mm * 60;
  const out = d ? `${d}d ${hh}h` : hh ? `${hh}h ${mm}m` : mm ? `${mm}m ${s}s` : `${s}s`;
  return neg ? '-' + out : out;
}
export function age(iso) {
  const t = parseTime(iso);
  return Number.isNaN(t) ? '' : duration(Date.now() - t);
}
export function fmtTime(iso) {
  const t = parseTime(iso);
  if (Number.isNaN(t)) return '';
  return new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

// ---- Location: #/view/part?params. Filters live in the URL, so a view can be shared.
export function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const q = hash.indexOf('?');
  const path = q < 0 ? hash : hash.slice(0, q);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { view: parts[0] || 'board', parts, params: new URLSearchParams(q < 0 ? '' : hash.slice(q + 1)) };
}
export function replaceParams(params) {
  const r = route();
  const q = params.toString();
  history.replaceState(null, '', '#/' + r.parts.map(encodeURIComponent).join('/') + (q ? '?' + q : ''));
}

// ---- Prometheus-style matchers: name="value", name!="v", name=~"re", name!~"re".
const MATCHER = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^,"\s]*))\s*(?:,|$)/;
export function parseMatchers(text) {
  const out = [];
  let rest = (text || '').trim().replace(/^\{/, '').replace(/\}$/, '');
  while (rest.trim()) {
    const m = MATCHER.exec(rest);
    if (!m) throw new Error(`cannot read a matcher at "${rest.trim().slice(0, 30)}"`);
    const value = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[4];
    out.push({ name: m[1], op: m[2], value });
    rest = rest.slice(m[0].length);
  }
  return out;
}
export function matcherText(ms) {
  return ms.map((m) => `${m.name}${m.op}"${String(m.value).replace(/["\\]/g, '\\$&')}"`).join(', ');
}
export function matcherTest(m, v) {
  const s = v === undefined || v === null ? '' : String(v);
  switch (m.op) {
    case '=':
      return s === m.value;
    case '!=':
      return s !== m.value;
    case '=~':
      return anchored(m.value).test(s);
    default:
      return !anchored(m.value).test(s);
  }
}
const regexCache = new Map();
function anchored(re) {
  let r = regexCache.get(re);
  if (!r) {
    try {
      r = new RegExp('^(?:' + re + ')$');
    } catch {
      r = /^\b$/; // matches nothing
    }
    regexCache.set(re, r);
  }
  return r;
}

// ---- Messages
export function toast(message, kind = 'info') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const t = h('div', { class: 'toast ' + kind, role: kind === 'error' ? 'alert' : 'status' }, message);
  box.append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 8000 : 4000);
}

// Runs an action, reports its error in a toast; answers whether it worked.
export async function act(fn, done) {
  try {
    const r = await fn();
    if (done) toast(done);
    return r ?? true;
  } catch (e) {
    toast(e.message, 'error');
    return false;
  }
}

export function badge(text, cls) {
  return h('span', { class: 'badge ' + (cls || '') }, text);
}

export function field(labelText, control) {
  const id = 'f-' + Math.random().toString(36).slice(2, 9);
  control.id = id;
  return h('label', { class: 'field', for: id }, h('span', {}, labelText), control);
}

export function safeUrl(u) {
  return /^https?:\/\//i.test(u || '') ? u : null;
}

export function table(headers, rows, caption) {
  return h(
    'table',
    { class: 'grid' },
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows),
  );
}
