// The console's entry: log in with a token, learn the role, start the stream, route views.
import { h, api, session, setToken, route, toast } from './util.js';
import * as stream from './stream.js';
import { board } from './board.js';
import { incident } from './incident.js';
import { alerts } from './alerts.js';
import { silences } from './silences.js';
import { services, status } from './services.js';

const VIEWS = { board, incident, alerts, silences, services, status };
const main = document.getElementById('main');
let current = null;

function render() {
  const r = route();
  const kiosk = r.params.get('kiosk') === '1';
  document.body.classList.toggle('kiosk', kiosk);
  if (current && current.view === r.view && current.key === r.parts.join('/') && current.update) {
    current.update(r);
    return;
  }
  if (current && current.destroy) current.destroy();
  main.replaceChildren();
  const make = VIEWS[r.view] || board;
  current = make(main, r) || {};
  current.view = r.view;
  current.key = r.parts.join('/');
  for (const a of document.querySelectorAll('#nav a'))
    a.toggleAttribute('aria-current', a.getAttribute('href') === '#/' + (r.view === 'incident' ? 'board' : r.view));
}

function loginForm(message) {
  stream.stop();
  document.getElementById('who').textContent = '';
  document.getElementById('logout').hidden = true;
  const input = h('input', { type: 'password', id: 'token', autocomplete: 'off', required: true });
  const form = h(
    'form',
    { class: 'login', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, 'Log in to triaged'),
    h('p', {}, 'Paste your API token. It is kept in this tab only (sessionStorage) and sent as a bearer token.'),
    message ? h('p', { class: 'error', role: 'alert' }, message) : null,
    h('label', { for: 'token' }, 'Token'),
    input,
    h('button', { type: 'submit' }, 'Log in'),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    setToken(input.value.trim());
    boot();
  });
  main.replaceChildren(form);
  current = null;
  input.focus();
}

async function boot() {
  try {
    const me = await api('/api/v1/whoami');
    session.user = me.user;
    session.role = me.role;
  } catch (e) {
    if (e.status === 401 || e.status === 403) {
      setToken('');
      return loginForm(session.token ? e.message : null);
    }
    main.replaceChildren(h('p', { class: 'error', role: 'alert' }, 'Cannot reach triaged: ' + e.message));
    return;
  }
  const who = document.getElementById('who');
  who.replaceChildren(h('span', { class: 'user' }, session.user || 'anonymous'), ' · ', h('span', { class: 'role' }, session.role));
  const out = document.getElementById('logout');
  out.hidden = !session.token;
  out.onclick = () => {
    setToken('');
    session.role = null;
    loginForm();
  };
  stream.start();
  stream.on('resync', () => toast('Reconnected: reloading what was missed'));
  render();
}

window.addEventListener('hashchange', () => {
  if (session.role) render();
});
boot();
