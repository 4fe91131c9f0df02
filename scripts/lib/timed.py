#!/usr/bin/env python3
"""Run a command and time it on CLOCK_MONOTONIC (this VM's CLOCK_REALTIME,
which bash's EPOCHREALTIME and `date` read, ran 0.5 % fast).

    python3 scripts/lib/timed.py RESULT_FILE COMMAND [ARG...]

The command inherits stdin, stdout and stderr. RESULT_FILE gets one line:
"elapsed_s user_s sys_s exit_code": elapsed from just before the command
is started to just after it has been reaped, and the CPU time the kernel
accounts to it and to the children it waited for (wait4's rusage). Not the
peak RSS: a process started from Python keeps Python's peak (13 MB) as its
floor, because Linux carries the peak across exec; the benchmarks take
that from /usr/bin/time, whose floor is about 1 MB. Exits with the
command's exit code."""

import os
import sys
import time


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    result, argv = sys.argv[1], sys.argv[2:]
    start = time.monotonic()
    pid = os.posix_spawnp(argv[0], argv, os.environ)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
    with open(result, "w") as out:
        out.write(f"{elapsed:.6f} {usage.ru_utime:.6f} {usage.ru_stime:.6f} {code}\n")
    sys.exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    main()
