"""Writes a benchmark's results: JSON (everything, per run), a markdown
table (Benchmarks/results/latest.md) and a throughput chart (SVG, by
gnuplot when it is installed)."""

import datetime
import json
import math
import os
import platform
import shutil
import socket
import subprocess
from pathlib import Path

import inputs


def _first_line(argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        lines = (r.stdout or r.stderr).strip().splitlines()
        return lines[0] if lines else ""
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine():
    """The machine the numbers belong to: CPU, cores, memory, the disk and
    file system under Benchmarks/work, kernel, and the tools' versions."""
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    disk = " ".join(_first_line(["findmnt", "-n", "-o", "SOURCE,FSTYPE,SIZE", "-T", str(inputs.WORK_DIR)]).split())
    tools = {name: _first_line(argv) for name, argv in {
        "tar": ["tar", "--version"], "pigz": ["pigz", "--version"], "gzip": ["gzip", "--version"],
        "mariadb": ["mariadb", "--version"], "mariadb-dump": ["mariadb-dump", "--version"],
        "mydumper": ["mydumper", "--version"], "myloader": ["myloader", "--version"],
        "swift": ["swift", "--version"]}.items() if shutil.which(argv[0])}
    return {"host": socket.gethostname(), "cpu": cpu, "cores": os.cpu_count(), "memory_bytes": mem,
            "disk": disk, "kernel": platform.release(), "python": platform.python_version(), "tools": tools}


def _commit(binary):
    """The commit the measured binary was built from: that of the git
    checkout holding its .build folder, when there is one."""
    if not binary:
        return "none"
    for parent in Path(binary).resolve().parents:
        if parent.name == ".build":
            found = _first_line(["git", "-C", str(parent.parent), "describe", "--always", "--dirty"])
            if found and "fatal" not in found and "not a git" not in found:
                return found
            break
    return "unknown (a binary from outside a git checkout)"


# --------------------------------------------------------------------------
# Markdown.

def _mb(n):
    return f"{n / 1e6:,.1f}"


def _md(text):
    """Escapes a table cell (tool names hold shell pipes)."""
    return str(text).replace("|", "\\|")


def _cell(x, fmt="{:.2f}"):
    return "-" if x is None else fmt.format(x)


def case_table(case):
    """The rows of one case: one per tool, anchors (and read floors) with
    their ratio to fastbackup, and the issue's targets marked met or
    missed."""
    rows = []
    target, size_target = case.get("target"), case.get("size_target")
    for t in case["tools"]:
        m = t.get("median")
        if t["status"] != "pass" or not m:
            word = "SKIP" if t["status"] == "skip" else "FAIL"
            rows.append(f"| {case['title']} | {_md(t['name'])} | {word}: {_md(t['reason'][:160])} | | | | | | |")
            continue
        speedup = _cell(t.get("speedup"), "{:.2f}x")
        if t.get("cpu_ratio") is not None:
            speedup += f" (CPU {t['cpu_ratio']:.2f}x)"
        goals = []
        if target and t["name"] == target[0]:
            met = case.get("target_met")
            goals.append(f"speedup >= {target[1]:g}x: " + ("met" if met else "missed" if met is False else "not measured"))
        for name, speed in case.get("extra_targets", []):
            if t["name"] == name:
                met = case.get("extra_met", {}).get(name)
                what = f"speedup >= {speed:g}x" if speed >= 1 else f"at most {1 / speed:.2g}x this one's time"
                goals.append(f"{what}: " + ("met" if met else "missed" if met is False else "not measured"))
        if size_target and t["name"] == size_target[0]:
            met = case.get("size_met")
            goals.append(f"fastbackup's output <= {size_target[1]:g}x this one's: "
                         + ("not measured" if met is None else ("met" if met else "missed")
                            + f" ({case['size_ratio']:.4f}x)"))
        if t.get("floor"):
            goals.append("read floor: reads the files, writes nothing")
        goal = "; ".join(goals)
        if t["fastbackup"] and case.get("rss_limit_mib"):
            goal = (f"peak RSS <= {case['rss_limit_mib']} MiB: " + ("met" if case.get("rss_met") else "missed")
                    + f" (highest run {m['peak_rss_mib']:.1f})")
        if t["fastbackup"]:
            speedup = "1 (reference)"
        out = "-" if t.get("floor") else _mb(m["out_bytes"])
        rows.append(f"| {case['title']} | {_md(t['name'])} | {m['wall']:.2f} | {m['cpu']:.2f} | {m['rss_mib']:.1f} "
                    f"| {out} | {_cell(m['mb_s'], '{:.0f}')} | {speedup} | {goal} |")
    return rows


def _tree_source(t):
    """Where a tree's content came from, with what its build reported."""
    more = []
    if t.get("originals"):
        more.append(f"{t['originals']} originals, {t['cache_folders']} cache folders")
    if t.get("packages"):
        more.append(f"{t['packages']} Debian packages, {t.get('php_files', 0):,} .php in vendor/")
    return ", ".join([t["source"], *more])


def markdown(data):
    mach = data["machine"]
    out = [f"# fastbackup benchmark, {data['date']}", "",
           f"Machine: {mach['host']}, {mach['cpu']}, {mach['cores']} cores, "
           f"{mach['memory_bytes'] / 2**30:.1f} GiB memory, disk {mach['disk']}, kernel {mach['kernel']}.  ",
           f"fastbackup: {data['fastbackup']['commit']} ({data['fastbackup']['binary'] or 'not built'}).  ",
           f"Each number is the median of {data['settings']['runs']} runs after a warm-up; the tools of a case "
           "ran in turn (fastbackup, anchor, anchor, ...) each round, "
           + ("with the page cache dropped before every run (--cold: files and archives read from the disk).  "
              if data["settings"].get("cold") else "with the page cache warm.  "),
           "Speedup = anchor wall time / fastbackup wall time, taken run by run (same round) and then the median: "
           "above 1 means fastbackup is faster. CPU = user + sys of every process of the command (for DB cases plus the MariaDB server's, when the harness started it); peak RSS is its "
           "largest process (peak RSS: median of the runs; the targets use the highest run). MB/s = input bytes (tree, or table data for the DB) / wall time. "
           "The read floors of a backup (`floor: ...`) only read its files (one reader, then eight) and write nothing: "
           "their speedup column is floor time / fastbackup time, 1 being a backup as fast as reading.", ""]
    for p in data["passes"]:
        i = p["inputs"]
        db = (f"database {i['db_rows']:,} rows requested, {i['db_tables']} tables, "
              f"{_mb(i['db_bytes'])} MB of table data" if i["db_tables"] else "no database")
        trees = i.get("trees") or {"media": {"files": i["media_files"], "bytes": i["media_bytes"], "source": i["source"]},
                                   "code": {"files": i["code_files"], "bytes": i["code_bytes"], "source": "generated"}}
        out += [f"## Scale {p['scale']:g} ({p['tag']})", "",
                "Inputs: " + "; ".join(f"{name} {t['files']:,} files, {_mb(t['bytes'])} MB ({_tree_source(t)})"
                                       for name, t in trees.items()) + f"; {db}.",
                f"Rollbacks wrote to {p.get('restore_fs', 'the work folder')}.",
                "",
                "| case | tool | wall s | CPU s | peak RSS MiB | output MB | MB/s | speedup of fastbackup | issue target |",
                "|---|---|---|---|---|---|---|---|---|"]
        for c in p["cases"]:
            out += case_table(c)
        out.append("")
    if len(data["passes"]) == 2:
        a, b = data["passes"]
        out += [f"## Scaling: {a['scale']:g}x to {b['scale']:g}x inputs", "",
                "| case | tool | wall s | wall s at 4x | growth | peak RSS MiB | peak RSS MiB at 4x | growth |",
                "|---|---|---|---|---|---|---|---|"]
        for ca, cb in zip(a["cases"], b["cases"]):
            for ta, tb in zip(ca["tools"], cb["tools"]):
                ma, mb = ta.get("median"), tb.get("median")
                if not ma or not mb:
                    continue
                out.append(f"| {ca['title']} | {_md(ta['name'])} | {ma['wall']:.2f} | {mb['wall']:.2f} | "
                           f"{mb['wall'] / ma['wall']:.2f}x | {ma['peak_rss_mib']:.1f} | {mb['peak_rss_mib']:.1f} | "
                           f"{mb['peak_rss_mib'] / ma['peak_rss_mib']:.2f}x |")
        out.append("")
    if data.get("chart"):
        out += [f"![throughput per case]({data['chart']})", ""]
    return "\n".join(out)


# --------------------------------------------------------------------------
# Chart.

def chart(data, svg):
    """Draws MB/s per case of the first pass, fastbackup beside its two
    anchors (the single-threaded one, then the parallel one), with gnuplot,
    as SVG or PNG by the file's suffix. Returns False when gnuplot is
    missing."""
    if shutil.which("gnuplot") is None:
        return False
    p = data["passes"][0]
    rows = []
    for c in p["cases"]:
        vals = [(t.get("median") or {}).get("mb_s") for t in c["tools"]]
        if not any(vals):
            continue
        label = c["title"].replace(" ", "\\n", 1)
        rows.append(f"\"{label}\" " + " ".join(f"{v:.3f}" if v else "NaN" for v in vals))
    if not rows:
        return False
    lowest = min(float(v) for r in rows for v in r.rsplit('" ', 1)[1].split() if v != "NaN")
    ymin = 10 ** math.floor(math.log10(lowest))
    dat = svg.with_suffix(".dat")
    dat.write_text("\n".join(rows) + "\n")
    script = f"""
set terminal {"svg size 900,480 dynamic font 'sans,11'" if svg.suffix == ".svg" else "png size 900,480"}
set output "{svg}"
set title "Throughput (MB/s, log scale; higher is better), scale {p['scale']:g}"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y
set yrange [{ymin:g}:*]
set grid ytics
set key below
set bmargin 7
set ylabel "MB/s"
plot "{dat}" using 2:xtic(1) title "fastbackup" lc rgb "#1b7837", \\
     "" using 3 title "anchor: tar -czf / tar -xzf / mariadb-dump / mariadb" lc rgb "#999999", \\
     "" using 4 title "anchor: pigz / tar -I pigz / mydumper / myloader" lc rgb "#5e3c99"
"""
    r = subprocess.run(["gnuplot"], input=script, capture_output=True, text=True)
    dat.unlink(missing_ok=True)
    return r.returncode == 0 and svg.exists()


def write(args, passes, binary, fb_missing, seconds):
    """Writes <date>-<host>.json, latest.md and the chart into
    args.results; returns the paths written."""
    now = datetime.datetime.now(datetime.timezone.utc)
    host = socket.gethostname()
    results = args.results
    results.mkdir(parents=True, exist_ok=True)
    stem = f"{now:%Y-%m-%d-%H%M}-{host}"
    data = {"date": now.strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
            "fastbackup": {"binary": str(binary) if binary else None, "commit": _commit(binary),
                           "not_available": fb_missing},
            "settings": {"runs": args.runs, "scales": [p["scale"] for p in passes], "cases": args.cases,
                         "cold": args.cold, "seconds": round(seconds)},
            "passes": passes}
    paths = []
    svg = results / f"{stem}.svg"
    if chart(data, svg):
        shutil.copyfile(svg, results / "latest.svg")
        data["chart"] = "latest.svg"
        paths.append(svg)
    js = results / f"{stem}.json"
    js.write_text(json.dumps(data, indent=1, default=str) + "\n")
    md = results / "latest.md"
    md.write_text(markdown(data) + "\n")
    return [js, md] + paths
