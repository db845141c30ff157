"""The configuration reference (docs/configuration.md) against the loader of the real binary:
every key it documents for the daemon's sections, every input type and every notification
target is one `--check-config` knows. A key is honoured or refused with a reason, never
"unknown" (and never silently accepted: the loader reports every key it does not read), so
the reference and the code cannot drift apart."""
import os
import re
import unittest

from harness import SOURCE, Daemon, run

DOC = os.path.join(SOURCE, "docs", "configuration.md")

# Sections whose tables list their keys in the first column (dotted: nested maps).
TABLE_SECTIONS = ("server", "stream", "console", "state", "logging", "shutdown", "pipeline",
                  "correlation")
# A value for a key by its name: the loader may refuse the value (a wrong type or range is an
# error naming the key), which proves it read it; only "unknown key" fails the test.
VALUE = "x"


def doc_text():
    with open(DOC) as f:
        return f.read()


def section(text, title):
    """The text of `## title` up to the next `## ` heading."""
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert m, f"docs/configuration.md has no section {title}"
    return m.group(1)


def table_keys(body):
    """First-column keys of the tables of a section body (`a`, `b.c`; "`x`, `y`" rows too)."""
    keys = []
    for line in body.splitlines():
        m = re.match(r"^\| ((?:`[a-z_.]+`(?:, | / )?)+) \|", line)
        if m:
            keys += re.findall(r"`([a-z_.]+)`", m.group(1))
    return keys


def nested(keys):
    """{'a': x, 'b': {'c': x}} as YAML flow text from dotted keys."""
    tree = {}
    for k in keys:
        node = tree
        parts = k.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node.setdefault(parts[-1], VALUE)

    def dump(n):
        if not isinstance(n, dict):
            return n
        return "{" + ", ".join(f"{k}: {dump(v)}" for k, v in n.items()) + "}"
    return dump(tree)


def yaml_block_keys(body, start, indent):
    """Keys at exactly `indent` spaces in the YAML code block whose first line contains
    `start`."""
    keys, inside = [], False
    for line in body.splitlines():
        if start in line:
            inside = True
            continue
        if inside and line.startswith("```"):
            break
        if inside:
            m = re.match(rf"^ {{{indent}}}([a-z_]+):", line)
            if m:
                keys.append(m.group(1))
    return keys


class ConfigReference(unittest.TestCase):
    def check(self, config):
        """Runs --check-config on `config`; returns the keys reported unknown."""
        d = Daemon(config.replace("{", "{{").replace("}", "}}").replace("{{state}}", "{state}"))
        try:
            r = run(["--check-config", "--config", d.config_path])
            return re.findall(r"(\S+): unknown key", r.stderr), r.stderr
        finally:
            d.close()

    def test_every_documented_key_of_the_daemons_sections_is_read(self):
        text = doc_text()
        config, count = "", 0
        for title in TABLE_SECTIONS:
            keys = table_keys(section(text, title))
            self.assertTrue(keys, f"no keys found for {title}")
            count += len(keys)
            config += f"{title}: {nested(keys)}\n"
        auth = section(text, "auth")
        for k in ("ingest", "read", "admin", "users", "bearer_token", "bearer_token_file",
                  "bearer_tokens_files", "client_names"):
            self.assertIn(f"`{k}`", auth)
        config += ("auth: {ingest: {bearer_token: a, client_names: [c1]}, read: {bearer_tokens_files: []},"
                   " admin: {bearer_token_file: f}, users: [{name: u, role: viewer, bearer_token: b,"
                   " client_names: [c2]}]}\n")
        unknown, err = self.check(config)
        self.assertEqual(unknown, [], err)
        self.assertGreater(count, 50)

    def test_every_documented_key_of_every_input_is_read(self):
        body = section(doc_text(), "inputs")
        common_part, _, types_part = body.partition("Input types:")
        self.assertTrue(types_part, "the input types table moved")
        common = [k.split(".")[0] for k in table_keys(common_part)]
        common = [k for k in dict.fromkeys(common) if k != "bearer_token"]  # HTTP inputs only
        types = {}
        for line in types_part.splitlines():
            m = re.match(r"^\| `([a-z_]+)` \| (.*?) \| .* \|$", line)
            if m:
                own = re.sub(r"\([^)]*\)", "", m.group(2))
                types[m.group(1)] = re.findall(r"`([a-z_]+)`", own)
        self.assertEqual(sorted(types), ["alertmanager", "alertmanager_api", "kafka", "native_json",
                                         "ndjson_tcp", "pagerduty", "syslog"])
        for t, own in types.items():
            keys = {k: VALUE for k in common + own}
            keys["fingerprint"] = "{fields: [resource], labels: [a], ignore_labels: [b]}"
            entry = ", ".join(f"{k}: {v}" for k, v in keys.items())
            unknown, err = self.check(f"inputs:\n  - {{type: {t}, {entry}}}\n")
            self.assertEqual(unknown, [], f"{t}: {err}")

    def test_every_documented_key_of_every_target_and_policy_is_read(self):
        body = section(doc_text(), "notifications")
        keys = yaml_block_keys(body, "notifications:", 6)
        self.assertIn("callback_hmac_secret_file", keys)
        # The keys the type bullets document in prose.
        prose = ["routing_key", "routing_key_file", "username", "password", "password_file",
                 "project", "issue_type", "resolve_transition", "fields", "fields_file",
                 "template", "template_file", "mail_from", "mail_to", "starttls", "console_url",
                 "callback_token", "callback_hmac_secret", "hmac_secret", "bearer_token"]
        for k in prose:
            self.assertRegex(body, rf"\b{k}\b", f"{k} is not documented")
        target = ", ".join(f"{k}: {VALUE}" for k in dict.fromkeys(keys + prose) if k != "type")
        ticket = yaml_block_keys(body, "ticket:", 4)
        session = yaml_block_keys(body, "session:", 6)
        self.assertIn("id_pointer", ticket)
        self.assertEqual(sorted(session), ["header", "method", "path", "token_pointer"])
        ticket_map = ", ".join(f"{k}: {VALUE}" for k in ticket if k not in ("session",))
        policy = yaml_block_keys(body, "policies:", 6)
        self.assertIn("repeat_interval", policy)
        policy_map = ", ".join(f"{k}: {VALUE}" for k in policy if k != "steps")
        config = f"""notifications:
  targets:
    - {{name: t, type: ticket, {target}, ticket: {{{ticket_map}, session: {{{", ".join(f"{k}: {VALUE}" for k in session)}}}}}}}
  policies:
    - {{name: p, {policy_map}, steps: [{{after: 1m, targets: [t], out_of_hours: [t]}}]}}
"""
        unknown, err = self.check(config)
        self.assertEqual(unknown, [], err)

    def test_every_documented_key_is_used_by_a_test(self):
        """A key that no test sets is a key nobody has seen work: every key of the reference
        (tables, YAML examples, the input types' own keys) must appear, set, in some test
        other than this one (unit tests build config text or structs; system tests write
        files). test_documented_keys.py and the unit tests *_keys_test.cpp show the effect of
        those no other test needed."""
        text = doc_text()
        keys = set()
        for line in text.splitlines():
            m = re.match(r"^\| ((?:`[a-z_.]+`(?:, | / )?)+) \|", line)
            if m:
                keys.update(k.split(".")[-1] for k in re.findall(r"`([a-z_.]+)`", m.group(1)))
            m = re.match(r"^\| `[a-z_]+` \| (.*?) \| .* \|$", line)
            if m and "Input types" in text[:text.find(line)]:
                keys.update(re.findall(r"`([a-z_]+)`", re.sub(r"\([^)]*\)", "", m.group(1))))
        inside = False
        for line in text.splitlines():
            if line.lstrip().startswith("```"):
                inside = not inside
                continue
            m = re.match(r"^\s*(?:- )?\{?([a-z_]+):", line) if inside else None
            if m:
                keys.add(m.group(1))
        types = re.findall(r"^\| `([a-z_]+)` \|", section(text, "inputs").partition("Input types:")[2], re.M)
        keys -= set(types)  # the input types' names are values of `type`
        self.assertGreater(len(keys), 150)
        corpus = []
        tests = os.path.join(SOURCE, "tests")
        for root, dirs, files in os.walk(tests):
            dirs[:] = [d for d in dirs if d != "corpus"]
            for f in files:
                if f != os.path.basename(__file__) and f.endswith((".py", ".cpp", ".h", ".yaml", ".sh")):
                    with open(os.path.join(root, f), errors="replace") as fh:
                        corpus.append(fh.read())
        corpus = "\n".join(corpus)
        unused = sorted(k for k in keys
                        if not re.search(rf"\b{k}\b\"?\s*[:=]|[\"']{k}[\"']|\.{k}\b", corpus))
        self.assertEqual(unused, [], "documented keys that no test sets")


if __name__ == "__main__":
    unittest.main()
