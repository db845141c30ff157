// The alerts explorer: Prometheus-style matchers over every alert (labels, and the fields
// source, resource, check, service, severity, status), with flapping and suppressed marks and
// "Silence this", which opens the silence form prefilled from the alert.
import { h, api, can, age, table, badge, replaceParams, parseMatchers, matcherText } from './util.js';

// The matchers a silence needs to hold this alert: silences match the canonical fields
// (check, resource, ...) and the labels, as correlation rules do (docs/suppression.md).
export function silenceMatchersFor(a) {
  const ms = [{ name: 'check', op: '=', value: a.check }, { name: 'resource', op: '=', value: a.resource }];
  for (const [k, v] of Object.entries(a.labels || {}))
    if (k !== 'check' && k !== 'resource') ms.push({ name: k, op: '=', value: v });
  return ms;
}

export function alerts(root, r) {
  const matchIn = h('input', { type: 'search', name: 'match', size: 50, placeholder: 'check="cpu", resource=~"db.*"', value: r.params.get('match') || '' });
  const statusSel = h('select', { name: 'status' }, h('option', { value: '' }, 'any'), h('option', { value: 'firing' }, 'firing'), h('option', { value: 'resolved' }, 'resolved'));
  statusSel.value = r.params.get('status') || '';
  const out = h('div', { class: 'results', 'aria-live': 'polite' });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Search alerts' },
    h('label', {}, h('span', {}, 'Matchers'), matchIn), h('label', {}, h('span', {}, 'Status'), statusSel),
    h('button', { type: 'submit' }, 'Search'));
  root.append(h('h1', {}, 'Alerts'), form, out);

  async function search() {
    const p = new URLSearchParams();
    if (matchIn.value.trim()) p.set('match', matchIn.value.trim());
    if (statusSel.value) p.set('status', statusSel.value);
    replaceParams(p);
    const q = new URLSearchParams({ limit: '500' });
    try {
      const ms = parseMatchers(matchIn.value);
      if (ms.length) q.set('filter', '{' + matcherText(ms) + '}');
    } catch (e) {
      out.replaceChildren(h('p', { class: 'error', role: 'alert' }, e.message));
      return;
    }
    if (statusSel.value) q.set('status', statusSel.value);
    out.replaceChildren(h('p', {}, 'Searching…'));
    try {
      const [list, held] = await Promise.all([api('/api/v1/alerts?' + q), api('/api/v1/suppressed')]);
      const suppressed = new Map(held.alerts.map((a) => [a.fingerprint, a]));
      const rows = list.data.map((a) => {
        const s = suppressed.get(a.fingerprint);
        return h('tr', { class: a.status },
          h('td', {}, a.status), h('td', {}, h('span', { class: 'sev ' + a.severity }, a.severity)),
          h('td', {}, a.resource), h('td', {}, a.check), h('td', {}, a.service || ''), h('td', {}, a.summary || ''),
          h('td', {}, a.count), h('td', {}, age(a.last_seen)),
          h('td', {}, a.flapping ? badge('flapping', 'flap') : null, s ? badge(s.suppressed, 'held') : null,
            s && s.incident ? h('a', { href: `#/incident/${s.incident}` }, ` #${s.incident}`) : null),
          h('td', {}, can('operator') && a.status === 'firing'
            ? h('a', { class: 'button', href: '#/silences?new=1&matchers=' + encodeURIComponent(matcherText(silenceMatchersFor(a))) }, 'Silence this')
            : null));
      });
      out.replaceChildren(h('p', { role: 'status' }, `${list.matched ?? list.data.length} alert(s)` + (list.next ? `, the first ${list.data.length} shown` : '')),
        table(['Status', 'Severity', 'Resource', 'Check', 'Service', 'Summary', 'Count', 'Last seen', 'Marks', ''], rows));
      out.dataset.loaded = 'true';
    } catch (e) {
      out.replaceChildren(h('p', { class: 'error', role: 'alert' }, e.message));
    }
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    search();
  });
  search();
  matchIn.focus();
}
