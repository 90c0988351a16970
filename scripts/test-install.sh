#!/usr/bin/env bash
# What a new user does with the published packages, outside this workspace: pack them (pack-all.sh), install the
# tarballs with plain npm into a fresh temporary project, then there
#   1. `npx fedwarden --help` and every command's --help (exit 0), a typo'd option (exit 2);
#   2. mint a token into a file, start `fedwarden coordinator` (node directly: the bin), and let a participant
#      script that imports only @fedwarden/client complete a round; the coordinator exits 0 when done;
#   3. start it again for more rounds and send SIGTERM to its pid in the middle: it stops gracefully (exit 0),
#      the participant sees close 1001, and the port is free again.
# The token travels in a 0600 file and the FEDWARDEN_TOKEN environment variable, never on a command line.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PNPM="${PNPM:-pnpm}"
PNPM="$PNPM" bash "$ROOT/scripts/pack-all.sh"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/fedwarden-install.XXXXXX")"
COORD_PID=""
cleanup() {
  [[ -n "$COORD_PID" ]] && kill -9 "$COORD_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }
fail() { echo "test-install: $*" >&2; [[ -f coordinator.log ]] && tail -20 coordinator.log >&2; exit 1; }

cd "$WORK"
step "fresh npm project in $WORK"
npm init -y >/dev/null
npm pkg set type=module >/dev/null
npm install --no-audit --no-fund --loglevel=error "$ROOT"/out/packages/*.tgz
cp "$ROOT/scripts/install-check/join-round.mjs" .

step "npx fedwarden --help"
npx fedwarden --help
for cmd in coordinator token fingerprint verify backup restore simulate client; do
  npx fedwarden "$cmd" --help >/dev/null || fail "fedwarden $cmd --help exited $?"
done
set +e; npx fedwarden coordinator --confg x.json 2>typo.err; code=$?; set -e
[[ $code -eq 2 ]] && grep -q "Did you mean --config" typo.err || fail "a typo'd option gave exit $code: $(cat typo.err)"
echo "every command answers --help; a typo'd option exits 2 with a suggestion"

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
write_config() { # rounds port
  local entry; entry="$(cat entry.json)"
  cat >config.json <<JSON
{ "host": "127.0.0.1", "port": $2, "operator": { "port": 0 }, "dataDir": "./data", "participants": [$entry],
  "rounds": { "count": $1, "minParticipants": 1, "deadlineMs": 60000, "finishGraceMs": 2000 },
  "training": { "epochs": 1, "batchSize": 16, "learningRate": 0.01 } }
JSON
}
wait_for_log() { # pattern seconds
  for _ in $(seq 1 $(($2 * 10))); do
    grep -q "$1" coordinator.log 2>/dev/null && return 0
    kill -0 "$COORD_PID" 2>/dev/null || fail "coordinator exited before logging '$1'"
    sleep 0.1
  done
  fail "no '$1' in the coordinator log after $2 s"
}

step "enrol a participant: fedwarden token --out"
npx fedwarden token install-check --out participant.token | tee token.out
grep -o '{"id":[^}]*}' token.out >entry.json
[[ "$(stat -c %a participant.token)" == 600 ]] || fail "token file mode is $(stat -c %a participant.token)"
grep -q fwt_ token.out && fail "the token was printed although --out was given"
FEDWARDEN_TOKEN="$(cat participant.token)"
export FEDWARDEN_TOKEN

step "one round: coordinator (node, no shell between) + an embedded participant"
PORT="$(free_port)"
write_config 1 "$PORT"
FP="$(npx fedwarden fingerprint --config config.json)"
./node_modules/.bin/fedwarden coordinator --config config.json --log-format json 2>coordinator.log &
COORD_PID=$!
wait_for_log '"coordinator listening"' 60
node join-round.mjs "ws://127.0.0.1:$PORT" "$FP" finish || fail "the participant did not complete a round"
wait "$COORD_PID" || fail "the coordinator exited $? after the federation"
COORD_PID=""
grep -q '"round 1 of 1 completed"' coordinator.log || fail "no completed round in the coordinator log"
grep -q "$FEDWARDEN_TOKEN" coordinator.log && fail "the token appears in the coordinator log"
[[ "$(stat -c %a participant.identity)" == 600 ]] || fail "identity file mode is $(stat -c %a participant.identity)"
echo "round completed; coordinator exited 0"

step "SIGTERM to the coordinator's pid mid-federation"
PORT="$(free_port)"
write_config 50 "$PORT"
rm -f coordinator.log
./node_modules/.bin/fedwarden coordinator --config config.json --log-format json 2>coordinator.log &
COORD_PID=$!
wait_for_log '"coordinator listening"' 60
node join-round.mjs "ws://127.0.0.1:$PORT" "$FP" going-away >participant.log 2>&1 &
PART_PID=$!
wait_for_log 'completed"' 120
[[ "$(ps -o comm= -p "$COORD_PID")" == node ]] || fail "pid $COORD_PID is $(ps -o comm= -p "$COORD_PID"), not node"
kill -TERM "$COORD_PID"
set +e; wait "$COORD_PID"; code=$?; set -e
COORD_PID=""
[[ $code -eq 0 ]] || fail "SIGTERM: the coordinator exited $code"
grep -q '"stopped"' coordinator.log || fail "no 'stopped' in the coordinator log"
grep -q 'dropped out' coordinator.log && fail "a graceful stop was logged as a dropout"
wait "$PART_PID" || { cat participant.log; fail "the participant did not see close 1001"; }
cat participant.log
node -e 'const s=require("net").createServer().once("error",e=>{console.error(e.message);process.exit(1)}).listen(+process.argv[1],"127.0.0.1",()=>s.close())' "$PORT" \
  || fail "port $PORT still held after SIGTERM"
echo "SIGTERM: exit 0, participant closed with 1001, port $PORT free"

step "install check passed"
