"""Shared by the benchmark scripts' summaries (imported from the repo root:
sys.path.insert(0, "scripts/lib")): reading what they wrote."""

import math
from datetime import datetime


def ts(s):
    """A record's RFC 3339 timestamp as Unix seconds."""
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def pct(xs, p):
    """The p-th percentile by nearest rank; None for no values."""
    if not xs:
        return None
    xs = sorted(xs)
    return xs[max(0, math.ceil(p / 100 * len(xs)) - 1)]


def read(path, default=None):
    """A small file's text, stripped; default when it cannot be read."""
    try:
        return open(path).read().strip()
    except OSError:
        return default


def read_sample(path):
    """What proc.sh's `sample` wrote: time, ticks, VmRSS, VmHWM (as keys
    without the colon) and "threads": {name: ticks}; {} parts when missing."""
    out = {"threads": {}}
    for line in (read(path, "") or "").splitlines():
        f = line.split()
        if len(f) == 3 and f[0] == "thread":
            out["threads"][f[1]] = out["threads"].get(f[1], 0) + int(f[2])
        elif len(f) == 2 and f[0] in ("time", "ticks"):
            out[f[0]] = float(f[1])
        elif len(f) == 2:
            out[f[0].rstrip(":")] = int(f[1])
    return out
