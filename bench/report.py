#!/usr/bin/env python3
"""bench/report.py: turn zcg-bench CSVs into the Markdown table and plots.

    report.py [--aggregate] DIR [bench=KREL] [bench-unpatched=KREL] [bench-base=KREL]

With --aggregate, first writes DIR/results.csv from DIR/raw.csv (every run,
zcg-bench --raw format, rows of several boots): per kernel and row, the
median and min..max over the runs of every metric, in zcg-bench's own CSV
format. bench/run.sh does so because each of its rounds is a boot.

Reads DIR/results.csv (zcg-bench's CSV, rows of one or more kernels, the
kernel column telling them apart) and, when present, DIR/crosscheck.csv and
DIR/raw.csv. Writes DIR/results.md (tables for 1, 4, 16 and 64 KiB, ratio
columns against default SEND_ZC and against the unpatched kernel, and the
issue's targets, met or missed, with the numbers) and, with gnuplot, the
PNG plots DIR/req_s-TRANSPORT.png and DIR/cqe_per_send-TRANSPORT.png (one
line per mode, the patched kernel; default SEND_ZC of the unpatched kernel
dashed).

Without labels, the kernel whose release ends in "-unpatched" is the
baseline, one ending in "-base" the earlier series (a section compares
every row with it) and the other one the zcg kernel.
"""
import csv
import os
import shutil
import subprocess
import sys
from collections import OrderedDict

SIZES = [1024, 4096, 16384, 65536]
# copy-free transports first, then the copying ones
TRANSPORTS = ["udp-dummy", "wire-tcp", "wire-udp", "tcp", "udp", "veth"]
COPY_FREE = ["udp-dummy", "wire-tcp", "wire-udp"]
TRANSPORT_TITLES = {
    "udp-dummy": "UDP into a dummy device (copy-free: the skb is freed at transmit, "
                 "in the sender's context; sender only). What it measures: the CPU "
                 "cost of each notification model, nothing else",
    "wire-tcp": "TCP over the guest's wire (copy-free: two emulated NICs, receiver in "
                "another namespace; the skb is freed at TX completion). What it "
                "measures: a real zero-copy transmit path with its wake-ups",
    "wire-udp": "UDP over the guest's wire (copy-free, as wire TCP)",
    "tcp": "loopback TCP (copying path: every zero-copy skb is copied at delivery). "
           "What it measures: zero copy traded for a copy inside the kernel",
    "udp": "loopback UDP (copying path; 64 KiB rows send 65507-byte datagrams)",
    "veth": "TCP over veth between two network namespaces (copying path, as loopback)",
}
MODE_ORDER = ["copy", "msg_zerocopy", "msg_zerocopy_lazy", "zc", "zc_skip", "combine",
              "group8", "group32", "group128",
              "group8_skip", "group32_skip", "group128_skip"]
OUR_MODES = ["zc_skip", "combine", "group8", "group32", "group128",
             "group8_skip", "group32_skip", "group128_skip"]
SKIP_GROUPS = ["group8_skip", "group32_skip", "group128_skip"]
# one colour per mode of MODE_ORDER
COLOURS = ["#000000", "#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00",
           "#a65628", "#f781bf", "#999999", "#66c2a5", "#1b9e77", "#d95f02"]


def num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def kib(size):
    return "%d KiB" % (size // 1024) if size % 1024 == 0 else "%d B" % size


def ksize(size):
    """a size for a plot's x axis label"""
    return "%dK" % (size // 1024) if size % 1024 == 0 else "%d" % size


def fmt(v, digits=None):
    if v is None:
        return "–"
    if digits is not None:
        return "%.*f" % (digits, v)
    if v >= 1000:
        return "{:,.0f}".format(v).replace(",", " ")
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    if v >= 1:
        return "%.2f" % v
    return "%.3f" % v


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r):
    return "–" if r is None else "%.2f×" % r


def mode_sort_key(mode):
    return (MODE_ORDER.index(mode) if mode in MODE_ORDER else len(MODE_ORDER), mode)


class Results:
    def __init__(self, path):
        self.rows = {}
        self.kernels = []
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                key = (r["kernel"], r["transport"], r["ring"], r["mode"], int(r["size"]))
                self.rows[key] = r
                if r["kernel"] not in self.kernels:
                    self.kernels.append(r["kernel"])

    def get(self, kernel, transport, ring, mode, size):
        return self.rows.get((kernel, transport, ring, mode, size))

    def val(self, kernel, transport, ring, mode, size, metric="req_s"):
        r = self.get(kernel, transport, ring, mode, size)
        if not r or r["status"] != "ok":
            return None
        return num(r.get(metric))

    def spread(self, kernel, transport, ring, mode, size, metric="req_s"):
        r = self.get(kernel, transport, ring, mode, size)
        if not r or r["status"] != "ok":
            return None
        return num(r.get(metric + "_min")), num(r.get(metric + "_max"))

    def modes(self, kernel=None):
        ms = {k[3] for k in self.rows if kernel is None or k[0] == kernel}
        return sorted(ms, key=mode_sort_key)

    def sizes(self, transport):
        return sorted({k[4] for k in self.rows if k[1] == transport})


def mode_ring(mode):
    """the ring of a mode's rows: none for MSG_ZEROCOPY, else DEFER_TASKRUN"""
    return "none" if mode.startswith("msg_zerocopy") else "defer"


def zc_ring(ring):
    return "defer" if ring == "none" else ring


def status_cell(res, kernel, transport, ring, mode, size):
    r = res.get(kernel, transport, ring, mode, size)
    if not r:
        return "–"
    if r["status"] == "unsupported":
        return "unsupported"
    if r["status"] != "ok":
        return "error (%s)" % (r.get("note") or "?")
    return None


def table(res, zcg, base, transport, out):
    out.append("")
    out.append("### %s" % TRANSPORT_TITLES.get(transport, transport))
    out.append("")
    out.append("| mode | ring | size | req/s (min..max) | vs zc | unpatched req/s | "
               "vs unpatched | MB/s | CQE/send | enter/send | wake-ups/send | CPU µs/MB sender / all |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rings = ["defer", "none", "default"]
    for mode in res.modes():
        for ring in rings:
            for size in res.sizes(transport):
                if not res.get(zcg, transport, ring, mode, size) and \
                   not (base and res.get(base, transport, ring, mode, size)):
                    continue
                v = res.val(zcg, transport, ring, mode, size)
                sp = res.spread(zcg, transport, ring, mode, size)
                cell = status_cell(res, zcg, transport, ring, mode, size)
                if cell is None:
                    cell = "%s (%s..%s)" % (fmt(v), fmt(sp[0]), fmt(sp[1]))
                zc = res.val(zcg, transport, zc_ring(ring), "zc", size)
                b = res.val(base, transport, ring, mode, size) if base else None
                bcell = status_cell(res, base, transport, ring, mode, size) if base else "–"
                if bcell is None:
                    bcell = fmt(b)

                def m(metric, digits=None):
                    return fmt(res.val(zcg, transport, ring, mode, size, metric), digits)
                out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    mode, ring, kib(size), cell, fmt_ratio(ratio(v, zc)), bcell,
                    fmt_ratio(ratio(v, b)), m("mb_s"), m("cqe_per_send", 3),
                    m("enter_per_send", 3), m("nvcsw_per_send", 4),
                    m("cpu_us_per_mb") + " / " + m("all_cpu_us_per_mb")))


def overlap(res, k1, k2, transport, ring1, mode1, ring2, mode2, size):
    """True if the min..max ranges of two rows overlap (the difference is
    within the run-to-run spread)."""
    a = res.spread(k1, transport, ring1, mode1, size)
    b = res.spread(k2, transport, ring2, mode2, size)
    if not a or not b or None in a or None in b:
        return False
    return a[0] <= b[1] and b[0] <= a[1]


def targets(res, zcg, base, out):
    """The targets of issue 11, met or missed, with the numbers."""
    out.append("")
    out.append("## Targets (issue 11)")
    out.append("")
    out.append("Ratios of medians from this one run; \"(overlap)\" marks a comparison "
               "whose min..max ranges overlap, i.e. within the run-to-run spread.")

    def verdict(ok, known=True):
        if not known:
            return "**not measured**"
        return "**met**" if ok else "**missed**"

    def present(ts):
        return [t for t in ts if any(k[1] == t for k in res.rows)]

    def zc_ratio_target(n, transport, lo, hi, want, what):
        items, allok, known = [], True, False
        for mode in SKIP_GROUPS:
            for s in res.sizes(transport):
                if s < lo or s > hi:
                    continue
                r = ratio(res.val(zcg, transport, "defer", mode, s),
                          res.val(zcg, transport, "defer", "zc", s))
                if r is None:
                    continue
                if mode == "group32_skip":
                    known = True
                    allok &= r >= want
                items.append("%s %s %.3f×" % (mode, kib(s), r))
        g32 = ["%s %s" % (kib(s), fmt_ratio(ratio(res.val(zcg, transport, "defer", "group32_skip", s),
                                                   res.val(zcg, transport, "defer", "zc", s))))
               for s in res.sizes(transport) if lo <= s <= hi]
        out.append("%d. %s: groups of 32 + CQE_SKIP ≥ %.2f× default SEND_ZC: %s (%s); all: %s." % (
            n, what, want, verdict(allok, known), ", ".join(g32) or "no rows",
            ", ".join(items) or "no rows"))

    out.append("")
    zc_ratio_target(1, "udp-dummy", 600, 4096, 1.10,
                    "Requests/s at 600 B–4 KiB, udp-dummy, DEFER_TASKRUN")
    zc_ratio_target(2, "wire-tcp", 1024, 4096, 1.15,
                    "Requests/s at 1–4 KiB, wire TCP, DEFER_TASKRUN")

    # 3. no mode of ours below default SEND_ZC at any size
    below, n, clear = [], 0, 0
    for t in present(TRANSPORTS):
        for mode in OUR_MODES:
            for s in res.sizes(t):
                r = ratio(res.val(zcg, t, "defer", mode, s), res.val(zcg, t, "defer", "zc", s))
                if r is None:
                    continue
                n += 1
                if r < 1.0:
                    ov = overlap(res, zcg, zcg, t, "defer", mode, "defer", "zc", s)
                    clear += not ov
                    if not ov:
                        below.append("%s %s %s %.3f×" % (t, mode, kib(s), r))
    out.append("3. No zcg mode below default SEND_ZC at any size, every transport: %s — "
               "%d of %d comparisons below outside the spread%s" % (
                   verdict(not clear, n > 0), clear, n,
                   (": " + ", ".join(below) + ".") if below else "."))

    # 4. zc on zcg within 1% of unpatched
    items, worst, n, clear = [], None, 0, 0
    if base:
        for t in present(TRANSPORTS):
            for ring in ("defer", "default"):
                for s in res.sizes(t):
                    r = ratio(res.val(zcg, t, ring, "zc", s), res.val(base, t, ring, "zc", s))
                    if r is None:
                        continue
                    n += 1
                    ov = overlap(res, zcg, base, t, ring, "zc", ring, "zc", s)
                    clear += r < 0.99 and not ov
                    items.append("%s%s %s %.3f×%s" % (t, "" if ring == "defer" else " (default ring)",
                                                     kib(s), r, " (overlap)" if ov else ""))
                    worst = r if worst is None else min(worst, r)
    out.append("4. Ungrouped SEND_ZC on the zcg kernel within 1%% of the unpatched kernel, "
               "every transport (a ratio below 0.99 whose min..max ranges overlap counts "
               "as within): %s — lowest ratio %s, %d below 0.99 outside the spread; %s." % (
                   verdict(not clear, worst is not None),
                   fmt(worst, 3), clear, ", ".join(items) or "no unpatched rows"))

    # 5. groups + skip ahead of msg_zerocopy at every size, copy-free transports
    lines, allok, known = [], True, False
    for mode in SKIP_GROUPS:
        rs = []
        for t in present(COPY_FREE):
            for s in res.sizes(t):
                r = ratio(res.val(zcg, t, "defer", mode, s), res.val(zcg, t, "none", "msg_zerocopy", s))
                if r is None:
                    continue
                rs.append("%s %s %.2f×" % (t, kib(s), r))
                if mode == "group32_skip":
                    known = True
                    allok &= r > 1.0
        if rs:
            lines.append("%s: %s" % (mode, ", ".join(rs)))
    out.append("5. Groups + CQE_SKIP ahead of MSG_ZEROCOPY in requests/s at every size, "
               "udp-dummy and wire: %s for groups of 32 — %s." % (
                   verdict(allok, known), "; ".join(lines) or "no rows"))

    # 6. CQEs per send, group32_skip; wake-ups per send
    vals, wk = [], []
    for t in present(TRANSPORTS):
        for s in res.sizes(t):
            v = res.val(zcg, t, "defer", "group32_skip", s, "cqe_per_send")
            if v is not None:
                vals.append((t, s, v))
            z = res.val(zcg, t, "defer", "zc", s, "nvcsw_per_send")
            g = res.val(zcg, t, "defer", "group32_skip", s, "nvcsw_per_send")
            if t in COPY_FREE and z is not None and g is not None:
                wk.append("%s %s %.4f / %.4f" % (t, kib(s), z, g))
    worst = max((v for _, _, v in vals), default=None)
    out.append("6. CQEs per send, groups of 32 + CQE_SKIP ≤ 0.032, every transport: %s — "
               "worst %s (%s). Sender wake-ups per send, default SEND_ZC / groups of 32 + "
               "CQE_SKIP: %s." % (
                   verdict(worst is not None and worst <= 0.032, worst is not None),
                   fmt(worst, 4),
                   ", ".join("%s %s %.4f" % (t, kib(s), v) for t, s, v in vals) or "no rows",
                   ", ".join(wk) or "no rows"))

    # the copy checks of the copy-free rows
    bad = []
    for k, r in res.rows.items():
        if k[1] in COPY_FREE and r["status"] == "error":
            bad.append("%s %s %s %s %s: %s" % (k[0], k[1], k[2], k[3], kib(k[4]), r["note"]))
    nrows = sum(1 for k in res.rows if k[1] in COPY_FREE)
    out.append("")
    out.append("Copy checks of the copy-free rows (no notification of the check pass reports "
               "ZC_COPIED; the device's TX counter covers the payload): %s — %d of %d rows "
               "failed%s" % (verdict(not bad, nrows > 0), len(bad), nrows,
                             (": " + "; ".join(bad[:20]) + ".") if bad else "."))


def against_base(res, zcg, prev, out):
    """Every row of ours against the same row on the kernel built with an
    earlier series (bench/run.sh ZCG_BENCH_BASE): issue 10 asks that no mode
    be slower than before its fixes."""
    if not prev:
        return
    out.append("")
    out.append("## Against the earlier series (`%s`)" % prev)
    out.append("")
    out.append("Requests/s of every row on the zcg kernel relative to the same row on "
               "the kernel built with the earlier patch series (median of the rounds; "
               "\"(overlap)\" where the min..max ranges overlap).")
    out.append("")
    below, n = [], 0
    for t in TRANSPORTS:
        sizes = res.sizes(t)
        if not sizes or not any(res.get(prev, t, mode_ring(m), m, x)
                                for m in res.modes(prev) for x in sizes):
            continue
        out.append("| %s | " % t + " | ".join(kib(x) for x in sizes) + " |")
        out.append("|---|" + "---:|" * len(sizes))
        for mode in res.modes(zcg):
            ring = mode_ring(mode)
            cells = []
            for size in sizes:
                v = res.val(zcg, t, ring, mode, size)
                b = res.val(prev, t, ring, mode, size)
                r = ratio(v, b)
                if r is None:
                    cells.append(status_cell(res, prev, t, ring, mode, size) or
                                 status_cell(res, zcg, t, ring, mode, size) or "–")
                    continue
                n += 1
                ov = overlap(res, zcg, prev, t, ring, mode, ring, mode, size)
                if r < 1.0 and not ov:
                    below.append("%s %s %s %.3f×" % (t, mode, kib(size), r))
                cells.append("%.3f×%s" % (r, " (overlap)" if ov else ""))
            out.append("| %s | %s |" % (mode, " | ".join(cells)))
        out.append("")
    out.append("No mode slower than with the earlier series (outside the spread): %s — "
               "%d of %d comparisons below%s" % (
                   "**met**" if not below and n else ("**not measured**" if not n else "**missed**"),
                   len(below), n, (": " + ", ".join(below) + ".") if below else "."))


def crosscheck(path, res, out):
    if not os.path.exists(path):
        return
    with open(path, newline="") as f:
        xrows = list(csv.DictReader(f))
    if not xrows:
        return
    out.append("")
    out.append("## Cross-check: liburing's examples/send-zerocopy (same guest)")
    out.append("")
    out.append("Loopback TCP, DEFER_TASKRUN, 32 requests per submission, registered buffer "
               "for zc; send-zerocopy waits for every result CQE of a batch before the next "
               "and reuses one buffer, and its receiver discards with MSG_TRUNC like "
               "zcg-bench's. The zc/copy ratios should agree; under -icount the absolute "
               "figures should too.")
    out.append("")
    out.append("| kernel | size | send-zerocopy copy req/s | send-zerocopy zc req/s | zc/copy | "
               "zcg-bench copy req/s | zcg-bench zc req/s | zc/copy |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    x = {(r["kernel"], r["mode"], int(r["size"])): num(r["req_s"]) for r in xrows
         if r.get("status") == "ok"}
    kernels = []
    for r in xrows:
        if r["kernel"] not in kernels:
            kernels.append(r["kernel"])
    for k in kernels:
        for s in SIZES:
            xc, xz = x.get((k, "copy", s)), x.get((k, "zc", s))
            bc, bz = res.val(k, "tcp", "defer", "copy", s), res.val(k, "tcp", "defer", "zc", s)
            out.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                k, kib(s), fmt(xc), fmt(xz), fmt_ratio(ratio(xz, xc)),
                fmt(bc), fmt(bz), fmt_ratio(ratio(bz, bc))))


def run_info(path):
    """rounds, seconds per row and the longest drain from raw.csv"""
    if not os.path.exists(path):
        return None
    rounds, secs, drain = 0, [], 0.0
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            rounds = max(rounds, int(r["round"]))
            if r["status"] == "ok":
                s, d = num(r["secs"]), num(r["drain_secs"])
                secs.append(s - d)
                drain = max(drain, d)
    if not secs:
        return None
    secs.sort()
    return rounds, secs[len(secs) // 2], drain


def plots(res, zcg, base, outdir):
    gp = shutil.which("gnuplot")
    if not gp:
        print("report.py: gnuplot not found, no plots", file=sys.stderr)
        return []
    made = []
    dashed = []
    for mode in ("zc", "msg_zerocopy", "copy"):
        if base:
            dashed.append((base, mode, "%s (unpatched)" % mode))
    for t in TRANSPORTS:
        sizes = res.sizes(t)
        modes = [m for m in res.modes(zcg)
                 if any(res.val(zcg, t, mode_ring(m), m, s)
                        is not None for s in sizes)]
        if not modes:
            continue
        xtics = ", ".join("'%s' %g" % (ksize(x), x / 1024) for x in sizes)
        for metric, ylabel, logy, fname in (
                ("req_s", "requests/s", True, "req_s-%s.png" % t),
                ("cqe_per_send", "CQEs per send", True, "cqe_per_send-%s.png" % t),
                ("vs_zc", "requests/s relative to default SEND_ZC", False,
                 "req_s_vs_zc-%s.png" % t)):
            script = []
            script.append("set terminal pngcairo size 1100,700 font ',11' noenhanced")
            script.append("set output '%s'" % os.path.join(outdir, fname))
            script.append("set title '%s: %s vs message size (%s; TCG guest, ratios only)'" % (
                t, ylabel, zcg))
            script.append("set xlabel 'message size (KiB)'")
            script.append("set ylabel '%s'" % ylabel)
            script.append("set logscale x 2")
            script.append("set xtics (%s)" % xtics)
            script.append("set xrange [%g:%g]" % (sizes[0] / 1024 * 0.8, sizes[-1] / 1024 * 1.25))
            if logy:
                script.append("set logscale y 10")
            script.append("set grid")
            script.append("set key outside right top")
            series = []

            def value(k, ring, m, s):
                if metric != "vs_zc":
                    return res.val(k, t, ring, m, s, metric)
                return ratio(res.val(k, t, ring, m, s), res.val(zcg, t, "defer", "zc", s))
            for m in modes:
                ring = mode_ring(m)
                pts = [(s / 1024, value(zcg, ring, m, s)) for s in sizes]
                pts = [(a, b) for a, b in pts if b is not None and b > 0]
                if pts:
                    series.append((m, pts, "lines"))
            if metric in ("req_s", "vs_zc"):
                for k, m, title in dashed:
                    ring = mode_ring(m)
                    pts = [(s / 1024, value(k, ring, m, s)) for s in sizes]
                    pts = [(a, b) for a, b in pts if b is not None and b > 0]
                    if pts:
                        series.append((title, pts, "dashed"))
            if not series:
                continue
            plot = []
            for i, (title, pts, style) in enumerate(series):
                script.append("$d%d << EOD" % i)
                script.extend("%g %g" % p for p in pts)
                script.append("EOD")
                # a mode keeps its colour; the unpatched kernel's line is dashed
                mode = title.split(" ")[0]
                j = MODE_ORDER.index(mode) if mode in MODE_ORDER else i
                extra = " dt 2 pt 6" if style == "dashed" else " pt %d" % ((j % 12) + 1)
                plot.append("$d%d using 1:2 with linespoints lw 2 lc rgb '%s'%s title '%s'" % (
                    i, COLOURS[j % len(COLOURS)], extra, title))
            script.append("plot " + ", \\\n     ".join(plot))
            p = subprocess.run([gp], input="\n".join(script) + "\n", text=True,
                               capture_output=True)
            if p.returncode != 0:
                print("report.py: gnuplot failed for %s:\n%s" % (fname, p.stderr), file=sys.stderr)
                continue
            made.append(fname)
    return made


METRICS = ["req_s", "mb_s", "cqe_per_send", "enter_per_send", "syscalls_per_send",
           "nvcsw_per_send", "cpu_us_per_mb", "all_cpu_us_per_mb"]


def run_metrics(r):
    """zcg-bench's metrics of one run (a raw.csv line), None unless ok"""
    sends, secs, nbytes = num(r["sends"]), num(r["secs"]), num(r["bytes"])
    if r["status"] != "ok" or not sends or not secs:
        return None
    mb = nbytes / 1e6
    return {
        "req_s": sends / secs,
        "mb_s": mb / secs,
        "cqe_per_send": num(r["cqes"]) / sends,
        "enter_per_send": num(r["enters"]) / sends,
        "syscalls_per_send": num(r["syscalls"]) / sends,
        "nvcsw_per_send": num(r["nvcsw"]) / sends,
        "cpu_us_per_mb": num(r["cpu_us"]) / mb if mb else 0,
        "all_cpu_us_per_mb": (num(r.get("all_cpu_us")) or 0) / mb if mb else 0,
    }


def fmt_num(v):
    """the number format of zcg-bench's CSV"""
    if v == 0:
        return "0"
    if v >= 100:
        return "%.0f" % v
    if v >= 1:
        return "%.3f" % v
    return "%.5f" % v


def median(vals):
    v = sorted(vals)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def aggregate(d):
    groups = OrderedDict()
    with open(os.path.join(d, "raw.csv"), newline="") as f:
        for r in csv.DictReader(f):
            key = (r["kernel"], r["transport"], r["ring"], r["mode"], r["size"], r["msg_bytes"])
            groups.setdefault(key, []).append(r)
    header = ["kernel", "transport", "ring", "mode", "size", "msg_bytes", "fixed",
              "status", "rounds_ok"]
    for m in METRICS:
        header += [m, m + "_min", m + "_max"]
    header.append("note")
    with open(os.path.join(d, "results.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for key, runs in groups.items():
            ok = [(r, run_metrics(r)) for r in runs]
            ok = [(r, m) for r, m in ok if m]
            unsup = [r for r in runs if r["status"] == "unsupported"]
            others = [r for r in runs if r["status"] not in ("ok", "unsupported")]
            if unsup and not ok:
                status, note = "unsupported", unsup[0]["note"]
            elif len(ok) < len(runs):
                status = "error"
                note = (others[0]["note"] if others else "") or "no sends"
            else:
                status, note = "ok", ""
            fixed = max((int(r["fixed"]) for r, _ in ok), default=0)
            row = list(key) + [fixed, status, len(ok)]
            for m in METRICS:
                if ok:
                    vals = [x[m] for _, x in ok]
                    row += [fmt_num(median(vals)), fmt_num(min(vals)), fmt_num(max(vals))]
                else:
                    row += ["", "", ""]
            row.append(note)
            w.writerow(row)


def summary(res, zcg, base, out):
    """The README's tables: udp-dummy and wire TCP first (copy-free), then
    loopback TCP (copying); DEFER_TASKRUN, requests/s of every mode relative
    to default SEND_ZC, CQEs and sender wake-ups per send."""
    for t, what in (
            ("udp-dummy", "**udp-dummy** (copy-free; the skb is freed at transmit in the "
                          "sender's context: the CPU cost of each notification model)"),
            ("wire-tcp", "**wire TCP** (copy-free; two emulated NICs, the receiver in "
                         "another namespace: real zero-copy transmit, with its wake-ups)"),
            ("tcp", "**loopback TCP** (copying path: every zero-copy skb is copied at "
                    "delivery, so this measures zero copy traded for a kernel copy)")):
        sizes = res.sizes(t)
        if not sizes:
            continue
        mid = 4096 if 4096 in sizes else sizes[len(sizes) // 2]
        out.append("%s, DEFER_TASKRUN ring: requests/s relative to default SEND_ZC on the "
                   "same kernel (median of the rounds); last columns at %s: CQEs and "
                   "sender wake-ups per send." % (what, kib(mid)))
        out.append("")
        out.append("| mode | " + " | ".join(kib(x) for x in sizes) +
                   " | CQE/send | wake-ups/send |")
        out.append("|---|" + "---:|" * (len(sizes) + 2))
        for mode in res.modes(zcg):
            ring = mode_ring(mode)
            if not any(res.get(zcg, t, ring, mode, x) for x in sizes):
                continue
            cells = []
            for size in sizes:
                v = res.val(zcg, t, ring, mode, size)
                z = res.val(zcg, t, "defer", "zc", size)
                cells.append("%.3f×" % ratio(v, z) if v and z else
                             (status_cell(res, zcg, t, ring, mode, size) or "–"))
            cqe = res.val(zcg, t, ring, mode, mid, "cqe_per_send")
            wk = res.val(zcg, t, ring, mode, mid, "nvcsw_per_send")
            out.append("| %s | %s | %s | %s |" % (
                mode, " | ".join(cells), fmt(cqe, 4) if cqe is not None else "–",
                fmt(wk, 4) if wk is not None else "–"))
        if base:
            cells = []
            for size in sizes:
                v = res.val(zcg, t, "defer", "zc", size)
                b = res.val(base, t, "defer", "zc", size)
                cells.append("%.3f×" % ratio(v, b) if v and b else "–")
            out.append("| zc, zcg / unpatched kernel | %s | | |" % " | ".join(cells))
        out.append("")


def main():
    args = sys.argv[1:]
    do_aggregate = "--aggregate" in args
    args = [a for a in args if a != "--aggregate"]
    if not args:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    d = args[0]
    labels = dict(a.split("=", 1) for a in args[1:] if "=" in a)
    if do_aggregate:
        aggregate(d)
    res = Results(os.path.join(d, "results.csv"))
    zcg = labels.get("bench")
    base = labels.get("bench-unpatched")
    prev = labels.get("bench-base")
    if not prev:
        prev = next((k for k in res.kernels if k.endswith("-base")), None)
    if not zcg:
        zcg = next((k for k in res.kernels
                    if not k.endswith("-unpatched") and not k.endswith("-base")),
                   res.kernels[0])
    if not base:
        base = next((k for k in res.kernels if k.endswith("-unpatched")), None)

    out = []
    out.append("# zcg benchmark: what each zero-copy notification model costs")
    out.append("")
    out.append("Made by `make bench` (bench/run.sh, bench/zcg-bench.c, bench/report.py).")
    out.append("**The figures come from a QEMU TCG guest (no KVM): absolute numbers mean "
               "nothing, only ratios within one run do.**")
    settings = {}
    sp = os.path.join(d, "settings.txt")
    if os.path.exists(sp):
        with open(sp) as f:
            settings = dict(l.rstrip("\n").split(": ", 1) for l in f if ": " in l)
    if "-icount" in settings.get("qemu", ""):
        out.append("The guests ran with QEMU's `-icount`: their clock advances with the "
                   "instructions they execute, so the host's load does not change the "
                   "figures and rounds agree closely; what they weigh is instructions, "
                   "not cycles (no cache or memory effects).")
    out.append("")
    out.append("- zcg kernel: `%s`; unpatched baseline: `%s`" % (zcg, base or "none"))
    if prev:
        out.append("- earlier series: `%s`" % prev)
    for k in ("qemu", "wire", "tcp buffers", "guest command line", "base", "rounds",
              "one-CPU boots", "time", "host"):
        if k in settings:
            out.append("- %s: %s" % (k, settings[k]))
    info = run_info(os.path.join(d, "raw.csv"))
    if info:
        out.append("- %d interleaved rounds per row; median measured window %.2f s plus "
                   "the final drain (longest drain %.3f s); values are medians, "
                   "(min..max) the spread over the rounds" % info)
    out.append("- transports: udp-dummy, wire-tcp and wire-udp are copy-free (checked: every "
               "row starts with 32 sends, one at a time, with IORING_SEND_ZC_REPORT_USAGE, "
               "and fails if a notification reports ZC_COPIED, or if the device's TX "
               "counter grew by less than the payload); tcp, udp and veth are copying paths, where "
               "every zero-copy skb is copied when it is delivered to the local socket")
    out.append("- sender and receiver in separate processes pinned to CPUs 0 and 1 "
               "(the transports of the one-CPU boots, if any: the sender alone, on the "
               "guest's one CPU); the receiver discards the data (MSG_TRUNC); 256 buffers per sender "
               "(registered for the zero-copy modes), 32 SQEs per submission; a buffer "
               "is reused only after its notification (or its group's)")
    out.append("- rings: `defer` = DEFER_TASKRUN + SINGLE_ISSUER, `default` = no setup "
               "flags, `none` = plain syscalls (MSG_ZEROCOPY with error-queue "
               "notifications)")
    out.append("- vs zc: requests/s relative to default SEND_ZC (`zc`) on the same "
               "kernel, transport, ring and size; vs unpatched: the same row on the "
               "unpatched kernel; enter/send: io_uring_enter calls per send "
               "(for msg_zerocopy 0: see syscalls_per_send in results.csv); wake-ups/send: "
               "voluntary context switches of the sender per send; CPU µs/MB: "
               "user + system time of the sender / busy time of all CPUs of the guest "
               "(receiver, softirqs in ksoftirqd, everything) per MB; MB = 10^6 bytes")
    targets(res, zcg, base, out)
    against_base(res, zcg, prev, out)
    out.append("")
    out.append("## Results")
    for t in TRANSPORTS:
        if any(k[1] == t for k in res.rows):
            table(res, zcg, base, t, out)
    crosscheck(os.path.join(d, "crosscheck.csv"), res, out)
    made = plots(res, zcg, base, d)
    if made:
        out.append("")
        out.append("## Plots")
        out.append("")
        for f in made:
            out.append("![%s](%s)" % (f[:-4], f))
    out.append("")
    with open(os.path.join(d, "results.md"), "w") as f:
        f.write("\n".join(out))
    summ = []
    summary(res, zcg, base, summ)
    with open(os.path.join(d, "summary.md"), "w") as f:
        f.write("\n".join(summ) + "\n")
    print("report.py: wrote %s (%d plots)" % (os.path.join(d, "results.md"), len(made)))


if __name__ == "__main__":
    main()
