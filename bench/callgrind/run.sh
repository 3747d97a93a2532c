#!/bin/bash
# Instructions per request of one bench server, counted by callgrind: a count
# that the machine's load does not move, unlike req/s or CPU time.
#
#   bash bench/callgrind/run.sh SERVER ENGINE PATH [COOKIE [SERVER ARGS...]]
#   SERVER: bench/server.ts (Tango) or bench/baseline.ts; ENGINE as in --engines, or core for S1/S2.
#   A compiled SERVER (bench/dist/bench/baseline.js, built by `npm run bench -- --serve`) runs without ts-node.
#   SERVER ARGS go to the server, e.g. the baseline's --sample-key KEY (pass '' as COOKIE for none).
#
# One autocannon run drives the server on the same keep-alive connections (CONNECTIONS, default 4;
# use 1 for S5 with one session cookie, or the requests update one session at once;
# or set SESSIONS=N: N sessions are created through the server's S4 view and sent in
# turn, as the bench does, and COOKIE is ignored)
# throughout: WARM_S seconds (default 40) without instrumentation, so V8 has
# compiled what it will compile, then WIN_S seconds (default 25) counted. The
# requests counted are the calls of Node's Parser::on_headers_complete in that
# window. Counts only the main thread (JavaScript, libuv, Node's C++); the
# kernel's share of a request is not counted, so these ratios read lower than
# the bench's. Needs valgrind (apt-get install -y valgrind).
# Leaves /tmp/tango-cg.PORT.1-01 (callgrind output) and .map (V8's perf map) for diff.py.
set -euo pipefail
SERVER=$1; ENGINE=$2; URLPATH=$3; COOKIE=${4:-}; shift $(( $# < 4 ? $# : 4 ))
TS_NODE=(-r ts-node/register); [[ $SERVER == *.js ]] && TS_NODE=()
command -v valgrind > /dev/null || { echo "valgrind is not installed (apt-get install -y valgrind)" >&2; exit 1; }
PORT=$((8200 + RANDOM % 700))
OUT=/tmp/tango-cg.$PORT
rm -f "$OUT"*
NODE_ENV=production TANGO_LOG_LEVEL=warn valgrind --tool=callgrind --smc-check=all-non-file --instr-atstart=no \
  --separate-threads=yes --callgrind-out-file="$OUT" \
  node --perf-basic-prof --no-compact-code-space ${NODE_FLAGS:-} "${TS_NODE[@]}" "$SERVER" --engine "$ENGINE" --port $PORT "$@" \
  > "$OUT.log" 2>&1 &
VPID=$!
for _ in $(seq 1 600); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.5; done
HEADER=(); [ -n "$COOKIE" ] && HEADER=(-H "cookie=$COOKIE")
if [ -n "${SESSIONS:-}" ]; then
  npx ts-node bench/callgrind/drive.ts $PORT "$URLPATH" ${CONNECTIONS:-4} $(( ${WARM_S:-40} + ${WIN_S:-25} + 30 )) "$SESSIONS" > "$OUT.load" 2>&1 &
else
  npx autocannon -c ${CONNECTIONS:-4} -d $(( ${WARM_S:-40} + ${WIN_S:-25} + 30 )) "${HEADER[@]}" "http://127.0.0.1:$PORT$URLPATH" > "$OUT.load" 2>&1 &
fi
APID=$!
sleep "${WARM_S:-40}"
callgrind_control -i on $VPID > /dev/null
sleep "${WIN_S:-25}"
callgrind_control -i off $VPID > /dev/null
callgrind_control -d $VPID > /dev/null
sleep 1
kill $APID 2> /dev/null || true; wait $APID 2> /dev/null || true
cp "/tmp/perf-$VPID.map" "$OUT.map"
kill $VPID; wait $VPID 2> /dev/null || true; rm -f "/tmp/perf-$VPID.map"
N=$(callgrind_annotate --tree=caller --threshold=100 "$OUT.1-01" | grep "< .*Parser::on_headers_complete() (" | head -1 | grep -o '([0-9,]*x)' | tr -dc 0-9)
MAIN=$(grep -h "^totals:" "$OUT.1-01" | awk '{s+=$2} END {print s}')
echo "$(basename "$SERVER") $ENGINE $URLPATH: $((MAIN / N)) instructions/request over $N requests ($OUT.1-01 $N)"
