#!/usr/bin/env python3
"""Measures fastbackup against the tools a Magento admin would otherwise use.

Run it through Benchmarks/run, which installs what is missing and starts a
private MariaDB server first. See Benchmarks/README.md.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import cases
import offsite
import inputs
import report
import restore_volume

DEFAULT_ROWS_AT_SCALE_1 = 3_000_000
QUICK_ROWS = 2_000


def log(msg=""):
    print(msg, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="tiny inputs, one run each, correctness only; exits 1 on any failure (for CI)")
    p.add_argument("--scale", type=float, default=1.0,
                   help="input size: 1 = ~1 GB media, 20,000 code files, ~70,000 cache-media files, "
                        "~44,000 vendor-code files, 3 M database rows (default 1)")
    p.add_argument("--scaling", action="store_true", help="run every case at --scale and at 4x --scale")
    p.add_argument("--runs", type=int, default=3, help="timed runs per tool, after one warm-up (default 3)")
    p.add_argument("--cases", default=",".join(cases.CASE_KEYS),
                   help=f"comma-separated subset of: {', '.join(cases.CASE_KEYS)}")
    p.add_argument("--db-rows", type=int,
                   help="rows to generate at --scale (default 3,000,000 x scale; --scaling multiplies it by 4 too)")
    p.add_argument("--binary", type=Path, help="a fastbackup binary to measure instead of building one")
    p.add_argument("--no-build", action="store_true", help="use the binary already built (swift build -c release)")
    p.add_argument("--timeout", type=float, default=600,
                   help="seconds one command may take at scale 1 before it is killed and counted as failed "
                        "(scaled with the inputs, at least a quarter of it; 120 at most with --quick; 0 = no limit; default 600)")
    p.add_argument("--cold", action="store_true",
                   help="drop the page cache (sync; echo 3 > /proc/sys/vm/drop_caches) before every timed run "
                        "of every tool, so files and archives are read from the disk (root)")
    p.add_argument("--require-fastbackup", action="store_true",
                   help="count a fastbackup case that cannot run as failed, not skipped")
    p.add_argument("--restore-fs", choices=("auto", "loop", "workdir"), default=None,
                   help="where rollbacks write: loop = a fresh ext4 with journal on a loop image (see "
                        "restore_volume.py), workdir = the work folder; auto (default) = loop when root can "
                        "make one; --quick uses workdir unless this is given")
    p.add_argument("--results", type=Path, default=inputs.BENCH_DIR / "results",
                   help="where the JSON, markdown and chart go (default Benchmarks/results)")
    args = p.parse_args(argv)
    wanted = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = set(wanted) - set(cases.CASE_KEYS)
    if unknown:
        p.error(f"unknown case(s): {', '.join(sorted(unknown))}")
    args.cases = wanted
    if args.runs < 1:
        p.error("--runs must be at least 1")
    if args.restore_fs is None:
        args.restore_fs = "workdir" if args.quick else "auto"
    if args.cold:
        why = drop_caches()
        if why:
            p.error(f"--cold drops the page cache before every run, and cannot here: {why}")
    return args


DROP_CACHES = "/proc/sys/vm/drop_caches"


def drop_caches():
    """sync, then drops the page cache, dentries and inodes (echo 3 >
    /proc/sys/vm/drop_caches). Returns '' or why it cannot."""
    if os.geteuid() != 0:
        return f"it needs root to write {DROP_CACHES}"
    os.sync()
    try:
        with open(DROP_CACHES, "w") as fh:
            fh.write("3\n")
    except OSError as e:
        return f"{DROP_CACHES} is not writable ({e.strerror}; a container may mount /proc/sys read-only)"
    return ""


# --------------------------------------------------------------------------
# The binary.

def build_binary(args):
    """Builds fastbackup (release; debug for --quick, which CI runs after its
    own debug build) and returns (path or None, {subcommand: why missing})."""
    if args.binary:
        path = args.binary.resolve()
    else:
        config = [] if args.quick else ["-c", "release"]
        os.chdir(inputs.REPO_ROOT)
        if shutil.which("swift") is None:
            return None, {"": "swift is not installed, so fastbackup cannot be built"}
        if not args.no_build:
            log(f"building fastbackup: swift build {' '.join(config)} --product fastbackup")
            inputs.WORK_DIR.mkdir(parents=True, exist_ok=True)
            build_log = inputs.WORK_DIR / "build.log"
            with open(build_log, "w") as fh:
                r = subprocess.run(["swift", "build", *config, "--product", "fastbackup"],
                                   stdout=fh, stderr=subprocess.STDOUT)
            if r.returncode != 0:
                tail = build_log.read_text(errors="replace").strip().splitlines()[-5:]
                log("\n".join("  " + t for t in tail))
                return None, {"": f"swift build failed (see {build_log})"}
        r = subprocess.run(["swift", "build", *config, "--show-bin-path"], capture_output=True, text=True)
        path = Path(r.stdout.strip()) / "fastbackup"
    if not os.access(path, os.X_OK):
        return None, {"": f"no fastbackup binary at {path}"}
    return path, probe_subcommands(path)


def probe_subcommands(binary):
    """Which of the subcommands the harness drives the binary offers,
    judged from its help (`--help`, then Magento's `list`). A subcommand it
    does not name is skipped as not available; one it names and then fails
    on counts as a failure."""
    text = ""
    for arg in ("--help", "list"):
        try:
            r = subprocess.run([str(binary), arg], capture_output=True, text=True, timeout=30)
            text += r.stdout + r.stderr
        except (OSError, subprocess.TimeoutExpired) as e:
            text += str(e)
    return {sub: f"not available: `fastbackup --help` does not offer {sub}"
            for sub in ("setup:backup", "setup:rollback") if sub not in text}


# --------------------------------------------------------------------------
# The database.

def setup_db(ctx, rows):
    """Fills the benchmark database through Benchmarks/db/generate.sh and
    records its tables and checksums; returns '' or why DB cases skip."""
    env = os.environ
    if not env.get("FASTBACKUP_TEST_MYSQL_SOCKET"):
        return "no MariaDB server: FASTBACKUP_TEST_MYSQL_SOCKET is unset (Benchmarks/run starts one)"
    gen = inputs.BENCH_DIR / "db" / "generate.sh"
    if not gen.exists():
        return "Benchmarks/db/generate.sh is not there, so there is no database to measure"
    ctx.db = {"socket": env["FASTBACKUP_TEST_MYSQL_SOCKET"], "user": env.get("FASTBACKUP_TEST_MYSQL_USER", "root"),
              "password": env.get("FASTBACKUP_TEST_MYSQL_PASSWORD", ""), "src": "fb_bench", "dst": "fb_restore",
              "rows": rows, "server_pid": env.get("FASTBACKUP_MARIADB_PID")}
    try:
        cases.mysql(ctx, "DROP DATABASE IF EXISTS fb_bench; CREATE DATABASE fb_bench")
        log(f"generating the database: {rows} rows")
        t0 = time.perf_counter()
        r = subprocess.run(["bash", str(gen), "--socket", ctx.db["socket"], "--user", ctx.db["user"],
                            "--password", ctx.db["password"], "--database", "fb_bench", "--rows", str(rows)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            ctx.db = None
            return f"Benchmarks/db/generate.sh failed (exit {r.returncode}): {(r.stderr or r.stdout).strip()[-300:]}"
        ctx.db["tables"] = cases.db_tables(ctx, "fb_bench")
        if not ctx.db["tables"]:
            ctx.db = None
            return "Benchmarks/db/generate.sh made no tables"
        ctx.db["checksums"] = cases.db_checksums(ctx, "fb_bench")
        # Fresh statistics: right after a bulk load InnoDB still reports the
        # size of the empty tables.
        cases.mysql(ctx, "ANALYZE TABLE " + ", ".join(f"`{t}`" for t in ctx.db["tables"]), "fb_bench")
        size = cases.mysql(ctx, "SELECT COALESCE(SUM(data_length), 0) FROM information_schema.tables "
                                "WHERE table_schema = 'fb_bench'")
        ctx.db["data_bytes"] = int(size[0][0])
        log(f"  {len(ctx.db['tables'])} tables, {ctx.db['data_bytes'] / 1e6:.0f} MB of table data, "
            f"{time.perf_counter() - t0:.0f} s")
    except cases.CheckFailed as e:
        ctx.db = None
        return f"database set-up failed: {e}"
    for key, dbname in (("src_root", "fb_bench"), ("dst_root", "fb_restore")):
        root = inputs.WORK_DIR / f"db-{key.split('_')[0]}-root"
        subprocess.run(["rm", "-rf", str(root)], check=True)
        inputs.write_env_php(root, ctx.db["socket"], ctx.db["user"], ctx.db["password"], dbname)
        ctx.db[key] = root
    return ""


# --------------------------------------------------------------------------
# Running the cases.

def run_case(case, ctx, args):
    """Runs one case: a warm-up round, then --runs rounds, each round running
    every tool once in turn (fastbackup, anchor, anchor, ...), so drift on a
    shared machine hits all tools alike. A run counts only after its check
    passes; a tool that fails once is dropped from the case."""
    result = {"key": case.key, "title": case.title, "target": case.target, "size_target": case.size_target,
              "extra_targets": [list(t) for t in case.extra_targets],
              "rss_limit_mib": case.rss_limit_mib, "tree": case.tree, "tools": []}
    state = {}
    case_missing = case.missing(ctx)
    for tool in case.tools:
        reason = case_missing or tool.missing(ctx)
        st = {"name": tool.name, "fastbackup": tool.fastbackup, "floor": tool.floor, "runs": []}
        st.update({"status": "skip", "reason": reason} if reason else {"status": "pass", "reason": ""})
        state[tool.name] = st
        result["tools"].append(st)
    result["data_bytes"] = case.data_bytes(ctx) if not case_missing else 0
    rounds = 1 if args.quick else 1 + args.runs
    for rnd in range(rounds):
        warm = rounds > 1 and rnd == 0
        for tool in case.tools:
            st = state[tool.name]
            if st["status"] != "pass":
                continue
            label = "warm-up" if warm else ("check" if args.quick else f"run {rnd}/{args.runs}")
            try:
                tool.setup(ctx)
                cmd = tool.cmd(ctx)
                if args.cold:
                    why = drop_caches()   # syncs first
                    if why:
                        raise cases.CheckFailed(f"--cold: {why}")
                elif not args.quick:
                    os.sync()  # the last run's dirty pages are not this run's cost
                server = ctx.db.get("server_pid") if case.needs_db else None
                server_cpu0 = cases.process_cpu(server) if server else None
                m = cases.measure(cmd, ctx.timeout)
                if server_cpu0 is not None:
                    # The server does most of a dump's or restore's work; its
                    # CPU belongs to the run (the server is otherwise idle).
                    m.cpu += (cases.process_cpu(server) or server_cpu0) - server_cpu0
                if m.timed_out and not tool.fastbackup:
                    raise cases.CheckFailed(f"did not finish in {m.wall:.0f} s (killed)")
                if m.rc != 0 and tool.fastbackup:
                    raise cases.unavailable_or_crash(m, " ".join(str(c) for c in cmd[1:3]))
                if m.rc != 0:
                    raise cases.CheckFailed(f"exit {m.rc}: {cases.output_tail(m)}")
                out_bytes = tool.verify(ctx, m)
            except cases.Unavailable as e:
                st.update(status="skip", reason=str(e), runs=[], tried=True)
                log(f"  {case.title:20} {tool.name:20} {label:9} SKIP  {e}")
                continue
            except (cases.CheckFailed, subprocess.CalledProcessError, OSError) as e:
                msg = str(e)
                if isinstance(e, subprocess.CalledProcessError):
                    msg = f"{e}: {(e.stderr or '').strip()[-300:]}"
                st["status"], st["reason"] = "fail", msg
                log(f"  {case.title:20} {tool.name:20} {label:9} FAIL  {msg}")
                continue
            if not warm:
                st["runs"].append({"wall": m.wall, "cpu": m.cpu, "rss_kib": m.rss_kib, "out_bytes": out_bytes})
            log(f"  {case.title:20} {tool.name:20} {label:9} ok    {m.wall:7.2f} s  cpu {m.cpu:7.2f} s  "
                f"rss {m.rss_kib / 1024:7.1f} MiB  out {out_bytes / 1e6:9.1f} MB")
    for st in result["tools"]:
        if st["status"] == "skip" and not st.get("tried"):
            log(f"  {case.title:20} {st['name']:20} SKIP      {st['reason']}")
    summarize(result)
    return result


def summarize(result):
    """Adds medians per tool and, per anchor (and read floor), the median of
    the run-by-run ratios anchor/fastbackup (pairs are runs of the same
    round); then whether fastbackup met the case's targets."""
    for st in result["tools"]:
        runs = st["runs"]
        if not runs:
            continue
        wall = statistics.median(r["wall"] for r in runs)
        st["median"] = {"wall": wall, "cpu": statistics.median(r["cpu"] for r in runs),
                        "rss_mib": statistics.median(r["rss_kib"] for r in runs) / 1024,
                        "peak_rss_mib": max(r["rss_kib"] for r in runs) / 1024,
                        "out_bytes": statistics.median(r["out_bytes"] for r in runs),
                        "mb_s": result["data_bytes"] / 1e6 / wall if wall > 0 else None}
    fb = next((t for t in result["tools"] if t["fastbackup"]), None)
    for st in result["tools"]:
        if st["fastbackup"] or not fb or not fb["runs"] or not st["runs"] or fb["status"] != "pass":
            continue
        pairs = list(zip(fb["runs"], st["runs"]))
        st["speedup"] = statistics.median(a["wall"] / f["wall"] for f, a in pairs if f["wall"] > 0)
        st["cpu_ratio"] = statistics.median(a["cpu"] / f["cpu"] for f, a in pairs if f["cpu"] > 0) \
            if all(f["cpu"] > 0 for f, _ in pairs) else None
    target = result["target"]
    if target and fb:
        anchor = next((t for t in result["tools"] if t["name"] == target[0]), None)
        result["target_met"] = None if not anchor or "speedup" not in anchor else anchor["speedup"] >= target[1]
    result["extra_met"] = {}
    for name, speed in result.get("extra_targets", []):
        anchor = next((t for t in result["tools"] if t["name"] == name), None)
        result["extra_met"][name] = None if not fb or not anchor or "speedup" not in anchor else anchor["speedup"] >= speed
    if result["rss_limit_mib"] and fb and fb.get("median"):
        result["rss_met"] = fb["median"]["peak_rss_mib"] <= result["rss_limit_mib"]
    size_target = result.get("size_target")
    if size_target and fb and fb.get("median") and fb["status"] == "pass":
        anchor = next((t for t in result["tools"] if t["name"] == size_target[0]), None)
        if anchor and anchor.get("median") and anchor["median"]["out_bytes"] > 0:
            result["size_ratio"] = fb["median"]["out_bytes"] / anchor["median"]["out_bytes"]
            result["size_met"] = result["size_ratio"] <= size_target[1]


def limit_for(args, scale):
    """Seconds one command may run: --timeout scaled with the inputs (a
    hung tool must not hang the benchmark, or CI)."""
    if not args.timeout:
        return None
    return min(args.timeout, 120) if args.quick else args.timeout * max(scale, 0.25)


def tree_sizes(src):
    """name -> {files, bytes, source, ...what its build reported} of the
    trees of a pass."""
    out = {}
    for name, t in src.trees.items():
        files, _, size = inputs.count_entries(t.manifest)
        info = {k: v for k, v in t.info.items() if k != "packages"}
        out[name] = {"files": files, "bytes": size, "source": t.source, **info}
        if "packages" in t.info:
            out[name]["packages"] = len(set(p.split()[0] for p in t.info["packages"]))
    return out


def run_pass(args, scale, binary, fb_missing):
    """Builds (or reuses) the inputs for `scale` and runs the chosen cases."""
    chosen = [c for c in cases.all_cases() if c.key in args.cases]
    src = inputs.prepare(scale, {c.tree for c in chosen if c.tree}, quick=args.quick, log=log)
    sizes = tree_sizes(src)
    log(f"inputs {src.tag}: " + (", ".join(f"{name} {s['files']} files {s['bytes'] / 1e6:.0f} MB ({s['source']})"
                                          for name, s in sizes.items()) or "no file trees"))
    # Room for a restored tree, its staged copy, the archives and a DB dump, sparse.
    need = 3 * sum(s["bytes"] for s in sizes.values()) + (4 << 30) * max(scale, 0.25)
    with restore_volume.restore_volume(args.restore_fs, inputs.WORK_DIR, int(need), log) as (volume, fs):
        result = _run_pass_in(args, scale, binary, fb_missing, src, volume)
    result["restore_fs"] = fs
    return result


def _run_pass_in(args, scale, binary, fb_missing, src, volume):
    sizes = tree_sizes(src)
    out_dir = inputs.WORK_DIR / f"out-{src.tag}"
    restore_root = volume / f"restore-{src.tag}"
    for d in (out_dir, restore_root):
        subprocess.run(["rm", "-rf", str(d)], check=True)
        d.mkdir(parents=True)
    (restore_root / "var" / "backups").mkdir(parents=True)
    # A store's env.php, in case fastbackup reads its config for a file rollback.
    (restore_root / "app" / "etc").mkdir(parents=True)
    shutil.copy2(src.env_php, restore_root / "app" / "etc" / "env.php")
    ctx = cases.Context(binary=binary, fb_missing=fb_missing, inputs=src, out_dir=out_dir,
                        restore_root=restore_root, cores=os.cpu_count() or 1,
                        timeout=limit_for(args, scale))
    chosen = [c for c in cases.all_cases() if c.key in args.cases]
    rows = 0
    if any(c.needs_db for c in chosen):
        base = args.db_rows or (QUICK_ROWS if args.quick else int(DEFAULT_ROWS_AT_SCALE_1 * args.scale))
        rows = int(base * scale / args.scale)
        ctx.db_missing = setup_db(ctx, rows)
        if ctx.db_missing:
            log(f"DB cases skip: {ctx.db_missing}")
    if any(c.needs_s3 for c in chosen):
        ctx.s3_missing = offsite.prepare(ctx)
        if ctx.s3_missing:
            ctx.s3 = None
            log(f"offsite cases skip: {ctx.s3_missing}")
    results = [run_case(c, ctx, args) for c in chosen]
    if ctx.db:
        cases.mysql(ctx, "DROP DATABASE IF EXISTS fb_restore")
    # Outputs and restored trees are only needed while their case runs; the
    # inputs stay cached.
    for d in (out_dir, restore_root):
        subprocess.run(["rm", "-rf", str(d)], check=True)
    media, code = sizes.get("media", {}), sizes.get("code", {})
    return {"scale": scale, "tag": src.tag, "cold": args.cold,
            "inputs": {"source": media.get("source", "none"),
                       "media_files": media.get("files", 0), "media_bytes": media.get("bytes", 0),
                       "code_files": code.get("files", 0), "code_bytes": code.get("bytes", 0),
                       "trees": sizes,
                       "db_rows": rows if ctx.db else 0, "db_bytes": ctx.db["data_bytes"] if ctx.db else 0,
                       "db_tables": len(ctx.db["tables"]) if ctx.db else 0},
            "cases": results}


def main(argv):
    args = parse_args(argv)
    started = time.time()
    binary, fb_missing = build_binary(args)
    if binary is None:
        log(f"fastbackup cases skip: {fb_missing['']}")
    elif fb_missing:
        log("fastbackup: " + "; ".join(fb_missing.values()))
    scales = [args.scale, 4 * args.scale] if args.scaling and not args.quick else [args.scale]
    passes = [run_pass(args, s, binary, fb_missing) for s in scales]

    outcomes = [(c["title"], t) for p in passes for c in p["cases"] for t in c["tools"]]
    failed = [(c, t) for c, t in outcomes if t["status"] == "fail"
              or (t["status"] == "skip" and t["fastbackup"] and args.require_fastbackup)]
    passed = [(c, t) for c, t in outcomes if t["status"] == "pass"]
    skipped = [(c, t) for c, t in outcomes if t["status"] == "skip" and (c, t) not in failed]
    if not args.quick:
        paths = report.write(args, passes, binary, fb_missing, time.time() - started)
        log("wrote " + ", ".join(str(p) for p in paths))
    for c, t in failed:
        log(f"FAIL {c} / {t['name']}: {t['reason']}")
    if skipped:
        log(f"{len(skipped)} skipped")
    log(f"{len(passed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
