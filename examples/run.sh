#!/usr/bin/env bash
# make examples: deploys the example functions and invokes each against a running stack
# (make dev), with the CLI. URL and key as the CLI takes them: --url/--key are not used here,
# so TASKFORGE_URL (default http://127.0.0.1:8080) and TASKFORGE_API_KEY (default ./data/admin.key).
set -euo pipefail
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
tf() { "$here/../bin/taskforge" "$@"; }
step() { printf '\n== %s\n' "$*"; }

step "deploy"
tf deploy "$here/webhook.mjs" --version-note "validates push payloads"
tf deploy "$here/report.mjs" --version-note "text report from rows"
tf deploy "$here/greeter.mjs" --env GREETING=Hej --env PUNCTUATION='!' --version-note "configured by env"
tf deploy "$here/slow-job.mjs" --timeout 20000 --retries 0 --version-note "progress logs"
tf ls functions

step "webhook: a valid push, then one that is refused (exit 4: the execution failed)"
tf invoke webhook --data "@$here/data/push.json"
code=0
tf invoke webhook --data '{"event":"push","commits":[]}' || code=$?
[ "$code" -eq 4 ] || { echo "expected exit 4 for an invalid payload, got $code" >&2; exit 1; }

step "report: text from JSON"
tf invoke report --data "@$here/data/sales.json"

step "greeter: configured by its env"
tf invoke greeter --data '{"name":"Ada"}'

step "slow-job: queued, then its progress followed to the end"
id=$(tf invoke slow-job --async --data '{"steps":4,"stepMs":300}')
tf logs "$id" -f
tf get "$id"

step "chain: webhook, then report, from the client side"
node "$here/chain.mjs" "$here/data/push.json"
