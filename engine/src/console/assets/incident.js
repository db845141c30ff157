// One incident: what it is, why its alerts were put together, its alerts, SLA clocks,
// timeline, escalation, tickets, notifications, problem and known error, and what an operator
// can do.
import { h, api, act, can, age, duration, fmtTime, parseTime, table, badge, safeUrl, field } from './util.js';
import * as stream from './stream.js';

const ROLE_TEXT = { root_cause: 'root cause', member: 'member', symptom: 'symptom' };

function why(inc) {
  const parts = [];
  if (inc.rule === 'default')
    parts.push('No correlation rule matched: the default rule grouped its alerts by service and resource');
  else parts.push(`Rule "${inc.rule}" grouped its alerts`);
  if (inc.group_key) parts.push(`by the group key ${inc.group_key}`);
  const root = (inc.alerts || []).find((a) => a.role === 'root_cause');
  const symptoms = (inc.alerts || []).filter((a) => a.role === 'symptom');
  const out = [h('p', {}, parts.join(' ') + '.')];
  if (root)
    out.push(h('p', {}, 'Root cause: ', h('strong', {}, `${root.resource} / ${root.check}`),
      symptoms.length ? `; ${symptoms.length} alert(s) are symptoms of it through the service topology (CIs: ${inc.cis.join(' → ')}).` : '.'));
  if (inc.changes && inc.changes.length) out.push(h('p', {}, 'Follows change(s): ' + inc.changes.join(', ')));
  return out;
}

export function incident(root, r) {
  const id = Number(r.parts[1]);
  const view = h('div', { class: 'incident' }, h('p', {}, 'Loading incident #' + id + '…'));
  root.append(view);
  let timer = 0;
  let openForm = null;

  function actions(inc) {
    if (!can('operator')) return null;
    const live = inc.status === 'open' || inc.status === 'acknowledged';
    const post = async (action, body, done, form) => {
      const ok = await act(() => api(`/api/v1/incidents/${id}/${action}`, { method: 'POST', body }), done);
      if (ok && form) form.reset();
      await load();
    };
    const prio = h('select', {}, [1, 2, 3, 4, 5].map((p) => h('option', { value: String(p), selected: p === inc.priority }, 'P' + p)));
    const assignee = h('input', { type: 'text', value: inc.assignee, size: 14 });
    const comment = h('textarea', { rows: 2, cols: 40 });
    const note = h('input', { type: 'text', size: 24 });
    const into = h('input', { type: 'number', min: '1', size: 6 });
    const tsys = h('input', { type: 'text', size: 10 });
    const tid = h('input', { type: 'text', size: 10 });
    const turl = h('input', { type: 'url', size: 24 });
    const form = (name, controls, button, fn) => {
      const f = h('form', { class: 'action', 'aria-label': name }, controls, h('button', { type: 'submit' }, button));
      f.addEventListener('submit', (e) => {
        e.preventDefault();
        fn(f);
      });
      f.addEventListener('focusin', () => (openForm = name));
      return f;
    };
    return h('section', { class: 'actions', 'aria-label': 'Actions' },
      h('h2', {}, 'Actions'),
      h('div', { class: 'buttons' },
        live && inc.status === 'open' ? h('button', { type: 'button', class: 'primary', onclick: () => post('acknowledge', {}, 'Acknowledged') }, 'Acknowledge') : null,
        inc.status === 'resolved' ? h('button', { type: 'button', onclick: () => post('close', {}, 'Closed') }, 'Close') : null),
      form('Comment', field('Comment', comment), 'Add comment', (f) => post('comment', { text: comment.value }, 'Comment added', f)),
      form('Assign', field('Owner', assignee), 'Assign', () => post('assign', { assignee: assignee.value }, 'Assigned')),
      form('Priority', field('Priority', prio), 'Set priority', () => post('priority', { priority: Number(prio.value) }, 'Priority set')),
      live ? form('Resolve', field('Resolution note', note), 'Resolve', (f) => post('resolve', { note: note.value }, 'Resolved', f)) : null,
      live ? form('Merge', field('Merge into incident #', into), 'Merge', (f) => post('merge', { into: Number(into.value) }, 'Merged', f)) : null,
      form('Link a ticket', [field('System', tsys), field('Ticket id', tid), field('URL', turl)], 'Link ticket',
        (f) => post('tickets', { system: tsys.value, id: tid.value, url: turl.value }, 'Ticket linked', f)));
  }

  function clocks(inc) {
    const rows = (inc.sla || []).map((c) => {
      const left = c.deadline ? parseTime(c.deadline) - Date.now() : null;
      return h('tr', {}, h('td', {}, c.agreement), h('td', {}, c.target), h('td', {}, c.stage.replace('_', ' ')),
        h('td', {}, c.deadline ? fmtTime(c.deadline) : ''),
        h('td', { class: c.breached || (left !== null && left < 0 && c.stage === 'in_progress') ? 'breached' : '' },
          c.breached ? 'breached' : c.stage === 'in_progress' && left !== null ? duration(left) + ' left' : ''));
    });
    return rows.length ? table(['Agreement', 'Target', 'Stage', 'Deadline', ''], rows, 'SLA clocks') : h('p', {}, 'No agreement covers this incident.');
  }

  // Per notification policy: the steps notified, the state, the next step and who was reached.
  function escalation(inc) {
    if (!inc.escalation || !inc.escalation.length) return null;
    const rows = inc.escalation.map((e) => h('tr', {}, h('td', {}, e.policy), h('td', {}, e.steps_notified + (e.repeats ? ` (+${e.repeats} repeats)` : '')),
      h('td', {}, badge(e.state, e.state === 'escalating' ? 'critical' : e.state === 'paused' ? 'held' : '')),
      h('td', {}, e.next_step_at ? `${fmtTime(e.next_step_at)} (in ${duration(parseTime(e.next_step_at) - Date.now())})` : ''),
      h('td', {}, e.reached.join(', '))));
    return h('section', { 'aria-label': 'Escalation' }, h('h2', {}, 'Escalation'),
      table(['Policy', 'Steps notified', 'State', 'Next step', 'Reached'], rows, 'Escalation'));
  }

  async function notifications(inc) {
    const box = h('div', {}, 'Loading…');
    try {
      const got = await api(`/api/v1/incidents/${inc.id}/notifications`);
      box.replaceChildren(got.notifications.length
        ? table(['Target', 'Event', 'Status', 'Attempts', 'At', 'Last error'], got.notifications.map((n) =>
          h('tr', { class: n.status }, h('td', {}, n.target), h('td', {}, n.event),
            h('td', {}, badge(n.status, n.status === 'dead' ? 'critical' : n.status === 'delivered' ? 'ok' : '')),
            h('td', {}, n.attempts), h('td', {}, fmtTime(n.at)), h('td', {}, n.last_error || ''))), 'Notifications for this incident')
        : h('p', {}, 'No notification was sent for this incident (since the daemon started).'));
    } catch (e) {
      box.textContent = e.message;
    }
    return box;
  }

  async function problem(inc) {
    if (!inc.problem && !inc.known_error) return null;
    const out = h('section', { 'aria-label': 'Problem' }, h('h2', {}, 'Problem and known error'));
    if (inc.known_error) out.append(h('p', {}, 'Known error: ', h('strong', {}, inc.known_error)), h('p', {}, 'Workaround: ', inc.workaround || '—'));
    if (inc.problem) {
      try {
        const p = await api(`/api/v1/problems/${inc.problem}`);
        out.append(h('p', {}, `Problem #${p.id}: `, h('strong', {}, p.title), ' ', badge(p.status)),
          p.root_cause ? h('p', {}, 'Root cause: ' + p.root_cause) : null,
          p.workaround ? h('p', {}, 'Workaround: ' + p.workaround) : null,
          h('p', {}, `${p.incidents.length} incident(s) recur under it.`));
      } catch (e) {
        out.append(h('p', {}, e.message));
      }
    }
    return out;
  }

  let generation = 0;
  async function load() {
    const mine = ++generation; // a newer load wins: an older one that ends later draws nothing
    let inc;
    try {
      inc = await api(`/api/v1/incidents/${id}`);
    } catch (e) {
      view.replaceChildren(h('p', { class: 'error', role: 'alert' }, e.message), h('a', { href: '#/board' }, 'Back to the board'));
      return;
    }
    // Everything that is awaited comes first: what the user types meanwhile is read just
    // before the page is replaced, and survives it.
    const sent = await notifications(inc);
    const prob = await problem(inc);
    if (mine !== generation) return;
    const focused = document.activeElement && view.contains(document.activeElement) ? openForm : null;
    // What the user typed in the action forms survives a reload (a live update, another action).
    const typed = new Map();
    for (const f of view.querySelectorAll('.actions form'))
      typed.set(f.getAttribute('aria-label'), [...f.querySelectorAll('input, textarea')].map((e) => (e.value !== e.defaultValue ? e.value : null)));
    const counts = inc.alert_counts || [];
    const alertRows = inc.alerts.map((a, i) => h('tr', { class: a.status },
      h('td', {}, ROLE_TEXT[a.role] || a.role || ''), h('td', {}, a.status), h('td', {}, h('span', { class: 'sev ' + a.severity }, a.severity || '')),
      h('td', {}, a.resource || ''), h('td', {}, a.check || ''), h('td', {}, a.summary || ''), h('td', {}, counts[i] ?? ''),
      h('td', {}, a.suppressed && a.suppressed !== 'none' ? badge(a.suppressed, 'held') : ''),
      h('td', {}, h('a', { href: `#/alerts?match=${encodeURIComponent(`resource="${a.resource}", check="${a.check}"`)}` }, a.fingerprint))));
    const timeline = h('ol', { class: 'timeline' }, inc.timeline.slice().reverse().map((t) =>
      h('li', {}, h('time', { datetime: t.at }, fmtTime(t.at)), ' ', h('strong', { class: 'actor' }, t.actor), ' ', t.action, t.detail ? ': ' + t.detail : '')));
    const tickets = inc.tickets.length ? h('ul', {}, inc.tickets.map((t) => h('li', {}, `${t.system} `,
      safeUrl(t.url) ? h('a', { href: safeUrl(t.url), rel: 'noreferrer noopener', target: '_blank' }, t.id) : t.id))) : h('p', {}, 'No linked ticket.');
    view.replaceChildren(
      h('p', {}, h('a', { href: '#/board' }, '← Incidents')),
      h('h1', {}, h('span', { class: `prio p${inc.priority}` }, 'P' + inc.priority), ` #${inc.id} `, inc.title),
      h('p', { class: 'facts' }, badge(inc.status), ' ', h('span', { class: 'sev ' + inc.severity }, inc.severity), ' ',
        inc.suppressed ? badge('suppressed', 'held') : null, ` opened ${age(inc.opened_at)} ago`,
        inc.assignee ? ` · owner ${inc.assignee}` : '', inc.service ? ` · service ${inc.service}` : '',
        inc.events !== undefined ? ` · ${inc.alert_count} alert(s), ${inc.events} events, ${inc.duplicates} duplicates` : ''),
      actions(inc),
      h('section', { 'aria-label': 'Why correlated' }, h('h2', {}, 'Why these alerts are one incident'), why(inc)),
      h('section', { 'aria-label': 'SLA' }, h('h2', {}, 'Service levels'), clocks(inc)),
      escalation(inc),
      h('section', { 'aria-label': 'Alerts' }, h('h2', {}, `Alerts (${inc.alert_count})`),
        table(['Role', 'Status', 'Severity', 'Resource', 'Check', 'Summary', 'Events', 'Suppressed', 'Fingerprint'], alertRows)),
      h('section', { 'aria-label': 'Timeline' }, h('h2', {}, 'Timeline'), timeline,
        inc.timeline_dropped ? h('p', {}, `${inc.timeline_dropped} older entries were not kept.`) : null),
      h('section', { 'aria-label': 'Tickets' }, h('h2', {}, 'Tickets'), tickets),
      h('section', { 'aria-label': 'Notifications' }, h('h2', {}, 'Notifications'), sent),
      prob);
    for (const f of view.querySelectorAll('.actions form')) {
      const values = typed.get(f.getAttribute('aria-label'));
      if (values) f.querySelectorAll('input, textarea').forEach((e, i) => {
        if (values[i] !== null && values[i] !== undefined) e.value = values[i];
      });
    }
    view.dataset.loaded = 'true';
    if (focused) {
      const f = view.querySelector(`form[aria-label="${focused}"] input, form[aria-label="${focused}"] textarea`);
      if (f) f.focus();
    }
  }

  const off = stream.on('incident', (ev) => {
    if (ev.incident.id !== id) return;
    clearTimeout(timer);
    timer = setTimeout(load, 200);
  });
  const offResync = stream.on('resync', load);
  load();
  return {
    destroy() {
      off();
      offResync();
      clearTimeout(timer);
    },
  };
}
