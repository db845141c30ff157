// The live stream (GET /api/v1/stream) read with fetch: EventSource cannot send the
// Authorization header, and the token must not travel in the URL. Frames are parsed as the
// Server-Sent Events format says; after a drop the stream reconnects with Last-Event-ID, and a
// "resync" (the missed events are gone, or the daemon restarted) tells every view to reload.
import { authHeaders } from './util.js';

const listeners = new Map();
let lastId = '';
let retryMs = 2000;
let running = false;
let controller = null;

export function on(type, fn) {
  if (!listeners.has(type)) listeners.set(type, new Set());
  listeners.get(type).add(fn);
  return () => listeners.get(type).delete(fn);
}

function emit(type, data) {
  for (const fn of listeners.get(type) || []) {
    try {
      fn(data);
    } catch (e) {
      console.error(e);
    }
  }
}

function setState(state) {
  const el = document.getElementById('live');
  if (el) {
    el.textContent = state === 'live' ? '● live' : state === 'reconnecting' ? '○ reconnecting' : '○ offline';
    el.className = 'live ' + state;
  }
  emit('state', state);
}

function dispatch(frame) {
  let event = 'message';
  let data = '';
  let id = null;
  for (const line of frame.split('\n')) {
    if (!line || line.startsWith(':')) continue;
    const c = line.indexOf(':');
    const name = c < 0 ? line : line.slice(0, c);
    let value = c < 0 ? '' : line.slice(c + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'event') event = value;
    else if (name === 'data') data += (data ? '\n' : '') + value;
    else if (name === 'id') id = value;
    else if (name === 'retry' && /^\d+$/.test(value)) retryMs = Number(value);
  }
  if (id !== null) lastId = id;
  if (!data) return;
  let obj;
  try {
    obj = JSON.parse(data);
  } catch {
    return;
  }
  emit(event, obj);
}

async function connect() {
  controller = new AbortController();
  const headers = authHeaders({ Accept: 'text/event-stream' });
  if (lastId) headers['Last-Event-ID'] = lastId;
  // Not `alert`: every alert change is one, the console's views do not need them live, and
  // at high rates they are most of the stream's bytes.
  const res = await fetch('/api/v1/stream?types=incident,problem,silence,maintenance,sla,heartbeat', {
    headers,
    signal: controller.signal,
    cache: 'no-store',
  });
  if (!res.ok) throw new Error('stream: ' + res.status);
  setState('live');
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value.replace(/\r\n?/g, '\n');
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      dispatch(buf.slice(0, i));
      buf = buf.slice(i + 2);
    }
  }
}

export function start() {
  if (running) return;
  running = true;
  (async () => {
    while (running) {
      try {
        await connect();
      } catch (e) {
        if (!running) return;
      }
      setState('reconnecting');
      await new Promise((r) => setTimeout(r, retryMs));
    }
  })();
}

export function stop() {
  running = false;
  if (controller) controller.abort();
  setState('offline');
}
