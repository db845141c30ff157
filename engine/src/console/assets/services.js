// Services and SLAs (the service tree with live state, agreements against target, budget
// left, the HTML report), heartbeats, problems and known errors, notification targets with
// dead letters; and the daemon's status with reload.
import { h, api, act, can, fmtTime, duration, table, badge, toast } from './util.js';
import * as stream from './stream.js';

function pct(x) {
  return typeof x === 'number' ? (x * 100).toFixed(3) + ' %' : '—';
}

async function downloadReport() {
  // The report needs the token, so it is fetched and handed over as a file, never a URL
  // carrying the token.
  try {
    const res = await api('/api/v1/reports/sla?format=html', { raw: true });
    const url = URL.createObjectURL(await res.blob());
    const a = h('a', { href: url, download: 'sla-report.html' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) {
    toast(e.message, 'error');
  }
}

export function services(root) {
  const svc = h('div', {});
  const hb = h('div', {});
  const probs = h('div', {});
  const targets = h('div', {});
  const oncall = h('div', {});
  root.append(h('h1', {}, 'Services and service levels'),
    h('p', {}, h('button', { type: 'button', onclick: downloadReport }, 'Download the SLA report (HTML)')),
    svc, h('h2', {}, 'On call'), oncall, h('h2', {}, 'Heartbeats'), hb, h('h2', {}, 'Problems and known errors'), probs,
    h('h2', {}, 'Notification targets'), targets);

  async function load() {
    try {
      const [s, b, p, t, d, o] = await Promise.all([api('/api/v1/services'), api('/api/v1/heartbeats'), api('/api/v1/problems'),
        api('/api/v1/notifications'), api('/api/v1/notifications/dead'), api('/api/v1/oncall')]);
      oncall.replaceChildren(o.schedules.length ? table(['Schedule', 'On call', 'From', 'Until', 'Next'], o.schedules.map((x) =>
        h('tr', {}, h('td', {}, x.name), h('td', {}, x.on_call ? h('strong', {}, x.on_call.person) : 'no one'),
          h('td', {}, x.on_call ? x.on_call.source : ''), h('td', {}, x.until ? fmtTime(x.until) : ''),
          h('td', {}, x.next ? x.next.person : '')))) : h('p', {}, 'No on-call schedule.'));
      const byName = new Map(s.services.map((x) => [x.name, x]));
      const children = new Set(s.services.flatMap((x) => x.children));
      const rows = [];
      const walk = (x, depth) => {
        rows.push(h('tr', { class: 'svc ' + x.status },
          h('td', { class: 'depth' + Math.min(depth, 5) }, x.name), h('td', {}, badge(x.status, x.status)),
          h('td', {}, fmtTime(x.since)), h('td', {}, x.incidents.map((id) => h('a', { href: `#/incident/${id}` }, `#${id} `))),
          h('td', {}, x.agreements.map((a) => h('div', { class: 'agreement' + (a.met === false ? ' missed' : '') },
            `${a.name} (${a.type}, ${a.period}): ${pct(a.availability)}`, a.target ? ` of ${a.target}` : '',
            `, budget left ${duration((a.budget_remaining_seconds || 0) * 1000)}`,
            typeof a.burn_rate === 'number' ? h('span', { class: a.burn_rate > 1 ? 'breached' : '' }, `, burn rate ×${a.burn_rate.toFixed(2)}`) : null)))));
        for (const c of x.children) if (byName.has(c)) walk(byName.get(c), depth + 1);
      };
      for (const x of s.services) if (!children.has(x.name)) walk(x, 0);
      svc.replaceChildren(table(['Service', 'State', 'Since', 'Incidents', 'Agreements (current period)'], rows, `${s.services.length} service(s)`));
      hb.replaceChildren(b.heartbeats.length ? table(['Heartbeat', 'State', 'Last ping', 'Next due'], b.heartbeats.map((x) =>
        h('tr', {}, h('td', {}, x.name), h('td', {}, badge(x.state, x.state)), h('td', {}, fmtTime(x.last_ping)), h('td', {}, fmtTime(x.next_due))))) : h('p', {}, 'No heartbeat.'));
      probs.replaceChildren(p.problems.length ? table(['Problem', 'Status', 'Root cause', 'Workaround', 'Incidents'], p.problems.map((x) =>
        h('tr', {}, h('td', {}, `#${x.id} ${x.title}`), h('td', {}, badge(x.status)), h('td', {}, x.root_cause), h('td', {}, x.workaround), h('td', {}, x.incidents.length)))) : h('p', {}, 'No problem.'));
      const redeliver = (id) => async () => {
        if (await act(() => api(`/api/v1/notifications/dead/${id}/redeliver`, { method: 'POST' }), 'Queued again')) load();
      };
      targets.replaceChildren(
        t.targets.length ? table(['Target', 'Pending', 'Dead letters', 'Oldest pending'], t.targets.map((x) =>
          h('tr', {}, h('td', {}, x.name), h('td', {}, x.pending), h('td', {}, x.dead), h('td', {}, x.pending ? duration(x.oldest_age_seconds * 1000) : '')))) : h('p', {}, 'No notification target.'),
        d.dead.length ? table(['Dead letter', 'Target', 'Subject', 'Attempts', 'Last error', ''], d.dead.map((x) =>
          h('tr', {}, h('td', {}, x.id), h('td', {}, x.target), h('td', {}, x.subject), h('td', {}, x.attempts), h('td', {}, x.last_error),
            h('td', {}, can('admin') ? h('button', { type: 'button', onclick: redeliver(x.id) }, 'Redeliver') : null))), 'Dead letters') : null);
      root.dataset.loaded = 'true';
    } catch (e) {
      svc.replaceChildren(h('p', { class: 'error', role: 'alert' }, e.message));
    }
  }
  let timer = 0;
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(load, 500);
  };
  const offs = ['sla', 'heartbeat', 'problem', 'resync'].map((t) => stream.on(t, soon));
  const every = setInterval(load, 30000);
  load();
  return {
    destroy() {
      offs.forEach((f) => f());
      clearInterval(every);
      clearTimeout(timer);
    },
  };
}

export function status(root) {
  const box = h('div', {});
  const result = h('p', { role: 'status', 'aria-live': 'polite' });
  root.append(h('h1', {}, 'Status'), box,
    can('admin') ? h('p', {}, h('button', {
      type: 'button',
      onclick: async () => {
        result.textContent = 'Reloading…';
        try {
          await api('/-/reload', { method: 'POST' });
          result.textContent = 'Configuration reloaded.';
          load();
        } catch (e) {
          result.textContent = 'Reload failed: ' + e.message;
        }
      },
    }, 'Reload configuration')) : null, result);
  async function load() {
    try {
      const s = await api('/api/v1/status');
      box.replaceChildren(h('dl', { class: 'facts' },
        h('dt', {}, 'Version'), h('dd', {}, `${s.version} (${s.revision})`),
        h('dt', {}, 'Started'), h('dd', {}, `${fmtTime(s.start_time)}, up ${duration(s.uptime_seconds * 1000)}`),
        h('dt', {}, 'Ready'), h('dd', {}, String(s.ready)),
        h('dt', {}, 'Configuration'), h('dd', {}, s.config.file),
        h('dt', {}, 'Config hash'), h('dd', { class: 'mono' }, s.config.hash),
        h('dt', {}, 'Loaded at'), h('dd', {}, fmtTime(s.config.loaded_at)),
        h('dt', {}, 'Rule files'), h('dd', {}, s.config.rule_files.join(', ') || '—')));
      root.dataset.loaded = 'true';
    } catch (e) {
      box.replaceChildren(h('p', { class: 'error', role: 'alert' }, e.message));
    }
  }
  load();
}
