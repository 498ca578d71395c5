#!/usr/bin/env bats
# ledger-verify --report: the HTML audit page of a ledger, its agreement with
# ledger-verify --json and --balances, its escaping, and its atomic write.

load test_helper

setup() {
  setup_scratch
}

teardown() {
  teardown_scratch
}

# The realistic ledger of examples/report.sh (five days of fees, licences, a proof, a
# slash) and its tampered copy, with both reports.
make_reports() {
  "$REPO/examples/report.sh" "$SCRATCH/audit" > example.out 2>&1
  cd "$SCRATCH/audit"
}

# Base units with 6 decimals, grouped by thousands, as a person writes them:
# 40000000 -> 40.000000, 1234567890 -> 1,234.567890, -5 -> -0.000005.
decimal6() {
  local n=$1 sign=""
  [ "${n#-}" != "$n" ] && { sign="-"; n=${n#-}; }
  n=$(printf '%07d' "$n")
  local whole=${n:0:${#n}-6} frac=${n: -6}
  whole=$(printf '%s' "$whole" | sed -e :a -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/;ta')
  printf '%s%s.%s' "$sign" "$whole" "$frac"
}

# Chromium for the tests that open the page: installed by scripts/deps as root; tried
# here once more as root; otherwise the test skips.
need_chromium() {
  if ! command -v chromium > /dev/null && [ "$(id -u)" -eq 0 ] && command -v apt-get > /dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium > /dev/null 2>&1 || true
  fi
  command -v chromium > /dev/null || skip "chromium is not installed (scripts/deps installs it when run as root)"
}

chromium_run() {
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
    --user-data-dir="$SCRATCH/chromium-profile" --hide-scrollbars "$@" 2> "$SCRATCH/chromium.err"
}

@test "decimal6 (the test's own formatter) groups and pads" {
  [ "$(decimal6 40000000)" = "40.000000" ]
  [ "$(decimal6 1234567890)" = "1,234.567890" ]
  [ "$(decimal6 -5)" = "-0.000005" ]
  [ "$(decimal6 1000000000000)" = "1,000,000.000000" ]
}

@test "report of a valid ledger: verdict, counts and every balance agree with --json and --balances" {
  make_reports
  run ledger-verify -q --trust trust --json ledger.jsonl
  assert_success
  [ "$(jq -r .ok <<< "$output")" = true ]
  entries=$(jq -r .entries <<< "$output")
  grep -q '<div class="word">VALID</div>' report.html
  grep -q "<span id=\"entries\">$entries</span>" report.html
  ! grep -q 'id="first-failure"' report.html
  n=0
  while read -r account asset balance; do
    grep -qF "<td class=\"account\">$account</td><td class=\"amount\">$(decimal6 "$balance")</td>" report.html ||
      { echo "balance of $account in $asset ($balance) is not in the report"; return 1; }
    n=$((n + 1))
  done < <(ledger-verify -q --trust trust --balances ledger.jsonl | jq -r '"\(.account) \(.asset) \(.balance)"')
  [ "$n" -ge 10 ]
  # The balances table's total is the sum of its rows: 0 in double entry.
  grep -qF '<td>total (double entry: every asset sums to 0)</td><td class="amount">0.000000</td>' report.html
}

@test "report: fees by role total the fees paid, and the slash and licences are shown" {
  make_reports
  paid=$(jq -r 'select(.type=="inference.fee") | .body.postings[0].amount' ledger.jsonl | tr -d - | paste -sd+ | bc)
  grep -qF "fee entries, $(decimal6 "$paid") OPEN paid</h3>" report.html
  # The role table's total row is the same figure: credits equal debits in every fee.
  grep -qF "<tr class=\"total\"><td>total</td><td class=\"amount\">$(decimal6 "$paid")</td></tr>" report.html
  grep -qF '<td class="name">S-1</td><td class="name">L-ivan</td><td class="name">P-1</td><td class="account">acct:carol</td><td class="amount">1.500000 OPEN</td>' report.html
  # Collateral by asset: 3 deposited, 1.5 slashed, 1.5 still locked.
  grep -qF '<td>OPEN</td><td class="amount">3.000000</td><td class="amount">1.500000</td><td class="amount">1.500000</td>' report.html
  grep -qF '<svg class="flow"' report.html
  grep -qF '<svg class="tree"' report.html
  [ "$(grep -o '<svg class="chart"' report.html | wc -l)" -eq 2 ]
}

@test "report of a tampered ledger: exit 1, INVALID first, the failure that --json names" {
  make_reports
  run ledger-verify -q --trust trust --json tampered.jsonl
  assert_failure 1
  where=$(jq -r .where <<< "$output")
  error=$(jq -r .error <<< "$output")
  [[ "$where" == tampered.jsonl:* ]]
  run ledger-verify -q --trust trust --report again.html tampered.jsonl
  assert_failure 1
  assert_output "ledger-verify: $where: $error"
  cmp tampered.html again.html
  grep -qF "<b id=\"failure-where\">$where</b>" tampered.html
  # The verdict comes before every other section.
  [ "$(grep -o '<section id="verdict" class="verdict bad"><div class="word">INVALID</div>' tampered.html | wc -l)" -eq 1 ]
  verdict_at=$(grep -bo 'id="verdict"' tampered.html | cut -d: -f1)
  checked_at=$(grep -bo '<h2 id="what-was-checked">' tampered.html | cut -d: -f1)
  [ "$verdict_at" -lt "$checked_at" ]
  grep -qF "the balances after the $((${where#*:} - 1)) entries before the first failure" tampered.html
}

@test "report: --report leaves stdout as it was (the ok line; no balances unless asked)" {
  make_reports
  run ledger-verify --trust trust ledger.jsonl
  plain=$output
  run ledger-verify --trust trust --report r.html ledger.jsonl
  assert_success
  [ "$output" = "$plain" ]
  run ledger-verify -q --trust trust --json --report r.html ledger.jsonl
  assert_success
  [ "$(jq -r .type <<< "$output")" = verify ]
}

@test "report: hostile account names and model ids are escaped, never markup" {
  make_ledger
  cat > hostile.jsonl <<'JSON'
{"type":"transfer","body":{"transfer":"t-x","postings":[{"account":"acct:bob","asset":"OPEN","amount":"-7"},{"account":"<script>alert(1)</script>","asset":"OPEN","amount":"7"}]}}
{"type":"model.register","body":{"model":"\"><img src=x onerror=alert(2)>","owner":"acct:<b>mallory</b>","digest":"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}}
{"type":"inference.fee","body":{"call":"c-1","payer":"acct:bob","model":"<style>*{display:none}</style>","fee":{"asset":"OPEN","amount":"10"},"postings":[{"account":"acct:bob","asset":"OPEN","amount":"-10"},{"account":"acct:&amp;","asset":"OPEN","amount":"10","role":"</svg><script>x()</script>"}]}}
JSON
  ledger-append --ledger ledger.jsonl --key key.pem hostile.jsonl > /dev/null
  run ledger-verify -q --report r.html ledger.jsonl
  assert_success
  grep -qF '&lt;script&gt;alert(1)&lt;/script&gt;' r.html
  grep -qF '&quot;&gt;&lt;img src=x onerror=alert(2)&gt;' r.html
  grep -qF 'acct:&amp;amp;' r.html
  grep -qF '&lt;/svg&gt;&lt;script&gt;x()&lt;/script&gt;' r.html
  ! grep -qi '<script' r.html
  ! grep -qi '<img' r.html
  [ "$(grep -oi '<style' r.html | wc -l)" -eq 1 ]
  # Self-contained: nothing is loaded from anywhere.
  ! grep -qiE '<[a-z][^>]*[[:space:]](src|href|srcset|action|data)=|<link|@import|url\(' r.html
}

@test "report: a failed write exits 74, says why, and leaves no file" {
  make_ledger
  # A 1 KiB file size limit makes the write fail with EFBIG (SIGXFSZ ignored).
  run bash -c 'trap "" XFSZ; ulimit -f 1; exec ledger-verify -q --report r.html ledger.jsonl'
  assert_failure 74
  assert_output --regexp '^ledger-verify: r\.html: write failed: File too large$'
  [ -z "$(ls -A | grep '^r\.html')" ]
}

@test "report: a report in a missing directory exits 73 and names it" {
  make_ledger
  run ledger-verify -q --report no/such/dir/r.html ledger.jsonl
  assert_failure 73
  assert_output "ledger-verify: no/such/dir/r.html: cannot create: No such file or directory"
}

@test "report in headless Chromium: page text agrees with --json and --balances; screenshots" {
  need_chromium
  make_reports
  chromium_run --dump-dom "file://$PWD/report.html" > valid.dom
  chromium_run --dump-dom "file://$PWD/tampered.html" > tampered.dom
  grep -q '<div class="word">VALID</div>' valid.dom
  grep -q "<span id=\"entries\">$(ledger-verify -q --trust trust --json ledger.jsonl | jq -r .entries)</span>" valid.dom
  while read -r account balance; do
    grep -qF "<td class=\"account\">$account</td><td class=\"amount\">$(decimal6 "$balance")</td>" valid.dom ||
      { echo "balance of $account ($balance) is not in the rendered page"; return 1; }
  done < <(ledger-verify -q --trust trust --balances ledger.jsonl | jq -r '"\(.account) \(.balance)"')
  json=$(ledger-verify -q --trust trust --json tampered.jsonl || true)
  grep -q '<div class="word">INVALID</div>' tampered.dom
  grep -qF "<b id=\"failure-where\">$(jq -r .where <<< "$json")</b>: <span id=\"failure-message\">$(jq -r .error <<< "$json")</span>" tampered.dom
  chromium_run --window-size=1000,1400 --screenshot="$PWD/valid.png" "file://$PWD/report.html"
  chromium_run --window-size=1000,900 --screenshot="$PWD/tampered.png" "file://$PWD/tampered.html"
  [ "$(head -c 8 valid.png | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ]
  [ "$(stat -c %s valid.png)" -gt 20000 ]
  [ "$(stat -c %s tampered.png)" -gt 20000 ]
}
