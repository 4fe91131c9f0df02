# Sourced by the benchmark scripts: what /proc says of a process.
#
#   sample PID FILE   → FILE holds "time T", "ticks N" (utime+stime of the
#                       process), "VmRSS: KB", "VmHWM: KB" and a
#                       "thread NAME TICKS" line per thread
#   proc_ticks PID    → utime+stime of the process, in clock ticks

# stat_ticks FILE: utime+stime from a /proc stat file (a process's or a thread's)
stat_ticks() {
  # utime and stime are fields 14 and 15; the name (field 2) may hold spaces
  sed 's/.*) //' "$1" | awk '{print $12 + $13}'
}

proc_ticks() { stat_ticks "/proc/$1/stat"; }

sample() {
  {
    echo "time $(date +%s.%N)"
    echo "ticks $(proc_ticks "$1")"
    awk '$1=="VmRSS:"||$1=="VmHWM:"{print $1, $2}' "/proc/$1/status"
    for t in /proc/"$1"/task/*; do
      echo "thread $(tr ' ' _ <"$t/comm") $(stat_ticks "$t/stat")"
    done
  } >"$2" 2>/dev/null || true
}
