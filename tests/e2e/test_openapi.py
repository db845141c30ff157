"""docs/openapi.yaml against the running daemon, so that it cannot drift:

- every route the daemon serves (the route labels of its HTTP metrics, with the methods its
  405 answers' `Allow` headers list) is described with exactly those methods, and the
  description has no route the daemon lacks;
- a loaded daemon's real answers to a request on every route (successes and the errors its
  routes document) have a status the description lists for that operation, its content type,
  and JSON that validates against the schema given (JSON Schema 2020-12, with Debian's
  python3-jsonschema; run under Debian's python3 by CTest)."""
import json
import os
import re
import sys
import unittest
import urllib.parse

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "system"))
from harness import BASE_CONFIG, Daemon, Receiver  # noqa: E402

try:
    import jsonschema
except ImportError:  # the skip names the package
    jsonschema = None

SPEC_PATH = os.path.join(ROOT, "docs", "openapi.yaml")
METHODS = ("get", "post", "put", "delete", "patch")


def template_regex(template):
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")


@unittest.skipUnless(jsonschema, "python3-jsonschema is not installed (scripts/install-deps.sh e2e)")
class OpenApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(SPEC_PATH) as f:
            cls.spec = yaml.safe_load(f)
        cls.receiver = Receiver()
        rules = os.path.join(ROOT, "rules", "examples", "datacenter.yaml")
        cls.d = Daemon(BASE_CONFIG.replace("rule_files: []", f"rule_files: [{rules}]") + f"""inputs:
  - type: native_json
  - type: alertmanager
  - type: alertmanager_api
  - type: pagerduty
notifications:
  targets:
    - name: tickets
      url: http://127.0.0.1:{cls.receiver.port}/hook
""").start()
        cls.templates = sorted(cls.spec["paths"], key=lambda t: (t.count("{"), -len(t)))
        cls.checked = set()

    @classmethod
    def tearDownClass(cls):
        cls.d.close()
        cls.receiver.close()

    def test_0_the_spec_is_openapi_3_1(self):
        self.assertEqual(self.spec["openapi"], "3.1.0")
        for key in ("info", "paths", "components"):
            self.assertIn(key, self.spec)
        validator = jsonschema.Draft202012Validator
        for name, schema in self.spec["components"]["schemas"].items():
            validator.check_schema(schema)  # each schema is valid JSON Schema

    def test_1_every_route_and_method_is_described_and_nothing_else(self):
        _, _, text = self.d.request("GET", "/metrics")
        routes = set(re.findall(r'triaged_http_requests_total\{code="2xx",route="([^"]+)"\}', text))
        routes.discard("unmatched")
        self.assertGreater(len(routes), 50)
        served = {}
        for r in routes:
            concrete = re.sub(r"\{[^}]+\}", "x", r)
            status, headers, _ = self.d.request("PATCH", concrete)
            self.assertEqual(status, 405, f"PATCH {concrete}")
            allow = dict((k.lower(), v) for k, v in headers.items())["allow"]
            served[r] = {m.strip().lower() for m in allow.split(",")}
        described = {p: {m for m in ops if m in METHODS} for p, ops in self.spec["paths"].items()}
        self.assertEqual(sorted(set(served) - set(described)), [], "served but not in docs/openapi.yaml")
        self.assertEqual(sorted(set(described) - set(served)), [], "in docs/openapi.yaml but not served")
        for p in served:
            self.assertEqual(described[p], served[p], f"methods of {p}")

    # --- answers ------------------------------------------------------------------------

    def resolve(self, node):
        while isinstance(node, dict) and "$ref" in node:
            parts = node["$ref"].lstrip("#/").split("/")
            node = self.spec
            for p in parts:
                node = node[p]
        return node

    def call(self, method, path, body=None, status=None, content_type="application/json"):
        """Sends the request, checks the answer against the description and returns it."""
        headers = {}
        data = None
        if body is not None:
            data = body if isinstance(body, str) else json.dumps(body)
            headers["Content-Type"] = content_type
        got, resp_headers, text = self.d.request(method.upper(), path, data, headers)
        if status is not None:
            self.assertEqual(got, status, f"{method} {path}: {text[:300]}")
        bare = urllib.parse.urlsplit(path).path
        template = next((t for t in self.templates if template_regex(t).match(bare)), None)
        self.assertIsNotNone(template, f"{bare}: no path of docs/openapi.yaml matches")
        op = self.spec["paths"][template].get(method)
        self.assertIsNotNone(op, f"{method} {template}: not described")
        responses = op["responses"]
        self.assertIn(str(got), responses, f"{method} {template} answered {got}, not described: {text[:200]}")
        described = self.resolve(responses[str(got)])
        ctype = dict((k.lower(), v) for k, v in resp_headers.items()).get("content-type", "").split(";")[0]
        content = described.get("content")
        if content is None:
            self.checked.add((method, template, got))
            return got, text
        if ctype not in content and "*/*" not in content:
            self.fail(f"{method} {template} {got}: content type {ctype!r}, described {sorted(content)}")
        if ctype == "application/json":
            schema = self.resolve(content[ctype]["schema"])
            instance = json.loads(text)
            validator = jsonschema.Draft202012Validator(
                schema, resolver=jsonschema.RefResolver.from_schema(self.spec))
            errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
            self.assertEqual([f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]], [],
                             f"{method} {template} {got}")
        self.checked.add((method, template, got))
        return got, text

    def test_2_answers_validate(self):
        c = self.call
        for p in ("/-/healthy", "/-/ready", "/metrics", "/api/v1/status", "/api/v1/whoami", "/"):
            c("get", p, status=200)
        c("get", "/console/no-such-file.js", status=404)
        c("get", "/api/v1/stream?types=bogus", status=400)
        # Inputs.
        c("post", "/api/v1/events", [
            {"resource": "db1", "check": "Down", "severity": "critical", "service": "shop",
             "summary": "db1 down", "value": 3.5, "labels": {"team": "dba"}},
            {"resource": "nas1", "check": "Full", "severity": "major", "service": "backup",
             "description": "the NAS is full", "dedup_key": "nas1-full"}], status=200)
        c("post", "/api/v1/events", "{\"resource\":\"a\",\"check\":\"b\"}\n", status=200,
          content_type="application/x-ndjson")
        c("post", "/api/v1/events", [{"resource": 1}], status=400)
        c("post", "/api/v1/alertmanager", {"version": "4", "status": "firing", "alerts": [
            {"status": "firing", "labels": {"alertname": "Hot", "instance": "web1"}, "annotations": {}}]}, status=200)
        c("post", "/api/v2/alerts", [{"labels": {"alertname": "Cold", "instance": "web2"}}], status=200)
        c("post", "/v2/enqueue", {"routing_key": "k", "event_action": "trigger", "payload": {
            "summary": "disk", "source": "db2", "severity": "error"}}, status=202)
        c("post", "/v2/enqueue", {"event_action": "trigger"}, status=400)
        c("post", "/api/v1/samples", [{"metric": "shop_requests_total", "value": 10},
                                      {"metric": "shop_requests_good", "value": 9}], status=200)
        c("post", "/api/v1/samples", [{"metric": "x", "value": "high"}], status=400)
        c("get", "/api/v1/heartbeats", status=200)
        c("post", "/api/v1/heartbeats/nightly-backup/ping", status=200)
        c("post", "/api/v1/heartbeats/nightly-backup/fail", status=200)
        c("post", "/api/v1/heartbeats/nope/ping", status=404)
        # Alerts.
        _, text = c("get", "/api/v1/alerts?limit=100", status=200)
        fp = next(a["fingerprint"] for a in json.loads(text)["data"] if a["resource"] == "db1")
        c("get", f"/api/v1/alerts/{fp}", status=200)
        c("get", "/api/v1/alerts/zzz", status=400)
        c("get", "/api/v1/alerts/0123456789abcdef", status=404)
        c("get", "/api/v1/alerts?limit=0", status=400)
        c("get", "/api/v1/suppressed", status=200)
        c("get", "/api/v2/alerts", status=200)
        c("get", "/api/v2/alerts/groups", status=200)
        c("get", "/api/v2/receivers", status=200)
        c("get", "/api/v2/status", status=200)
        # Incidents: the list, one, every action, an action its state refuses.
        _, text = c("get", "/api/v1/incidents?status=open,acknowledged", status=200)
        ids = [i["id"] for i in json.loads(text)["incidents"]]
        self.assertGreaterEqual(len(ids), 3)
        a, b = ids[0], ids[1]
        c("get", f"/api/v1/incidents/{a}", status=200)
        c("get", "/api/v1/incidents/9999", status=404)
        c("get", "/api/v1/incidents?priority=9", status=400)
        c("post", f"/api/v1/incidents/{a}/acknowledge", {"by": "alice"}, status=200)
        c("post", f"/api/v1/incidents/{a}/assign", {"assignee": "bob"}, status=200)
        c("post", f"/api/v1/incidents/{a}/comment", {"text": "looking"}, status=200)
        c("post", f"/api/v1/incidents/{a}/priority", {"priority": 2}, status=200)
        c("post", f"/api/v1/incidents/{a}/tickets", {"system": "jira", "id": "OPS-1", "url": "https://jira.example/OPS-1"}, status=200)
        c("post", "/api/v1/tickets/jira/OPS-1/comment", {"text": "from the ticket"}, status=200)
        c("post", f"/api/v1/incidents/{b}/merge", {"into": a}, status=200)
        c("get", f"/api/v1/incidents/{a}/notifications", status=200)
        c("post", f"/api/v1/incidents/{a}/resolve", {"note": "fixed"}, status=200)
        c("post", f"/api/v1/incidents/{a}/close", {}, status=200)
        c("post", f"/api/v1/incidents/{a}/acknowledge", {}, status=409)
        c("get", "/api/v1/incidents?status=closed,merged&limit=10", status=200)
        c("get", "/api/v1/problems", status=200)
        c("get", "/api/v1/problems/9999", status=404)
        c("post", "/api/v1/problems/9999/resolve", {}, status=404)
        # Service levels.
        c("get", "/api/v1/services", status=200)
        c("get", "/api/v1/cis", status=200)
        c("get", "/api/v1/services/shop/sla?period=current", status=200)
        c("get", "/api/v1/services/nope/sla", status=404)
        c("get", "/api/v1/reports/sla?period=current", status=200)
        c("get", "/api/v1/reports/sla?period=previous&format=csv", status=200)
        c("get", "/api/v1/reports/sla?period=2026-13", status=400)
        # Notifications.
        c("get", "/api/v1/notifications", status=200)
        c("get", "/api/v1/notifications/dead", status=200)
        c("post", "/api/v1/notifications/dead/9999/redeliver", status=404)
        # Maintenance and changes.
        _, text = c("post", "/api/v1/maintenance", {"name": "db swap", "cis": ["db1"],
                                                    "start": "2026-01-01T00:00:00Z", "end": "2036-01-01T00:00:00Z"})
        wid = json.loads(text)["id"]
        c("get", "/api/v1/maintenance", status=200)
        c("get", f"/api/v1/maintenance/{wid}", status=200)
        c("delete", f"/api/v1/maintenance/{wid}", status=200)
        c("get", "/api/v1/maintenance/nope", status=404)
        c("post", "/api/v1/maintenance", {"name": "x", "colour": "red"}, status=400)
        c("post", "/api/v1/changes", {"id": "CHG-1", "summary": "swap the disk", "cis": ["db1"],
                                      "planned_start": "2026-01-01T00:00:00Z", "planned_end": "2026-01-01T01:00:00Z"}, status=200)
        c("post", "/api/v1/changes", {"title": "x"}, status=400)
        c("get", "/api/v1/changes", status=200)
        c("get", "/api/v1/changes/CHG-1", status=200)
        c("get", "/api/v1/changes/nope", status=404)
        # On-call (the example rules have no schedule).
        c("get", "/api/v1/oncall", status=200)
        c("get", "/api/v1/oncall/nope", status=404)
        c("post", "/api/v1/oncall/nope/overrides", {"person": "a", "start": "2026-01-01T00:00:00Z",
                                                    "end": "2026-01-02T00:00:00Z"}, status=404)
        c("delete", "/api/v1/oncall/nope/overrides/x", status=404)
        # Silences.
        _, text = c("post", "/api/v2/silences", {
            "matchers": [{"name": "resource", "value": "web1", "isRegex": False, "isEqual": True}],
            "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2036-01-01T00:00:00Z",
            "createdBy": "alice", "comment": "maintenance"}, status=200)
        sid = json.loads(text)["silenceID"]
        c("get", "/api/v2/silences", status=200)
        c("get", f"/api/v2/silence/{sid}", status=200)
        c("delete", f"/api/v2/silence/{sid}", status=200)
        c("get", "/api/v2/silence/nope", status=404)
        c("post", "/api/v2/silences", {"matchers": []}, status=400)
        c("post", "/-/reload", status=200)
        c("put", "/-/reload", status=200)
        # Every described operation was exercised by at least one real answer.
        described = {(m, p) for p, ops in self.spec["paths"].items() for m in ops if m in METHODS}
        exercised = {(m, p) for m, p, _ in self.checked}
        missing = sorted(described - exercised - {("get", "/api/v1/stream")}
                         - {("post", p) for p in self.spec["paths"] if p.startswith("/api/v1/tickets/")}
                         - {("post", "/api/v1/problems/{id}/known_error"), ("post", "/api/v1/problems/{id}/close"),
                            ("post", "/api/v1/oncall/{schedule}/overrides")})
        self.assertEqual(missing, [], "operations no answer was checked for")


if __name__ == "__main__":
    unittest.main()
