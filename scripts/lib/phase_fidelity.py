"""The phase-fidelity check's arithmetic (scripts/phase-fidelity.sh): reads
the runs it left in a folder, pairs every probe with its packets, and
prints the differences between each tool's phases and the packet
timestamps.

    python3 scripts/lib/phase_fidelity.py RUNS_DIR SERVER_PORT [--json FILE]

RUNS_DIR holds one folder per run, each with `tool` (coldlink or curl),
`kind` (new, reused or syndrop), `capture.pcap` (tcpdump -w, nanosecond
timestamps, taken in the client's namespace) and `out` (coldlink's NDJSON
records, or curl's -w lines: "CURL local_port num_connects namelookup
connect pretransfer starttransfer", seconds since curl's start).

Per probe, from the packets of its connection (found by the client's port,
which coldlink's records carry as `local`):
  connect  first SYN out → SYN-ACK in (a retransmitted SYN keeps the first)
  ttfb     the request's last data segment out → the response's first data
           segment in (every request here fits in one segment)
and the tools' own: coldlink's `connect` and `ttfb` phases; curl's
time_connect − time_namelookup and time_starttransfer − time_pretransfer
(curl sets time_pretransfer after the state that writes the request, so
both tools' ttfb starts after the write). Differences are tool − packets,
in µs; min–max is the smallest and largest of one run's probes.

The packets carry CLOCK_REALTIME, coldlink's phases CLOCK_MONOTONIC. The two
can run at different rates (seen on a VM: realtime 0.5 % fast, 250 µs on a
50 ms wait), so each run's `clocks` file (both clocks at its start and end)
gives the rate, and packet intervals are scaled to the monotonic clock.
"""

import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import pct  # noqa: E402

SYN, ACK = 0x02, 0x10


def packets(path):
    """(t_ns, sport, dport, flags, seq, payload_len) of each IPv4 TCP packet
    of a pcap file (Ethernet link type; nanosecond or microsecond)."""
    data = open(path, "rb").read()
    if len(data) < 24:
        return []
    magic = struct.unpack_from("<I", data)[0]
    if magic in (0xA1B23C4D, 0xA1B2C3D4):
        end = "<"
    else:
        end = ">"
        magic = struct.unpack_from(">I", data)[0]
    scale = 1 if magic == 0xA1B23C4D else 1000
    linktype = struct.unpack_from(end + "I", data, 20)[0]
    if linktype != 1:
        raise SystemExit(f"{path}: link type {linktype}, expected Ethernet (1)")
    out, off = [], 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack_from(end + "IIII", data, off)
        frame = data[off + 16 : off + 16 + incl]
        off += 16 + incl
        if len(frame) < 14 + 20 or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 6 or len(ip) < ihl + 20:
            continue
        total = struct.unpack_from(">H", ip, 2)[0]
        tcp = ip[ihl:]
        sport, dport, seq = struct.unpack_from(">HHI", tcp)
        thl = (tcp[12] >> 4) * 4
        out.append((sec * 1_000_000_000 + frac * scale, sport, dport, tcp[13], seq, total - ihl - thl))
    out.sort(key=lambda p: p[0])
    return out


def connections(pkts, server_port):
    """{client port: [connection, …]} in the order of their first SYN. A
    connection: syns (times of the client's SYNs, retransmissions
    included), synack (first SYN-ACK in), exchanges [(request's last data
    segment out, response's first data segment in), …] in order."""
    conns, current = {}, {}
    for t, sport, dport, flags, seq, length in pkts:
        outbound = dport == server_port
        port = sport if outbound else dport
        if not outbound and sport != server_port:
            continue
        if outbound and flags & SYN and not flags & ACK:
            c = current.get(port)
            if c is None or c["isn"] != seq:
                c = {"isn": seq, "syns": [], "synack": None, "exchanges": [], "_req": None}
                conns.setdefault(port, []).append(c)
                current[port] = c
            c["syns"].append(t)
            continue
        c = current.get(port)
        if c is None:
            continue
        if not outbound and flags & SYN and flags & ACK:
            if c["synack"] is None:
                c["synack"] = t
        elif length > 0 and outbound:
            c["_req"] = t  # the request's last segment so far
        elif length > 0 and c["_req"] is not None:
            c["exchanges"].append((c["_req"], t))
            c["_req"] = None
    return conns


def us(ns):
    return ns / 1000.0


def monotonic_per_realtime(run):
    """CLOCK_MONOTONIC's advance per ns of CLOCK_REALTIME over the run, from
    its `clocks` file; 1.0 when the file is missing (an older run)."""
    try:
        lines = open(os.path.join(run, "clocks")).read().split("\n")
        (r0, m0), (r1, m1) = [tuple(map(int, line.split())) for line in lines if line.strip()][:2]
    except (OSError, ValueError):
        return 1.0
    return (m1 - m0) / (r1 - r0) if r1 > r0 else 1.0


def coldlink_probes(path):
    """[(port, connection key, index on it, start, connect_ms, ttfb_ms, record)]."""
    out = []
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        r = json.loads(line)
        local = r.get("local")
        if not local or not r.get("conn"):
            continue
        port = int(local.rsplit(":", 1)[1])
        p = r["phases_ms"]
        out.append((port, r["conn"]["id"], r["conn"]["requests"] - 1, r["at"], p.get("connect"), p.get("ttfb"), r))
    return out


def curl_probes(path):
    """As coldlink_probes, from curl's -w lines (a line with num_connects ≥ 1
    opens a new connection on its port)."""
    out, conn_of, index, next_id = [], {}, {}, 0
    for n, line in enumerate(open(path)):
        f = line.split()
        if len(f) != 7 or f[0] != "CURL":
            continue
        port, connects = int(f[1]), int(f[2])
        lookup, connect, pre, start = map(float, f[3:])
        if connects > 0 or port not in conn_of:
            next_id += 1
            conn_of[port], index[port] = next_id, 0
        else:
            index[port] += 1
        connect_ms = (connect - lookup) * 1000 if connects > 0 else None
        out.append((port, conn_of[port], index[port], n, connect_ms, (start - pre) * 1000, None))
    return out


def pair(probes, conns):
    """Each probe with its packet connection: a port's connections in the
    order the tool opened them (first probe's start) and of their SYNs."""
    by_conn = {}
    for p in probes:
        by_conn.setdefault((p[0], p[1]), []).append(p)
    order = {}
    for (port, key), ps in by_conn.items():
        order.setdefault(port, []).append((min(p[3] for p in ps), key))
    out = []
    for port, keys in order.items():
        for i, (_, key) in enumerate(sorted(keys)):
            pc = conns.get(port, [])
            c = pc[i] if i < len(pc) else None
            for p in by_conn[(port, key)]:
                out.append((p, c))
    return out


def rows_of_run(run, server_port):
    tool = open(os.path.join(run, "tool")).read().strip()
    kind = open(os.path.join(run, "kind")).read().strip()
    rate = monotonic_per_realtime(run)
    pkts = [(round(t * rate), *rest) for t, *rest in packets(os.path.join(run, "capture.pcap"))]
    conns = connections(pkts, server_port)
    probes = (coldlink_probes if tool == "coldlink" else curl_probes)(os.path.join(run, "out"))
    rows, unpaired = [], 0
    for p, c in pair(probes, conns):
        port, _, index, _, connect_ms, ttfb_ms, record = p
        if c is None:
            unpaired += 1
            continue
        row = {"tool": tool, "kind": kind, "port": port, "index": index,
               "reused": index > 0, "syns": len(c["syns"])}
        if record is not None and record.get("error"):
            row["error"] = record["error"]["kind"]
        if index == 0 and connect_ms is not None and c["synack"] is not None:
            row["pkt_connect_us"] = us(c["synack"] - c["syns"][0])
            row["tool_connect_us"] = connect_ms * 1000
            row["pkt_rtt_us"] = us(c["synack"] - c["syns"][-1])
            if len(c["syns"]) > 1:
                row["pkt_syn_retx_us"] = us(c["syns"][1] - c["syns"][0])
        if ttfb_ms is not None and index < len(c["exchanges"]):
            sent, answered = c["exchanges"][index]
            row["pkt_ttfb_us"] = us(answered - sent)
            row["tool_ttfb_us"] = ttfb_ms * 1000
        row["clock_rate_ppm"] = round((1 / rate - 1) * 1e6, 1)
        rows.append(row)
    return rows, unpaired


def summarise(rows):
    """Per (tool, connections, phase): n, packets' median, and the median
    and p99 of tool − packets (nearest rank), in µs."""
    out = []
    for tool in ("coldlink", "curl"):
        for kind, reused in (("new", False), ("reused", True)):
            for phase in ("connect", "ttfb"):
                sel = [r for r in rows if r["tool"] == tool and r["kind"] == kind and r["reused"] == reused
                       and f"pkt_{phase}_us" in r and "error" not in r]
                if not sel:
                    continue
                diffs = [r[f"tool_{phase}_us"] - r[f"pkt_{phase}_us"] for r in sel]
                out.append({
                    "tool": tool, "connections": kind, "phase": phase, "n": len(sel),
                    "packets_median_us": pct([r[f"pkt_{phase}_us"] for r in sel], 50),
                    "tool_median_us": pct([r[f"tool_{phase}_us"] for r in sel], 50),
                    "diff_median_us": pct(diffs, 50), "diff_p99_us": pct(diffs, 99),
                    "diff_min_us": min(diffs), "diff_max_us": max(diffs),
                })
    return out


def main():
    args = sys.argv[1:]
    json_out = None
    if "--json" in args:
        i = args.index("--json")
        json_out = args[i + 1]
        del args[i : i + 2]
    runs_dir, server_port = args[0], int(args[1])
    rows, unpaired = [], {}
    for name in sorted(os.listdir(runs_dir)):
        run = os.path.join(runs_dir, name)
        if os.path.isfile(os.path.join(run, "tool")):
            r, u = rows_of_run(run, server_port)
            rows += [dict(x, run=name) for x in r]
            if u:
                unpaired[name] = u
    main_rows = [r for r in rows if r["kind"] != "syndrop"]
    summary = summarise(main_rows)
    syndrop = [r for r in rows if r["kind"] == "syndrop" and "pkt_connect_us" in r]

    print("| tool | connections | phase | probes | packets median ms | tool − packets median µs | p99 µs | min–max µs |")
    print("|---|---|---|---|---|---|---|---|")
    for s in summary:
        print(f"| {s['tool']} | {s['connections']} | {s['phase']} | {s['n']} | {s['packets_median_us'] / 1000:.3f} "
              f"| {s['diff_median_us']:+.1f} | {s['diff_p99_us']:+.1f} | {s['diff_min_us']:+.1f} – {s['diff_max_us']:+.1f} |")
    if syndrop:
        print()
        print("| tool | SYNs sent | SYN retransmitted after ms | round trip µs | packets connect ms | tool connect ms | tool − packets µs |")
        print("|---|---|---|---|---|---|---|")
        for r in syndrop:
            retx = r.get("pkt_syn_retx_us")
            retx = "— (none dropped)" if retx is None else f"{retx / 1000:.3f}"
            print(f"| {r['tool']} | {r['syns']} | {retx} | {r['pkt_rtt_us']:.1f} | "
                  f"{r['pkt_connect_us'] / 1000:.3f} | {r['tool_connect_us'] / 1000:.3f} | "
                  f"{r['tool_connect_us'] - r['pkt_connect_us']:+.1f} |")
    drift = [r["clock_rate_ppm"] for r in rows]
    if drift and max(abs(d) for d in drift) >= 50:
        print()
        print(f"Packet timestamps are CLOCK_REALTIME, which ran {min(drift):+.0f} to {max(drift):+.0f} ppm against "
              "CLOCK_MONOTONIC (coldlink's clock) during these runs: packet intervals are scaled to the monotonic clock.")
    for name, n in unpaired.items():
        print(f"warning: {name}: {n} probe(s) without packets of their connection", file=sys.stderr)
    if json_out:
        with open(json_out, "w") as f:
            json.dump({"summary": summary, "syndrop": syndrop, "probes": rows, "unpaired": unpaired}, f, indent=1)


if __name__ == "__main__":
    main()
