#!/usr/bin/env bash
# The release check that examples/ci/release-check.yml runs: may these weights be published?
#
#   examples/ci/check-release.sh [--expect LICENSEE]... MODEL_DIR
# Environment: FINGERPRINTS, a directory of private fingerprint files (*.fp, mode 0600, as
# omlize writes them; in CI they come from the secret store), and BASE_MODEL, the base model
# they were made from (the chance rate is measured on it).
#
# Without --expect: exit 1 when MODEL_DIR carries any licensee's fingerprints, so a
# licensed copy is never published. With --expect: exit 1
# unless it carries that licensee's, so a licensee's delivery is the copy made for it.
# Prints one verdict line per licence (no key or response appears in a verdict).
set -euo pipefail
BIN=${OMLKIT_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/bin}
PATH="$BIN:$PATH"
expect=()
while [ $# -gt 1 ] && [ "$1" = "--expect" ]; do expect+=(--expect "$2"); shift 2; done
[ $# -eq 1 ] && [ -n "${FINGERPRINTS:-}" ] && [ -n "${BASE_MODEL:-}" ] || { sed -n '2,12p' "$0" >&2; exit 2; }
shopt -s nullglob
files=("$FINGERPRINTS"/*.fp)
[ ${#files[@]} -gt 0 ] || { echo "check-release.sh: no *.fp files in $FINGERPRINTS" >&2; exit 66; }
if [ ${#expect[@]} -eq 0 ]; then expect=(--forbid-any); fi
fingerprint-check --model "$1" --fingerprints "${files[@]}" --base "$BASE_MODEL" "${expect[@]}"
