#!/usr/bin/env python3
"""The signature of a run's records (NDJSON from --records), to compare the
in-process lab with the kernel lab: what failed and how, which phase
stalled and by how much, on reused or new connections, and after which
quiet gaps (API-wide, as coldlink's detectors count them) and connection
idle ages. With two files, their signatures side by side.

    scripts/lab-signature.py KERNEL.ndjson IN-PROCESS.ndjson

A file may be gzip-compressed (told by its first bytes, as `coldlink
report` does). A file that cannot be read, holds no record, or has a line
that is not a record exits 2 naming FILE or FILE:LINE.

Durations are real time (ms in the records, seconds here). A probe is bad
when it failed (an error, or a status of 500 or more) or one of its phases
took STALL seconds more than that phase's fastest.
"""

import gzip
import json
import statistics
import sys
from collections import Counter
from datetime import datetime

STALL = 0.5  # s above the phase's fastest
SESSION_GAP = 0.020  # s: a quieter gap starts a session (docs/causes.md)
PHASES = ["dns", "connect", "tls", "send", "ttfb", "body"]


def at(r):
    return datetime.fromisoformat(r["at"].replace("Z", "+00:00")).timestamp()


def conn(r):
    """The record's connection, or {} when it never got one (a failed lookup)."""
    return r.get("conn") or {}


def secs(xs):
    return " ".join(f"{x:.2f}" for x in xs) or "-"


def failure(r):
    if r.get("error"):
        return f'{r["error"]["kind"]}@{r["error"]["phase"]}'
    if (r.get("status") or 0) >= 500:
        return str(r["status"])
    return None


class BadInput(Exception):
    """A file or line that is not what this reads: FILE[:LINE]: why."""


def record(line):
    """One record from one line, or ValueError saying what is wrong."""
    try:
        r = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(r, dict):
        raise ValueError("not a record (expected a JSON object)")
    for key, kind in (("at", str), ("target", str), ("phases_ms", dict), ("total_ms", (int, float))):
        if not isinstance(r.get(key), kind):
            raise ValueError(f"not a coldlink probe record (no `{key}`)")
    try:
        at(r)
    except ValueError:
        raise ValueError(f"`at` is not a timestamp: {r['at']!r}") from None
    return r


def records(path):
    """Every record of a file (NDJSON, gzip-compressed or not)."""
    try:
        with open(path, "rb") as f:
            gz = f.read(2) == b"\x1f\x8b"
        f = gzip.open(path, "rt", encoding="utf-8") if gz else open(path, encoding="utf-8")
        with f:
            rs = []
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rs.append(record(line))
                except ValueError as e:
                    raise BadInput(f"{path}:{n}: {e}") from None
    except OSError as e:
        raise BadInput(f"{path}: {e.strerror or e}") from None
    except (UnicodeDecodeError, EOFError) as e:
        raise BadInput(f"{path}: cannot be read as text ({e})") from None
    if not rs:
        raise BadInput(f"{path}: no probe records in it (expected the NDJSON records of --records, probe --out or run; .gz too)")
    return rs


def signature(path):
    rs = records(path)
    rs.sort(key=at)
    targets = len({r["target"] for r in rs})
    fastest = {}
    for p in PHASES:
        xs = [r["phases_ms"].get(p) for r in rs if r["phases_ms"].get(p) is not None]
        fastest[p] = min(xs) / 1000 if xs else 0.0
    # The API-wide quiet gap before each probe, and its place in its session.
    latest_end, pos, session_gap = None, 0, None
    for r in rs:
        start = at(r)
        r["_gap"] = None if latest_end is None else max(0.0, start - latest_end)
        pos = 1 if r["_gap"] is None or r["_gap"] >= SESSION_GAP else pos + 1
        r["_pos"] = pos
        session_gap = r["_gap"] if pos == 1 else session_gap
        r["_session_gap"] = session_gap
        end = start + r["total_ms"] / 1000
        latest_end = end if latest_end is None else max(latest_end, end)
        r["_fail"] = failure(r)
        r["_stall"] = [
            (p, r["phases_ms"][p] / 1000 - fastest[p])
            for p in PHASES
            if (r["phases_ms"].get(p) or 0) / 1000 - fastest[p] > STALL
        ]
        r["_bad"] = bool(r["_fail"] or r["_stall"])
    bad = [r for r in rs if r["_bad"]]
    sig = {}
    sig["probes"] = f"{len(rs)} to {targets} target(s), {len(bad)} bad"
    sig["statuses"] = " ".join(f"{k}×{v}" for k, v in sorted(Counter(str(r.get("status")) for r in rs).items()))
    sig["failures"] = " ".join(f"{k}×{v}" for k, v in Counter(r["_fail"] for r in bad if r["_fail"]).items()) or "-"
    fails = [r for r in bad if r["_fail"]]
    fails_ms = sorted((r["phases_ms"].get("ttfb") or 0) / 1000 for r in fails)
    sig["failure ttfb (s)"] = f"{fails_ms[0]:.3f}–{fails_ms[-1]:.3f}" if fails_ms else "-"
    stalls = Counter()
    sizes = {}
    for r in bad:
        for p, _ in r["_stall"]:
            stalls[f'{p}→{r.get("status") or r["_fail"]}'] += 1
            sizes.setdefault(p, []).append(r["phases_ms"][p] / 1000)
    sig["stalls (phase→outcome)"] = " ".join(f"{k}×{v}" for k, v in sorted(stalls.items())) or "-"
    for p, xs in sorted(sizes.items()):
        xs.sort()
        sig[f"{p} of stalled probes (s)"] = f"median {statistics.median(xs):.2f}, {xs[0]:.2f}–{xs[-1]:.2f}"
    sig["bad on client conn"] = " ".join(f"{k}×{v}" for k, v in sorted(Counter(("reused" if conn(r).get("reused") else "new") if r.get("conn") else "none" for r in bad).items())) or "-"
    sig["bad: place in session"] = " ".join(f"#{k}×{v}" for k, v in sorted(Counter(r["_pos"] for r in bad).items())) or "-"
    # Quiet gaps of a second or more: how many of their heads (the first
    # `targets` probes of the session) were bad, per gap rounded to 0.5 s.
    levels, head_of = {}, None
    for r in rs:
        if r["_pos"] == 1:
            head_of = round(r["_gap"] * 2) / 2 if r["_gap"] is not None and r["_gap"] >= 0.9 else None
        if head_of is not None and r["_pos"] <= targets:
            b, n = levels.get(head_of, (0, 0))
            levels[head_of] = (b + r["_bad"], n + 1)
    sig["bad heads by quiet gap"] = " ".join(f"{g:g}s:{b}/{n}" for g, (b, n) in sorted(levels.items())) or "-"
    idle = sorted(conn(r)["idle_ms"] / 1000 for r in bad if conn(r).get("idle_ms") is not None)
    sig["conn.idle_ms of bad (s)"] = f"{idle[0]:.2f}–{idle[-1]:.2f} (n={len(idle)})" if idle else "- (new connections)"
    # Where failures begin: the shortest quiet gap before a bad head (as
    # above: one of the session's first `targets` probes) and the longest
    # before a clean one. When they overlap (an early failure, or a window
    # that closes again), how many heads of each lie between them.
    heads = [r for r in rs if r["_pos"] <= targets and r["_session_gap"] is not None]
    good_gaps = [r["_session_gap"] for r in heads if not r["_bad"]]
    bad_gaps = [r["_session_gap"] for r in heads if r["_bad"] and r["_session_gap"] >= 0.9]
    if bad_gaps:
        first, clean = min(bad_gaps), max(good_gaps, default=0.0)
        begin = f"first bad head after a {first:.2f} s gap; clean heads up to {clean:.2f} s"
        if first <= clean:
            nb = sum(1 for g in bad_gaps if g <= clean)
            ng = sum(1 for g in good_gaps if g >= first)
            begin += f"; between them {nb} bad and {ng} clean head(s)"
        sig["failures begin"] = begin
    con = sorted(r["phases_ms"]["connect"] / 1000 for r in rs if (r["phases_ms"].get("connect") or 0) > 700)
    sig["connect stalls (s)"] = secs(con)
    dns = sorted(r["phases_ms"]["dns"] / 1000 for r in rs if (r["phases_ms"].get("dns") or 0) > 300)
    lookups = sum(1 for r in rs if r["phases_ms"].get("dns") is not None)
    sig["dns stalls (s)"] = f"{len(dns)}/{lookups} lookups: {secs(dns)}"
    return sig


def main(paths):
    if paths and paths[0] in ("-h", "--help"):
        print(__doc__.strip())
        return
    if not 1 <= len(paths) <= 2:
        print("usage: lab-signature.py RECORDS.ndjson [OTHER.ndjson] (one or two record files; .gz too)", file=sys.stderr)
        sys.exit(2)
    try:
        sigs = [signature(p) for p in paths]
    except BadInput as e:
        print(f"lab-signature.py: {e}", file=sys.stderr)
        sys.exit(2)
    keys = list(dict.fromkeys(k for s in sigs for k in s))
    width = max(len(k) for k in keys)
    if len(sigs) == 2:
        print(f'{"":{width}}  A = {paths[0]}\n{"":{width}}  B = {paths[1]}')
    for k in keys:
        vals = [s.get(k, "-") for s in sigs]
        print(f"{k:{width}}  " + ("A: " + vals[0] + "\n" + " " * (width + 2) + "B: " + vals[1] if len(vals) == 2 else vals[0]))


if __name__ == "__main__":
    main(sys.argv[1:])
