# Sourced by the benchmark scripts: user-space instructions per request,
# counted by callgrind (valgrind's instruction counter: user space only,
# and, unlike wall time, hardly moved by what else the machine runs; a
# multi-threaded client such as oha varies more from run to run than
# coldlink's single probe thread), as the difference of two run lengths so
# that start-up and exit cancel out.
#
#   have_callgrind                  → true when valgrind is installed
#   ir_per_request SHORT LONG CMD…  → prints (Ir(LONG) − Ir(SHORT)) / (LONG − SHORT),
#                                     rounded; "{n}" in CMD stands for the run length
#
# Each count goes to stderr as it is made. Every run must answer all its
# requests (coldlink's "ok N" or oha's JSON status counts); a short one
# makes the function fail, not print a number. IR_ROUNDS=K (default 1)
# runs each length K times, the lengths interleaved, and takes the median
# of each. Under valgrind the CPU's SHA and AES instructions are hidden, so
# signing and TLS count as their software versions.

have_callgrind() { command -v valgrind >/dev/null; }

# ir_run N CMD… → the instructions of one run of CMD ({n} → N)
ir_run() {
  local n=$1 dir; shift
  dir=$(mktemp -d)
  local argv=() a
  for a in "$@"; do argv+=("${a//\{n\}/$n}"); done
  if ! valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" \
      "${argv[@]}" >"$dir/stdout" 2>"$dir/stderr"; then
    echo "callgrind run failed: ${argv[*]} (see $dir)" >&2
    return 1
  fi
  if ! python3 - "$dir/stdout" "$n" <<'PY'
import json, re, sys
text, n = open(sys.argv[1]).read(), int(sys.argv[2])
m = re.search(r"probes (\d+)\s+ok (\d+)", text)
if m:
    ok = int(m.group(2))
else:
    try:
        ok = sum(json.loads(text).get("statusCodeDistribution", {}).values())
    except ValueError:
        ok = -1
if ok != n:
    sys.exit(f"{ok} of {n} requests answered")
PY
  then
    echo "callgrind run incomplete: ${argv[*]} (see $dir)" >&2
    return 1
  fi
  local ir; ir=$(awk '$1=="summary:"{print $2}' "$dir/callgrind.out")
  echo "callgrind: $ir instructions for $n requests: ${argv[*]}" >&2
  echo "$ir"
  rm -rf "$dir"
}

ir_per_request() {
  local short=$1 long=$2 round; shift 2
  local s=() l=()
  for round in $(seq "${IR_ROUNDS:-1}"); do
    s+=("$(ir_run "$short" "$@")") || return 1
    l+=("$(ir_run "$long" "$@")") || return 1
  done
  python3 -c '
import statistics, sys
short, long, k = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
xs = [int(x) for x in sys.argv[4:]]
print(round((statistics.median(xs[k:]) - statistics.median(xs[:k])) / (long - short)))
' "$short" "$long" "${#s[@]}" "${s[@]}" "${l[@]}"
}
