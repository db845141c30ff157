"""Alertmanager's own OpenAPI (Swagger 2.0) description, as Debian ships it inside
golang-github-prometheus-alertmanager-dev (api/v2/restapi/embedded_spec.go), and validation of
an answer against the schema it gives for a path, method and status, with Debian's
python3-jsonschema (run under Debian's python3 when the test's interpreter lacks it).

Swagger 2.0 schema objects are JSON Schema draft 4 (with `definitions` and `$ref`), so the
validator takes them as they are. `date-time` strings are also checked here (RFC 3339), since
jsonschema checks formats only with optional packages."""
import json
import os
import re
import subprocess

SPEC_GO = "/usr/share/gocode/src/github.com/prometheus/alertmanager/api/v2/restapi/embedded_spec.go"
DEBIAN_PYTHON = "/usr/bin/python3"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def load_spec():
    """The spec as a dict, or None when the package is not installed."""
    if not os.path.exists(SPEC_GO):
        return None
    with open(SPEC_GO) as f:
        text = f.read()
    m = re.search(r"SwaggerJSON = json\.RawMessage\(\[\]byte\(`(.*?)`\)\)", text, re.S)
    return json.loads(m.group(1)) if m else None


def _validator_source():
    return """
import json, sys
import jsonschema
req = json.load(sys.stdin)
v = jsonschema.Draft4Validator(req["schema"])
errors = sorted(v.iter_errors(req["instance"]), key=lambda e: list(e.absolute_path))
print(json.dumps(["/".join(str(p) for p in e.absolute_path) + ": " + e.message for e in errors[:10]]))
"""


def have_jsonschema():
    try:
        import jsonschema  # noqa: F401
        return True
    except ImportError:
        return os.path.exists(DEBIAN_PYTHON) and subprocess.run(
            [DEBIAN_PYTHON, "-c", "import jsonschema"], capture_output=True).returncode == 0


def _date_times(schema, instance, definitions, path, out):
    """Walks instance along schema and reports date-time strings that are not RFC 3339."""
    if "$ref" in schema:
        schema = definitions[schema["$ref"].split("/")[-1]]
    for part in schema.get("allOf", []):
        _date_times(part, instance, definitions, path, out)
    if schema.get("format") == "date-time" and isinstance(instance, str) and not RFC3339.match(instance):
        out.append(f"{path}: {instance!r} is not an RFC 3339 date-time")
    if isinstance(instance, dict):
        for k, sub in schema.get("properties", {}).items():
            if k in instance:
                _date_times(sub, instance[k], definitions, f"{path}/{k}", out)
    if isinstance(instance, list) and "items" in schema:
        for i, item in enumerate(instance):
            _date_times(schema["items"], item, definitions, f"{path}/{i}", out)


def errors(spec, path, method, status, instance):
    """The ways `instance` breaks the spec's response schema (empty when it validates)."""
    response = spec["paths"][path][method]["responses"][str(status)]
    schema = dict(response["schema"])
    schema["definitions"] = spec["definitions"]
    req = json.dumps({"schema": schema, "instance": instance})
    try:
        import jsonschema  # noqa: F401
        cmd = None
    except ImportError:
        cmd = DEBIAN_PYTHON
    if cmd is None:
        import jsonschema
        v = jsonschema.Draft4Validator(schema)
        found = ["/".join(str(p) for p in e.absolute_path) + ": " + e.message for e in v.iter_errors(instance)]
    else:
        r = subprocess.run([cmd, "-c", _validator_source()], input=req, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("jsonschema validation failed to run: " + r.stderr)
        found = json.loads(r.stdout)
    _date_times(response["schema"], instance, spec["definitions"], "", found)
    return found
