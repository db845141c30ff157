"""Property test: `triaged replay --report` against the independent model of docs/sla.md
(sla_model.py) on random histories: severities that change, overlapping alerts on two CIs of
one service, refreshes every 4 minutes, explicit and timeout resolutions, hold-downs, a Berlin
business calendar across both DST switches with a holiday, approved and unapproved
maintenance, agreements from an effective date, partial weights, the three unknown-time
policies, reports before and after the period ends. Every figure of every agreement's report
must agree. TRIAGED_SLA_HISTORIES sets how many (default 120; bench/sla-soak.sh runs
thousands), TRIAGED_SLA_FIRST_SEED the first seed; TRIAGED_SLA_SEED replays one."""
import json
import os
import random
import subprocess
import tempfile
import unittest
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction
from zoneinfo import ZoneInfo

import sla_model as M
from harness import BASE_CONFIG, BIN, Daemon

BERLIN = ZoneInfo("Europe/Berlin")
CIS = ["ci-a", "ci-b"]
SEVERITIES = ["critical", "major", "minor", "warning", "info"]


def rfc3339(t_ms):
    return datetime.fromtimestamp(t_ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def generate(seed):
    """One random history: (History, year, month, rule file text, config text, ndjson)."""
    rng = random.Random(seed)
    year, month = 2026, rng.choice([3, 3, 10, 10, 1, 6, 12])
    first = date(year, month, 2)
    days_in_month = ((date(year + (month == 12), month % 12 + 1, 1)) - date(year, month, 1)).days
    holiday = date(year, month, rng.randint(2, days_in_month))
    biz = M.Calendar(zone=BERLIN, days=(0, 1, 2, 3, 4), start=(8, 0), end=(18, 0), holidays=(holiday,))
    plain = M.Calendar()
    timeout_min = rng.choice([5, 10])

    # Events: a few alerts, each a few episodes of refreshes every 4 minutes, ended by an
    # explicit resolution or by silence (the input's resolve_timeout).
    start_ms = M.ms(datetime(first.year, first.month, first.day, tzinfo=timezone.utc)) + rng.randint(0, 20) * 3600_000
    span_ms = rng.choice([2, 5, 12, days_in_month - 3]) * 86400_000
    events = []
    used = set()
    for k in range(rng.randint(1, 6)):
        ci, check = rng.choice(CIS), f"check{rng.randint(0, 3)}"
        if (ci, check) in used:
            continue
        used.add((ci, check))
        t = start_ms + rng.randrange(0, span_ms // 60000) * 60000
        for _ in range(rng.randint(1, 5)):
            sev = rng.choice(SEVERITIES)
            length = rng.choice([1, 3, 10, 45, 120, 600]) * 60000
            end = t + length
            while t < end:
                events.append((t, ci, check, sev, "firing"))
                if rng.random() < 0.15:
                    sev = rng.choice(SEVERITIES)
                t += 240_000
            if rng.random() < 0.6:
                events.append((t, ci, check, sev, "resolved"))
            t += rng.choice([1, 7, 30, 200, 2000]) * 60000 + timeout_min * 60000
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    if not events:
        events.append((start_ms, "ci-a", "check0", "major", "firing"))
    # Events of different alerts may share an instant; one alert's never do (distinct times).
    last = events[-1][0]
    advance_ms = rng.choice([0, 3600_000, 86400_000, 40 * 86400_000])
    h = M.History(events=events, resolve_timeout_ms=timeout_min * 60000, now=last + advance_ms)

    # Maintenance windows, which may start and end while alerts on their CI fire (a window
    # holds what already fires, from its start to its end).
    for _ in range(rng.randint(0, 2)):
        ci = rng.choice(CIS)
        ws = start_ms + rng.randrange(0, span_ms // 60000) * 60000
        we = ws + rng.choice([30, 120, 600, 3000]) * 60000
        if any(w.start < we and ws < w.end for w in h.windows):
            continue
        h.windows.append(M.Window(ws, we, ci, rng.choice(["", f"CHG{rng.randint(1, 99)}"])))

    # Agreements.
    for i in range(rng.randint(1, 3)):
        cal_name = rng.choice(["biz", "24x7"])
        cal = biz if cal_name == "biz" else plain
        target = rng.choice(["99.9", "99.5", "95", "90", "99.95"])
        whole, _, frac = target.partition(".")
        slo_ppb = int(whole) * 10**7 + int((frac + "0000000")[:7])
        down = rng.choice(["major", "critical", "minor"])
        partial = rng.choice(["minor", "warning", "info"])
        if M.SEVERITY[partial] > M.SEVERITY[down]:
            partial = down
        ag = M.Agreement(name=f"ag{i}", calendar=cal, slo_ppb=slo_ppb,
                         down_from=M.SEVERITY[down], partial_from=M.SEVERITY[partial],
                         partial_ppb=rng.choice([300_000_000, 500_000_000]),
                         unknown=rng.choice(["exclude", "up", "down"]))
        ag.text = {"target": target, "down": down, "partial": partial, "calendar": cal_name,
                   "partial_w": "0.3" if ag.partial_ppb == 300_000_000 else "0.5"}
        if rng.random() < 0.4:
            eff = date(year, month, rng.randint(1, days_in_month))
            ag.effective_ms = M.ms(datetime(eff.year, eff.month, eff.day, tzinfo=cal.tz()))
            ag.text["effective"] = eff.isoformat()
        h.agreements.append(ag)

    rules = ["configuration_items:", "  - name: ci-a", "  - name: ci-b",
             "services:", "  - name: svc", "    cis: [ci-a, ci-b]",
             "calendars:",
             "  - name: hol", "    time_zone: Europe/Berlin",
             f"    holidays: [{{date: {holiday.isoformat()}}}]",
             "  - name: biz", "    time_zone: Europe/Berlin",
             "    hours: [{days: [mon, tue, wed, thu, fri], start: \"08:00\", end: \"18:00\"}]",
             "    include_holidays: [hol]",
             "agreements:"]
    for ag in h.agreements:
        t = ag.text
        rules += [f"  - name: {ag.name}", "    service: svc", f"    availability: \"{t['target']}\"",
                  "    period: month", f"    calendar: {t['calendar']}",
                  f"    down_from_severity: {t['down']}", f"    partial_from_severity: {t['partial']}",
                  f"    weights: {{partial: {t['partial_w']}}}", f"    unknown: {ag.unknown}"]
        if "effective" in t:
            rules.append(f"    effective: {t['effective']}")
    if h.windows:
        rules.append("maintenance_windows:")
        for i, w in enumerate(h.windows):
            rules += [f"  - name: mw{i}", f"    cis: [{w.ci}]", f"    start: {rfc3339(w.start)}",
                      f"    end: {rfc3339(w.end)}"]
            if w.change_id:
                rules.append(f"    change_id: {w.change_id}")
    hold = rng.choice(["0s", "2m", "30m"])
    ndjson = "".join(json.dumps({"resource": ci, "check": check, "severity": sev, "status": st,
                                 "timestamp": rfc3339(t)}) + "\n" for t, ci, check, sev, st in events)
    return h, year, month, "\n".join(rules) + "\n", hold, advance_ms, ndjson


def replay(tmp, year, month, rules, hold, advance_ms, ndjson, timeout_min):
    with open(os.path.join(tmp, "rules.yaml"), "w") as f:
        f.write(rules)
    with open(os.path.join(tmp, "events.ndjson"), "w") as f:
        f.write(ndjson)
    with open(os.path.join(tmp, "triaged.yaml"), "w") as f:
        f.write(f"state:\n  directory: {tmp}/state\nrule_files: [{tmp}/rules.yaml]\n"
                f"inputs:\n  - type: native_json\n    resolve_timeout: {timeout_min}m\n"
                f"correlation:\n  resolve_hold_down: {hold}\n")
    p = subprocess.run([BIN, "replay", "--config", f"{tmp}/triaged.yaml", "--report", f"{year}-{month:02d}",
                        "--advance", f"{advance_ms // 1000}s", f"{tmp}/events.ndjson"],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError(f"replay failed ({p.returncode}): {p.stderr}")
    return json.loads(p.stdout)


def close(a, b, tol):
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= tol


def compare(h, year, month, got):
    """Every figure of every agreement's report, model vs daemon; a list of differences."""
    known_from = h.events[0][0]
    diffs = []
    by_name = {r["agreement"]: r for r in got["reports"]}
    for ag in h.agreements:
        want = M.report(h, ag, year, month, known_from)
        r = by_name[ag.name]
        sec, rel = r["seconds"], r["reliability"]
        checks = [(k, want[k] / 1000 if want[k] is not None else None, sec[k], 1e-6)
                  for k in ("agreed", "agreed_whole_period", "excluded", "unknown", "measured",
                            "downtime_net", "downtime_gross")]
        checks += [("to_date", want["to_date"], r["availability"]["to_date"], 1e-12),
                   ("projected", want["projected"], r["availability"]["projected"], 1e-12),
                   ("budget_total", Fraction(want["budget_total"], 1000), r["error_budget"]["total_seconds"], 1e-6),
                   ("budget_remaining", want["budget_remaining"] / 1000, r["error_budget"]["remaining_seconds"], 1e-6),
                   ("failures", want["failures"], rel["failures"], 0),
                   ("mtbf", want["mtbf"] / 1000 if want["mtbf"] is not None else None, rel["mtbf_seconds"], 1e-6),
                   ("mtbsi", want["mtbsi"] / 1000 if want["mtbsi"] is not None else None, rel["mtbsi_seconds"], 1e-6)]
        if want["restore"]:
            for k in ("mean", "median", "p90"):
                checks.append((f"restore.{k}", want["restore"][k] / 1000, rel["restore"].get(f"{k}_seconds"), 1e-6))
        else:
            checks.append(("restore.count", 0, rel["restore"]["count"], 0))
        for name, w, g, tol in checks:
            if not close(w, g, tol):
                diffs.append(f"{ag.name}.{name}: model {float(w) if w is not None else None}, triaged {g}")
        if want["met"] != r["met"]:
            diffs.append(f"{ag.name}.met: model {want['met']}, triaged {r['met']}")
        if want["final"] != r["final"]:
            diffs.append(f"{ag.name}.final: model {want['final']}, triaged {r['final']}")
    return diffs


def check_seed(seed):
    h, year, month, rules, hold, advance_ms, ndjson = generate(seed)
    with tempfile.TemporaryDirectory() as tmp:
        got = replay(tmp, year, month, rules, hold, advance_ms, ndjson, h.resolve_timeout_ms // 60000)
    return compare(h, year, month, got), rules, ndjson


class SlaModel(unittest.TestCase):
    def test_model_checks_itself(self):
        """The model's own arithmetic on the issue's minimal reproduction: a resolved critical
        beside a firing warning is DEGRADED (weight 0), so only 60 s are down."""
        t0 = M.ms(datetime(2026, 3, 3, 9, 0, tzinfo=timezone.utc))
        ev = [(t0, "ci-a", "disk", "critical", "firing"), (t0 + 60_000, "ci-a", "disk", "critical", "resolved"),
              (t0 + 120_000, "ci-a", "cpu", "warning", "firing"), (t0 + 360_000, "ci-a", "cpu", "warning", "firing"),
              (t0 + 540_000, "ci-a", "cpu", "warning", "resolved")]
        h = M.History(events=ev, resolve_timeout_ms=300_000, now=t0 + 3600_000)
        ag = M.Agreement(name="a", calendar=M.Calendar(), slo_ppb=999_000_000)
        self.assertEqual(M.report(h, ag, 2026, 3, t0)["downtime_net"], 60_000)

    def test_random_histories_agree_with_the_model(self):
        first = int(os.environ.get("TRIAGED_SLA_FIRST_SEED", "0"))
        seeds = ([int(os.environ["TRIAGED_SLA_SEED"])] if os.environ.get("TRIAGED_SLA_SEED")
                 else range(first, first + int(os.environ.get("TRIAGED_SLA_HISTORIES", "120"))))
        failed = []
        for seed in seeds:
            diffs, rules, ndjson = check_seed(seed)
            if diffs:
                failed.append(f"seed {seed}:\n  " + "\n  ".join(diffs))
        self.assertEqual(failed, [], "\n".join(failed[:5]) + f"\n({len(failed)} histories disagree; "
                         "rerun one with TRIAGED_SLA_SEED=N)")


class LiveDaemon(unittest.TestCase):
    """The same model checks the live daemon: events posted over HTTP on the daemon's test clock
    (TRIAGED_TEST_CLOCK, moved by POST /-/test/clock to every instant where something is due:
    each event, each resolve timeout, each window's start and end) give the same report as
    the model, and so as the replay. TRIAGED_SLA_LIVE sets how many histories (default 3)."""

    def test_the_live_daemon_agrees_with_the_model(self):
        failed = []
        for seed in range(int(os.environ.get("TRIAGED_SLA_LIVE", "3"))):
            h, year, month, rules, hold, _, _ = generate(seed)
            diffs = self.live(h, year, month, rules, hold)
            if diffs:
                failed.append(f"seed {seed}:\n  " + "\n  ".join(diffs))
        self.assertEqual(failed, [], "\n".join(failed))

    def test_the_test_clock_refuses_bad_times_and_exists_only_when_asked_for(self):
        d = Daemon(BASE_CONFIG, env={"TRIAGED_TEST_CLOCK": "2026-03-02T00:00:00Z"}).start()
        try:
            for bad in ("", "yesterday", "2026-03-01T23:59:59Z", "2026-03-02T00:00:00"):
                status, _, body = d.request("POST", "/-/test/clock?to=" + bad)
                self.assertEqual(status, 400, bad)
                self.assertIn("to: an RFC 3339 time not before now", body)
            # Nothing moved: a valid time equal to the start is still accepted, and answered.
            status, _, body = d.request("POST", "/-/test/clock?to=2026-03-02T00:00:00Z")
            self.assertEqual((status, json.loads(body)["now"]), (200, "2026-03-02T00:00:00.000Z"))
            self.assertEqual(d.metrics()['triaged_http_requests_total{code="4xx",route="/-/test/clock"}'], 4)
            self.assertIn("running on a manual test clock", d.log())
        finally:
            d.close()
        plain = Daemon(BASE_CONFIG).start()
        try:
            self.assertEqual(plain.request("POST", "/-/test/clock?to=2099-01-01T00:00:00Z")[0], 404)
        finally:
            plain.close()
        bad = Daemon(BASE_CONFIG, env={"TRIAGED_TEST_CLOCK": "soon"})
        try:
            with self.assertRaises(AssertionError):
                bad.start(timeout=10)  # exits instead of starting
            self.assertIn("TRIAGED_TEST_CLOCK: not an RFC 3339 time: soon", bad.log())
        finally:
            bad.close()

    def live(self, h, year, month, rules, hold):
        t0 = h.events[0][0]
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "rules.yaml"), "w") as f:
                f.write(rules)
            config = BASE_CONFIG.replace("rule_files: []", f"rule_files: [{tmp}/rules.yaml]") + (
                f"inputs:\n  - type: native_json\n    resolve_timeout: {h.resolve_timeout_ms // 60000}m\n"
                f"correlation:\n  resolve_hold_down: {hold}\n")
            d = Daemon(config, env={"TRIAGED_TEST_CLOCK": rfc3339(t0)}).start()
            try:
                by_time = {}
                for t, ci, check, sev, status in h.events:
                    by_time.setdefault(t, []).append({"resource": ci, "check": check, "severity": sev,
                                                      "status": status})
                due = set(by_time) | {h.now}
                due |= {t + h.resolve_timeout_ms for t, *_, status in h.events if status == "firing"}
                due |= {w.start for w in h.windows} | {w.end for w in h.windows}
                for t in sorted(x for x in due if t0 <= x <= h.now):
                    status, _, body = d.request("POST", "/-/test/clock?to=" + rfc3339(t))
                    self.assertEqual(status, 200, body)
                    if t in by_time:
                        status, _, body = d.request("POST", "/api/v1/events", json.dumps(by_time[t]),
                                                    {"Content-Type": "application/json"})
                        self.assertEqual(status, 200, body)
                got = d.get_json(f"/api/v1/reports/sla?period={year}-{month:02d}")
            finally:
                d.close()
        return compare(h, year, month, got)


if __name__ == "__main__":
    unittest.main()
