"""An independent reference model of docs/sla.md, written from the document and not from the
C++ (rules/src, engine/src): deliberately naive, exact (integer milliseconds, Fractions), slow.

It answers one question: given a history of native events on the CIs of one service, the
rule file's calendars, agreements and maintenance windows, and the instant a report is made,
what must the service report say? test_sla_model.py replays random histories through
`triaged replay --report` and compares every figure with this model.

What the model takes from the documents, and nothing else:
- docs/api.md (native events): an alert is identified by (source, resource, check, labels); a
  firing event refreshes it and sets its severity; `status: resolved` resolves it; an alert not
  refreshed for the input's `resolve_timeout` resolves at last refresh + timeout.
- docs/configuration.md (maintenance_windows): an alert that fires inside a window covering its
  CI is suppressed until the window ends, then counts if it still fires.
- docs/sla.md: a service's status is the worst severity of the *firing* alerts of its live
  incidents (every firing, unsuppressed alert on a CI of the service is in a live incident);
  the agreement maps it to DOWN/PARTIAL/DEGRADED/OK; availability, budget and reliability
  formulas as written there. Time before the service was first known (in a replay: before the
  first event) is UNKNOWN.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction
from zoneinfo import ZoneInfo

SEVERITY = {"info": 1, "warning": 2, "minor": 3, "major": 4, "critical": 5}
PPB = 10**9
DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


# ---- Interval sets: lists of [a, b) with a < b, sorted, disjoint, not adjacent ----------------

def norm(v):
    out = []
    for a, b in sorted((a, b) for a, b in v if a < b):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def inter(x, y):
    out = []
    for a, b in x:
        for c, d in y:
            lo, hi = max(a, c), min(b, d)
            if lo < hi:
                out.append((lo, hi))
    return norm(out)


def minus(x, y):
    out = []
    for a, b in x:
        pieces = [(a, b)]
        for c, d in y:
            nxt = []
            for p, q in pieces:
                if d <= p or c >= q:
                    nxt.append((p, q))
                    continue
                if p < c:
                    nxt.append((p, c))
                if d < q:
                    nxt.append((d, q))
            pieces = nxt
        out.extend(pieces)
    return norm(out)


def total(x):
    return sum(b - a for a, b in x)


# ---- Time ---------------------------------------------------------------------------------

def ms(d: datetime) -> int:
    return int(d.timestamp() * 1000)


def local_ms(zone, day: date, hour: int, minute: int) -> int:
    """A local wall time on a civil date; the test's hours never fall in a DST gap."""
    return ms(datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone))


@dataclass
class Calendar:
    """None zone: the built-in 24x7 (UTC, every hour). Otherwise weekday hours and holidays."""
    zone: ZoneInfo = None
    days: tuple = ()           # weekday numbers, 0 = Monday
    start: tuple = (8, 0)
    end: tuple = (18, 0)
    holidays: tuple = ()       # datetime.date

    def tz(self):
        return self.zone or timezone.utc

    def agreed(self, a: int, b: int):
        if self.zone is None:
            return norm([(a, b)])
        first = datetime.fromtimestamp(a / 1000, self.zone).date() - timedelta(days=1)
        last = datetime.fromtimestamp(b / 1000, self.zone).date() + timedelta(days=1)
        out, d = [], first
        while d <= last:
            if d.weekday() in self.days and d not in self.holidays:
                out.append((local_ms(self.zone, d, *self.start), local_ms(self.zone, d, *self.end)))
            d += timedelta(days=1)
        return inter(norm(out), [(a, b)])

    def month(self, year: int, month: int):
        tz = self.tz()
        start = datetime(year, month, 1, tzinfo=tz)
        end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=tz)
        return ms(start), ms(end)


@dataclass
class Agreement:
    name: str
    calendar: Calendar
    slo_ppb: int
    effective_ms: int = None
    down_from: int = 4         # major
    partial_from: int = 3      # minor
    partial_ppb: int = 300_000_000
    degraded_ppb: int = 0
    unknown: str = "exclude"   # exclude | up | down

    def weight(self, status: int) -> int:
        if status < 0:
            return 0
        if status >= self.down_from:
            return PPB
        if status >= self.partial_from:
            return self.partial_ppb
        return self.degraded_ppb

    def is_down(self, status: int) -> bool:
        return status >= self.down_from


@dataclass
class Window:
    start: int
    end: int
    ci: str
    change_id: str = ""


@dataclass
class History:
    events: list               # (t_ms, ci, check, severity name, "firing" | "resolved"), time order
    resolve_timeout_ms: int
    windows: list = field(default_factory=list)
    agreements: list = field(default_factory=list)
    now: int = 0               # the replay's final clock (last event + advance)


# ---- Alerts and the service's status --------------------------------------------------------

def alert_segments(h: History):
    """Per alert: (ci, [(a, b, severity)]) while it fires, from the events and timeouts."""
    alerts = {}
    for t, ci, check, sev, status in h.events:
        alerts.setdefault((ci, check), []).append((t, SEVERITY[sev], status))
    out = []
    for (ci, _check), evs in alerts.items():
        segs, firing, since, sev, ends = [], False, 0, 0, 0
        for t, s, status in evs:
            if firing and h.resolve_timeout_ms and ends <= t:  # timed out before this event
                segs.append((since, ends, sev))
                firing = False
            if status == "resolved":
                if firing:
                    segs.append((since, t, sev))
                    firing = False
                continue
            if firing and s != sev:  # a refresh that changes the severity
                segs.append((since, t, sev))
                since = t
            if not firing:
                firing, since = True, t
            sev, ends = s, t + h.resolve_timeout_ms
        if firing:
            stop = min(ends, h.now) if h.resolve_timeout_ms else h.now
            segs.append((since, stop, sev))
        out.append((ci, [(a, b, s) for a, b, s in segs if a < b]))
    return out


def counted(h: History, ci: str, segs):
    """The parts of an alert's firing that count: not while a window covering its CI holds it."""
    held = norm([(w.start, w.end) for w in h.windows if w.ci == ci])
    out = []
    for a, b, s in segs:
        for p, q in minus([(a, b)], held):
            out.append((p, q, s))
    return out


def status_timeline(h: History, known_from: int):
    """[(a, b, status)] from known_from to now: status -1 (OK) or the worst firing severity."""
    pieces = []
    for ci, segs in alert_segments(h):
        pieces.extend(counted(h, ci, segs))
    cuts = sorted({known_from, h.now} | {t for a, b, _ in pieces for t in (a, b) if known_from < t < h.now})
    out = []
    for a, b in zip(cuts, cuts[1:]):
        worst = max([s for p, q, s in pieces if p <= a and b <= q], default=-1)
        if out and out[-1][2] == worst:
            out[-1] = (out[-1][0], b, worst)
        else:
            out.append((a, b, worst))
    return out


# ---- The report ----------------------------------------------------------------------------

def distribution(values):
    v = sorted(values)
    n = len(v)
    if not n:
        return None
    mean = Fraction(sum(v), n)
    median = Fraction(v[n // 2]) if n % 2 else Fraction(v[n // 2 - 1] + v[n // 2], 2)
    rank = -(-9 * n // 10)  # nearest rank: ceil(0.9 n)
    return {"mean": mean, "median": median, "p90": Fraction(v[max(rank, 1) - 1])}


def report(h: History, ag: Agreement, year: int, month: int, known_from: int):
    """The figures of one agreement's report of a calendar month, in milliseconds (Fractions
    where weighted) and ratios (Fractions)."""
    ps, pe = ag.calendar.month(year, month)
    evaluated_to = min(h.now, pe)
    start = max(ps, ag.effective_ms) if ag.effective_ms is not None else ps
    m_all = ag.calendar.agreed(start, pe) if start < pe else []
    m_now = inter(m_all, [(-(2**62), evaluated_to)])
    x = norm([(w.start, w.end) for w in h.windows if w.change_id])
    known = [(max(known_from, ps), evaluated_to)]
    u_all = minus(m_now, known)
    u = minus(u_all, x)
    net = gross = Fraction(0)
    timeline = [(a, b, s) for a, b, s in status_timeline(h, known_from)]
    for a, b, s in timeline:
        w = ag.weight(s)
        if w == 0:
            continue
        seg = inter(m_now, [(a, b)])
        gross += Fraction(w, PPB) * total(seg)
        net += Fraction(w, PPB) * total(minus(seg, x))
    agreed, excluded = total(m_now), total(inter(m_now, x))
    measured = agreed - excluded
    if ag.unknown == "exclude":
        measured -= total(u)
    elif ag.unknown == "down":
        net += total(u)
        gross += total(u_all)
    all_minus_x = total(minus(m_all, x))
    budget_total = all_minus_x * (PPB - ag.slo_ppb) // PPB
    r = {
        "agreed": agreed, "agreed_whole_period": total(m_all), "excluded": excluded,
        "unknown": total(u), "measured": measured, "downtime_net": net, "downtime_gross": gross,
        "to_date": (measured - net) / measured if measured > 0 else None,
        "projected": (all_minus_x - net) / all_minus_x if all_minus_x > 0 else None,
        "budget_total": budget_total, "budget_remaining": budget_total - net,
        "met": (measured - net) * PPB >= ag.slo_ppb * measured if measured > 0 else True,
        "final": h.now >= pe,
    }
    # Reliability: maximal DOWN runs inside agreed time (to the report's instant).
    agreed_to_now = inter(m_all, [(ps, evaluated_to)])
    down = norm([(a, b) for a, b, s in timeline if ag.is_down(s)])
    failures = inter(down, agreed_to_now)
    r["failures"] = len(failures)
    d = distribution([b - a for a, b in failures])
    r["restore"] = d
    if failures:
        m, n = total(agreed_to_now), len(failures)
        r["mtbf"] = Fraction(m - sum(b - a for a, b in failures), n)
        r["mtbsi"] = Fraction(m, n)
    else:
        r["mtbf"] = r["mtbsi"] = None
    return r
