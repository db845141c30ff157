// Silences (the Alertmanager API) and maintenance windows: list, create with a live preview
// of the alerts a silence will hold, extend, expire.
import { h, api, act, can, fmtTime, table, badge, parseMatchers, matcherText, field, toast } from './util.js';
import * as stream from './stream.js';

const OP = { '=': [false, true], '!=': [false, false], '=~': [true, true], '!~': [true, false] };

function toApi(ms) {
  return ms.map((m) => ({ name: m.name, value: m.value, isRegex: OP[m.op][0], isEqual: OP[m.op][1] }));
}
function fromApi(ms) {
  return ms.map((m) => ({
    name: m.name,
    value: m.value,
    op: m.isRegex ? (m.isEqual === false ? '!~' : '=~') : m.isEqual === false ? '!=' : '=',
  }));
}

export function silences(root, r) {
  const list = h('div', {});
  const windows = h('div', {});
  root.append(h('h1', {}, 'Silences'));
  if (can('operator')) root.append(createForm(r.params));
  root.append(list, h('h1', {}, 'Maintenance windows'));
  if (can('operator')) root.append(maintenanceForm());
  root.append(windows);

  function createForm(params) {
    const matchIn = h('input', { type: 'text', size: 60, required: true, value: params.get('matchers') || '', placeholder: 'check="cpu", resource=~"db.*"' });
    const hours = h('select', {}, [['1', '1 hour'], ['2', '2 hours'], ['4', '4 hours'], ['8', '8 hours'], ['24', '1 day'], ['168', '1 week']]
      .map(([v, t]) => h('option', { value: v }, t)));
    const comment = h('input', { type: 'text', size: 40, required: true });
    const preview = h('div', { class: 'preview', role: 'status', 'aria-live': 'polite' });
    const form = h('form', { class: 'create', 'aria-label': 'New silence' }, h('h2', {}, 'New silence'),
      field('Matchers', matchIn), field('Duration', hours), field('Comment', comment),
      h('button', { type: 'submit', class: 'primary' }, 'Create silence'), preview);
    let timer = 0;
    const refresh = () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        let ms;
        try {
          ms = parseMatchers(matchIn.value);
        } catch (e) {
          preview.textContent = e.message;
          return;
        }
        if (!ms.length) {
          preview.textContent = 'Add a matcher to see the alerts it will silence.';
          return;
        }
        // The same matching as silences: canonical fields and labels of firing alerts.
        const q = new URLSearchParams({ status: 'firing', limit: '20', filter: '{' + matcherText(ms) + '}' });
        try {
          const got = await api('/api/v1/alerts?' + q);
          preview.replaceChildren(h('p', {}, `Will silence ${got.matched} firing alert(s) now:`),
            h('ul', {}, got.data.map((a) => h('li', {}, `${a.resource} / ${a.check}`, a.summary ? ` — ${a.summary}` : ''))));
        } catch (e) {
          preview.textContent = e.message;
        }
      }, 250);
    };
    matchIn.addEventListener('input', refresh);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      let ms;
      try {
        ms = parseMatchers(matchIn.value);
      } catch (err) {
        return toast(err.message, 'error');
      }
      const now = Date.now();
      const body = { matchers: toApi(ms), startsAt: new Date(now).toISOString(), endsAt: new Date(now + Number(hours.value) * 3600e3).toISOString(), createdBy: '', comment: comment.value };
      if (await act(() => api('/api/v2/silences', { method: 'POST', body }), 'Silence created')) {
        comment.value = '';
        load();
      }
    });
    refresh();
    if (params.get('new') === '1') setTimeout(() => comment.focus(), 0);
    return form;
  }

  function maintenanceForm() {
    const spec = h('textarea', { rows: 4, cols: 70, placeholder: '{"name": "db-upgrade", "match": "{resource=\\"db1\\"}", "monthly": {"nth": "2", "weekday": "tue", "start": "22:00", "duration": "4h", "time_zone": "Europe/Berlin"}}' });
    const form = h('form', { class: 'create', 'aria-label': 'New maintenance window' }, h('h2', {}, 'New maintenance window'),
      field('Window (JSON, as POST /api/v1/maintenance takes it)', spec), h('button', { type: 'submit' }, 'Create window'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      let body;
      try {
        body = JSON.parse(spec.value);
      } catch (err) {
        return toast('not JSON: ' + err.message, 'error');
      }
      if (await act(() => api('/api/v1/maintenance', { method: 'POST', body }), 'Window created')) load();
    });
    return form;
  }

  // A one-off window made through the API, an hour longer: the same window posted again
  // with its id and a later end.
  async function extendWindow(w) {
    const body = { id: w.id, name: w.name, comment: w.comment, created_by: w.created_by,
      start: w.schedule.start, end: new Date(Math.max(Date.parse(w.schedule.end), Date.now()) + 3600e3).toISOString() };
    if (w.match) body.match = w.match;
    if (w.cis.length) body.cis = w.cis;
    if (w.services.length) body.services = w.services;
    if (w.change_id) body.change_id = w.change_id;
    if (await act(() => api('/api/v1/maintenance', { method: 'POST', body }), 'Extended by 1 hour')) load();
  }

  async function load() {
    try {
      const [sil, mw] = await Promise.all([api('/api/v2/silences'), api('/api/v1/maintenance')]);
      sil.sort((a, b) => (a.status.state === 'expired') - (b.status.state === 'expired') || Date.parse(b.updatedAt) - Date.parse(a.updatedAt));
      list.replaceChildren(table(['State', 'Matchers', 'Starts', 'Ends', 'By', 'Comment', ''], sil.map((s) => {
        const extend = async () => {
          const body = { id: s.id, matchers: s.matchers, startsAt: s.startsAt, endsAt: new Date(Math.max(Date.parse(s.endsAt), Date.now()) + 3600e3).toISOString(), createdBy: s.createdBy, comment: s.comment };
          if (await act(() => api('/api/v2/silences', { method: 'POST', body }), 'Extended by 1 hour')) load();
        };
        const expire = async () => {
          if (await act(() => api(`/api/v2/silence/${encodeURIComponent(s.id)}`, { method: 'DELETE' }), 'Expired')) load();
        };
        return h('tr', { class: s.status.state },
          h('td', {}, badge(s.status.state)), h('td', { class: 'mono' }, matcherText(fromApi(s.matchers))),
          h('td', {}, fmtTime(s.startsAt)), h('td', {}, fmtTime(s.endsAt)), h('td', {}, s.createdBy), h('td', {}, s.comment),
          h('td', {}, can('operator') && s.status.state !== 'expired'
            ? [h('button', { type: 'button', onclick: extend }, 'Extend 1h'), ' ', h('button', { type: 'button', onclick: expire }, 'Expire')] : null));
      }), `${sil.length} silence(s)`));
      windows.replaceChildren(table(['Name', 'Origin', 'State', 'Match', 'By', 'Comment', ''], mw.windows.map((w) =>
        h('tr', {}, h('td', {}, w.name), h('td', {}, w.origin), h('td', {}, badge(w.state)), h('td', { class: 'mono' }, typeof w.match === 'string' ? w.match : JSON.stringify(w.match)),
          h('td', {}, w.created_by || ''), h('td', {}, w.comment || ''),
          h('td', {}, can('operator') && w.origin === 'api' && w.state !== 'ended'
            ? [w.schedule && w.schedule.kind === 'once' ? h('button', { type: 'button', onclick: () => extendWindow(w) }, 'Extend 1h') : null, ' ',
              h('button', { type: 'button', onclick: async () => { if (await act(() => api(`/api/v1/maintenance/${encodeURIComponent(w.id)}`, { method: 'DELETE' }), 'Window ended')) load(); } }, 'End')]
            : null))), `${mw.windows.length} window(s)`));
      root.dataset.loaded = 'true';
    } catch (e) {
      list.replaceChildren(h('p', { class: 'error', role: 'alert' }, e.message));
    }
  }
  const offs = [stream.on('silence', load), stream.on('maintenance', load), stream.on('resync', load)];
  load();
  return { destroy: () => offs.forEach((f) => f()) };
}
