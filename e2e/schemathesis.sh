#!/usr/bin/env bash
# Schemathesis over every operation of the JSON API, against a running server
# (a demo district): zero 5xx and zero schema violations, or the script fails.
#
# Usage:
#   BASE_URL=http://127.0.0.1:18080 RC_USER=admin RC_PASSWORD=... \
#     [RC_AUDITOR=ci.auditor RC_AUDITOR_PASSWORD=...] [ST_WORK=dir] e2e/schemathesis.sh
#
# The run changes and deletes demo data (it creates, edits and deletes through
# the API): point it at a throwaway demo. Settings: e2e/schemathesis.toml.
# The virtual environment (schemathesis pinned below, from PyPI) is kept in
# $ST_WORK/venv and reused; the reports go to $ST_WORK/report.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

SCHEMATHESIS_VERSION=4.32.5
base=${BASE_URL:-http://127.0.0.1:8080}
user=${RC_USER:-admin}
password=${RC_PASSWORD:?RC_PASSWORD is required}
work=${ST_WORK:-${TMPDIR:-/tmp}/redcell-schemathesis}
# Examples per operation and phase, and a hard bound on the whole run.
max_examples=${ST_MAX_EXAMPLES:-50}
max_seconds=${ST_MAX_SECONDS:-900}

mkdir -p "$work"
venv="$work/venv"
if [ ! -x "$venv/bin/schemathesis" ] || [ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

# A bearer token: POST /api/v1/auth/login {"username", "password"}.
login() {
  USERNAME="$1" PASSWORD="$2" "$venv/bin/python" - "$base" <<'PY'
import json, os, sys, urllib.request
body = json.dumps({"username": os.environ["USERNAME"], "password": os.environ["PASSWORD"]}).encode()
req = urllib.request.Request(sys.argv[1] + "/api/v1/auth/login", data=body, headers={"content-type": "application/json"})
with urllib.request.urlopen(req, timeout=30) as r:
    print(json.load(r)["token"])
PY
}
RC_TOKEN=$(login "$user" "$password")
RC_AUDIT_TOKEN=$RC_TOKEN
if [ -n "${RC_AUDITOR:-}" ]; then
  RC_AUDIT_TOKEN=$(login "$RC_AUDITOR" "${RC_AUDITOR_PASSWORD:?RC_AUDITOR_PASSWORD is required with RC_AUDITOR}")
fi
export RC_TOKEN RC_AUDIT_TOKEN RC_BASE_URL="$base"

rm -rf "$work/report"
status=0
timeout --signal=INT --kill-after=30 "$max_seconds" \
  "$venv/bin/schemathesis" --config-file "$here/schemathesis.toml" run "$base/api/v1/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "$max_examples" \
  --no-color \
  --report junit,ndjson --report-dir "$work/report" || status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 130 ]; then
  echo "schemathesis: the run took longer than ${max_seconds}s" >&2
fi
exit "$status"
