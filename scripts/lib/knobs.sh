# Environment knobs of the benchmark scripts, checked before anything
# starts: a bad value exits 2 naming the script, the knob, the value and
# what would be valid (instead of a traceback or a half-run benchmark).
#
#   . scripts/lib/knobs.sh
#   knob_count PROBES 1          # a whole number, at least 1
#   knob_duration INTERVAL       # 50ms, 2s, 1.5s, 5m, 1h
#   knob_flag CURL               # 0 or 1
#   knob_counts IR_KEEPALIVE 2   # whole numbers (>= 1), this many, space-separated

knob_bad() {
  echo "$(basename "$0"): $1=${2@Q}: $3" >&2
  exit 2
}

knob_count() {
  local name=$1 min=${2:-0} v=${!1-}
  [[ $v =~ ^[0-9]{1,15}$ ]] && [ "$((10#$v))" -ge "$min" ] ||
    knob_bad "$name" "$v" "a whole number of $min or more (at most 15 digits), e.g. $name=$((min > 0 ? min * 10 : 10))"
}

knob_duration() {
  local name=$1 v=${!1-}
  [[ $v =~ ^[0-9]+(\.[0-9]+)?(ms|s|m|h)$ ]] && [[ ! $v =~ ^0+(\.0+)?[a-z]+$ ]] ||
    knob_bad "$name" "$v" "a duration above zero with its unit (ms, s, m, h), e.g. $name=50ms"
}

knob_flag() {
  local name=$1 v=${!1-}
  [[ $v =~ ^[01]$ ]] || knob_bad "$name" "$v" "0 or 1"
}

knob_counts() {
  local name=$1 n=$2 v=${!1-} w
  local -a words
  read -r -a words <<<"$v"
  [ "${#words[@]}" = "$n" ] || knob_bad "$name" "$v" "$n whole numbers of 1 or more, space-separated"
  for w in "${words[@]}"; do
    [[ $w =~ ^[0-9]{1,15}$ ]] && [ "$((10#$w))" -ge 1 ] ||
      knob_bad "$name" "$v" "$n whole numbers of 1 or more, space-separated"
  done
}

knob_exe() {
  local name=$1 v=${!1-}
  [ -z "$v" ] || [ -x "$v" ] || knob_bad "$name" "$v" "the path of an executable (a coldlink binary), or unset"
}
