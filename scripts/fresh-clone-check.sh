#!/usr/bin/env bash
# Proves the README's two commands work in a fresh clone of the committed HEAD:
#   1. ./scripts/test.sh ends with "N passed, 0 failed";
#   2. ./scripts/devnet.sh starts a network whose nodes get ready, a lease request over
#      curl is accepted, and SIGTERM stops every node of it.
# Prints PASS/FAIL lines; exits non-zero when anything failed. Not part of CI.
#
# Env: SKIP_TESTS=1 skips step 1; BASE_PORT (default 7700) for the devnet;
#      SHARED_DIR (default: the `shared` folder beside this repository; the tests read
#      ../shared/vectors); KEEP=1 keeps the temp dir.
set -uo pipefail

src="$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
shared="${SHARED_DIR:-$src/../shared}"
base_port="${BASE_PORT:-7700}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/xe-fresh-clone.XXXXXX")"
clone="$tmp/xe-node"
failed=0
devnet_pid=""

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failed=1; }

devnet_procs() {
  # `cli.js start` processes of this devnet (their data dirs are under $tmp/devnet)
  local pid
  for pid in $(pgrep -f "cli.js start .*$tmp/devnet/" 2>/dev/null); do
    [ "$pid" != "$$" ] && echo "$pid"
  done
}

cleanup() {
  if [ -n "$devnet_pid" ] && kill -0 "$devnet_pid" 2>/dev/null; then
    kill -TERM "$devnet_pid" 2>/dev/null
    for _ in $(seq 1 30); do kill -0 "$devnet_pid" 2>/dev/null || break; sleep 1; done
    kill -KILL "$devnet_pid" 2>/dev/null
  fi
  for pid in $(devnet_procs); do kill -KILL "$pid" 2>/dev/null; done
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "==> cloning $(git -C "$src" rev-parse --short HEAD) into $clone"
if git clone -q "$src" "$clone"; then pass "git clone"; else fail "git clone"; exit 1; fi
if [ -d "$shared" ]; then
  ln -s "$(cd "$shared" && pwd)" "$tmp/shared"
  pass "shared/ linked beside the clone ($tmp/shared)"
else
  fail "no shared/ folder at $shared (set SHARED_DIR); tests that read ../shared/vectors will fail"
fi
cd "$clone" || exit 1

# 1. ./scripts/test.sh
if [ "${SKIP_TESTS:-0}" = 1 ]; then
  echo "SKIP ./scripts/test.sh (SKIP_TESTS=1)"
else
  echo "==> ./scripts/test.sh (output in $tmp/test.log)"
  ./scripts/test.sh >"$tmp/test.log" 2>&1
  rc=$?
  last="$(grep -v '^[[:space:]]*$' "$tmp/test.log" | tail -n 1)"
  if [ "$rc" -eq 0 ] && [[ "$last" =~ ^[0-9]+\ passed,\ 0\ failed$ ]] && [[ ! "$last" =~ ^0\  ]]; then
    pass "./scripts/test.sh: $last"
  else
    fail "./scripts/test.sh (exit $rc): last line: $last"
    tail -n 40 "$tmp/test.log"
  fi
fi

# 2. ./scripts/devnet.sh
echo "==> ./scripts/devnet.sh --dir $tmp/devnet --base-port $base_port (output in $tmp/devnet.log)"
./scripts/devnet.sh --dir "$tmp/devnet" --base-port "$base_port" >"$tmp/devnet.log" 2>&1 &
devnet_pid=$!

info="$tmp/devnet/devnet.json"
deadline=$((SECONDS + 900)) # the first run installs and builds
until [ -s "$info" ] || [ $SECONDS -gt $deadline ] || ! kill -0 "$devnet_pid" 2>/dev/null; do sleep 1; done
if [ -s "$info" ]; then pass "devnet.json written"; else fail "devnet.json not written"; tail -n 40 "$tmp/devnet.log"; exit 1; fi

mapfile -t apis < <(node -e 'for (const n of require(process.argv[1]).nodes) console.log(n.api)' "$info")
token="$(node -p 'require(process.argv[1]).operator_token' "$info")"
for api in "${apis[@]}"; do
  deadline=$((SECONDS + 120))
  until curl -sf "$api/ready" >/dev/null || [ $SECONDS -gt $deadline ] || ! kill -0 "$devnet_pid" 2>/dev/null; do sleep 1; done
  if curl -sf "$api/ready" >/dev/null; then pass "$api/ready"; else fail "$api/ready: $(curl -s "$api/ready")"; fi
done

consumer="$(node -p 'require(process.argv[1]).nodes.find((n) => n.roles.includes("consumer")).api' "$info")"
access="$(node "$clone/apps/node/dist/cli.js" keys new --access --out "$tmp/lease_key" 2>/dev/null)"
deadline=$((SECONDS + 60))
until curl -s "$consumer/providers" | grep -q '"available_vcpus":[1-9]' || [ $SECONDS -gt $deadline ]; do sleep 1; done
t0=$(date +%s%N)
answer="$(curl -s -w ' HTTP %{http_code}' -X POST "$consumer/lease/request" \
  -H "Authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"vcpus":1,"memory_mb":256,"disk_gb":1,"duration":5,"access_pub_key":"'"$access"'"}')"
ms=$((($(date +%s%N) - t0) / 1000000))
if [[ "$answer" =~ \"lease_hash\":\"[0-9a-f]{64}\".*HTTP\ 200$ ]]; then
  pass "POST /lease/request accepted in ${ms} ms"
else
  fail "POST /lease/request: $answer"
fi

kill -TERM "$devnet_pid"
for _ in $(seq 1 40); do kill -0 "$devnet_pid" 2>/dev/null || break; sleep 1; done
if kill -0 "$devnet_pid" 2>/dev/null; then fail "devnet still running 40 s after SIGTERM"; else pass "devnet stopped on SIGTERM"; fi
devnet_pid=""
sleep 1
left="$(devnet_procs)"
if [ -z "$left" ]; then pass "no cli.js start process of this devnet remains"; else fail "cli.js start processes left: $left"; fi

if [ "$failed" -eq 0 ]; then echo "PASS fresh-clone check"; else echo "FAIL fresh-clone check"; fi
exit "$failed"
