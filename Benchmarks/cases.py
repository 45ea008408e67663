"""The benchmark cases: for each, fastbackup and the anchors it is measured
against, how each is set up (untimed), the command that is timed, and the
correctness check that must pass before its time counts."""

import glob
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import inputs


# --------------------------------------------------------------------------
# Running one command and measuring it.

@dataclass
class Measured:
    """One run of a command: exit code, wall seconds, CPU seconds
    (user + sys of the command and every process it waited for), peak RSS in
    KiB of its largest process, and what it printed."""
    rc: int
    wall: float
    cpu: float
    rss_kib: int
    stdout: str
    stderr: str
    timed_out: bool = False


GNU_TIME = "/usr/bin/time"


def measure(cmd, timeout=None):
    """Runs `cmd` (an argv list, or a shell string run by bash with
    pipefail) and measures it. Wall time is taken here; CPU and peak RSS come
    from GNU time, which forks the command from its own small process: a
    child forked straight from Python would report Python's ~20 MiB as its
    peak RSS (Linux keeps the pre-exec high-water mark). Output goes to
    temporary files, not pipes, so a chatty command never blocks while timed.
    The command runs in its own process group; after `timeout` seconds the
    whole group is killed and the result says so (`timed_out`)."""
    argv = ["bash", "-o", "pipefail", "-c", cmd] if isinstance(cmd, str) else [str(c) for c in cmd]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(mode="r") as usage:
        full = [GNU_TIME, "-q", "-f", "%U %S %M", "-o", usage.name, *argv] if os.access(GNU_TIME, os.X_OK) else argv
        t0 = time.perf_counter()
        try:
            p = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True)
        except OSError as e:
            return Measured(127, 0.0, 0.0, 0, "", f"cannot start {full[0]}: {e}")
        fired = threading.Event()

        def kill_group():
            fired.set()
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        timer = threading.Timer(timeout, kill_group) if timeout else None
        if timer:
            timer.start()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        if timer:
            timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        cpu, rss = ru.ru_utime + ru.ru_stime, ru.ru_maxrss
        lines = usage.read().split("\n")
        fields = [ln.split() for ln in lines if ln.strip()]
        if full[0] == GNU_TIME and fields and len(fields[-1]) == 3:
            u, s_, m = fields[-1]
            cpu, rss = float(u) + float(s_), int(m)
        out.seek(0)
        err.seek(0)
        return Measured(p.returncode, wall, cpu, rss,
                        out.read().decode(errors="replace"), err.read().decode(errors="replace"), fired.is_set())


def process_cpu(pid):
    """CPU seconds (user + sys) a running process has used so far, from
    /proc/<pid>/stat; None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def sh(cmd):
    """Runs an untimed helper command (argv, or a bash line with pipefail),
    raising CalledProcessError on failure."""
    argv = ["bash", "-o", "pipefail", "-c", cmd] if isinstance(cmd, str) else [str(c) for c in cmd]
    return subprocess.run(argv, check=True, capture_output=True, text=True)


def q(p):
    """Quotes a path for a bash command line."""
    return "'" + str(p).replace("'", "'\\''") + "'"


def output_tail(m):
    """What a failed command said: its first line naming an error (a crash
    report ends in registers, not in the cause), else its last words."""
    text = m.stderr.strip() or m.stdout.strip()
    for line in text.splitlines():
        if re.search(r"error|fatal|abort|exception", line, re.I):
            return line.strip()[:400]
    return " ".join(text.split())[-400:]


def unavailable_or_crash(m, what):
    """The exception for a fastbackup command that exited non-zero: a plain
    error exit means the command is not there yet (SKIP); a hang past the
    time limit, or death by a signal (exit 128 + n, as GNU time and bash
    report it), is a FAIL."""
    said = output_tail(m)
    said = f": {said}" if said else ""
    if m.timed_out:
        return CheckFailed(f"{what} did not finish in {m.wall:.0f} s (killed){said}")
    if m.rc >= 128 or m.rc < 0:
        sig = m.rc - 128 if m.rc >= 128 else -m.rc
        return CheckFailed(f"{what} crashed (signal {sig}){said}")
    return Unavailable(f"not available: {what} exited {m.rc}{said}")


def tree_bytes(path):
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


class CheckFailed(Exception):
    """A run produced a wrong result; its time does not count."""


class Unavailable(Exception):
    """fastbackup exited non-zero: the command is not there yet (or not
    working here). Reported as SKIP, never as passed; --require-fastbackup
    makes it a failure."""


# --------------------------------------------------------------------------
# Shared state of one benchmark pass.

@dataclass
class Context:
    """What the cases share: the fastbackup binary (or why it is missing),
    the input trees, scratch folders, and the database when there is one."""
    binary: Path | None
    fb_missing: dict            # subcommand -> reason it is unavailable
    inputs: inputs.Inputs       # the input trees of this pass
    out_dir: Path               # anchor outputs
    restore_root: Path          # rollback target (a Magento root)
    cores: int
    db: dict | None = None      # socket, user, password, src, dst, tables, checksums
    db_missing: str = ""
    keep: dict = field(default_factory=dict)   # outputs kept for later cases
    s3: dict | None = None      # the object store of the offsite cases (offsite.prepare)
    s3_missing: str = ""
    timeout: float | None = None                # seconds one command may take

    def fastbackup(self, *args):
        return [str(self.binary), *[str(a) for a in args]]

    def tree(self, name):
        """The input tree `name` (a key of inputs.TREES)."""
        return self.inputs.trees[name]


def _archive_file_entries(path):
    """Counts the non-directory entries an archive lists (`tar -tvf`, which
    detects gzip or zstd itself). The type letter of the verbose listing
    decides: a stored directory name need not end in '/'."""
    # pigz inflates about twice as fast as gzip: the check is not timed, but
    # it runs after every run of a GB archive.
    fast = ["-I", "pigz"] if str(path).endswith(".tgz") and shutil.which("pigz") else []
    r = subprocess.run(["tar", *fast, "-tvf", str(path)], capture_output=True, text=True)
    if r.returncode != 0:
        raise CheckFailed(f"tar -tvf {path} failed: {r.stderr.strip()[-300:]}")
    # fastbackup's code archives start with a small record of the backup itself
    # (var/.fastbackup/backup.json), and its tree archives end with the tree record
    # (var/.fastbackup/record.txt); neither is part of the tree.
    return sum(1 for line in r.stdout.splitlines()
               if line and line[0] != "d" and not line.endswith((" var/.fastbackup/backup.json", " var/.fastbackup/record.txt")))


def _check_archive(path, man):
    want, _, _ = inputs.count_entries(man)
    got = _archive_file_entries(path)
    if got != want:
        raise CheckFailed(f"{path.name} lists {got} files, the input tree has {want}")


def _fastbackup_output(m, root, kind, suffix):
    """Finds the file a fastbackup backup wrote: the path it printed
    ("Media backup path: ..."), else the newest *suffix in root/var/backups."""
    for line in m.stdout.splitlines():
        hit = re.match(rf"\s*{kind}\s+backup path:\s*(\S.*?)\s*$", line, re.I)
        if hit and Path(hit.group(1)).exists():
            return Path(hit.group(1))
    found = sorted(glob.glob(str(root / "var" / "backups" / f"*{suffix}")), key=os.path.getmtime)
    if not found:
        raise CheckFailed(f"printed no '{kind} backup path:' and wrote no *{suffix} in {root}/var/backups")
    return Path(found[-1])


def _link_or_copy(src, dest):
    """Puts an archive where a rollback reads it: a hard link when the file
    system allows (an archive can be GBs), else a copy."""
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)


def _empty_backups(root):
    d = root / "var" / "backups"
    if d.exists():
        sh(["rm", "-rf", str(d)])
    d.mkdir(parents=True)


# --------------------------------------------------------------------------
# Tools and cases.

@dataclass
class Tool:
    """One contender in a case. `setup(ctx)` runs untimed before every run;
    `cmd(ctx)` is timed; `verify(ctx, measured)` raises CheckFailed on a
    wrong result and returns the output size in bytes."""
    name: str
    needs: tuple                # executables that must be on PATH
    setup: object
    cmd: object
    verify: object
    fastbackup: bool = False
    subcommands: tuple = ()     # for fastbackup: the subcommands it needs
    floor: bool = False         # a read floor: no output, nothing to check

    def missing(self, ctx):
        """Why this tool cannot run here, or '' when it can."""
        if self.fastbackup:
            if ctx.binary is None:
                return ctx.fb_missing.get("", "fastbackup binary not available")
            for sub in self.subcommands:
                if sub in ctx.fb_missing:
                    return ctx.fb_missing[sub]
        for exe in self.needs:
            if shutil.which(exe) is None:
                return f"{exe} not installed"
        return ""


@dataclass
class Case:
    """A benchmark case: its tools (fastbackup first, then its anchors, then
    any read floors), the bytes it moves (for throughput), the issue's speed
    target as (anchor, minimum speedup of fastbackup over it), its size
    target as (anchor, largest output of fastbackup over the anchor's), its
    peak RSS limit for fastbackup in MiB, and the input tree it works on (a
    key of inputs.TREES; None for the DB)."""
    key: str
    title: str
    tools: list
    data_bytes: object          # function ctx -> bytes
    target: tuple | None = None
    needs_db: bool = False
    rss_limit_mib: int | None = None
    tree: str | None = None
    size_target: tuple | None = None
    needs_s3: bool = False
    # More (anchor, minimum speedup) pairs, beside `target`; a minimum under 1
    # bounds a slowdown (1 / 1.3: at most 1.3x the anchor's time).
    extra_targets: tuple = ()

    def missing(self, ctx):
        """Why the whole case cannot run here (no database, no object store,
        an input that could not be built), or ''."""
        if self.needs_db and ctx.db is None:
            return ctx.db_missing
        if self.needs_s3 and ctx.s3 is None:
            return ctx.s3_missing or "no object store"
        if self.tree and self.tree not in ctx.inputs.trees:
            return ctx.inputs.missing.get(self.tree, f"the {self.tree} input was not built")
        return ""


# ---- file backups (media, code, cache-media, vendor-code)

def _slug(name):
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def tar_input(ctx, tree):
    """tar's arguments for what a backup of the tree holds: its pub/media,
    or its root without what Magento's code backup leaves out."""
    t = ctx.tree(tree)
    if t.kind == "media":
        return f"-C {q(t.dir)} ."
    excl = " ".join(f"--exclude=./{e}" for e in inputs.CODE_EXCLUDES)
    return f"-C {q(t.root)} --anchored {excl} ."


def find_input(ctx, tree):
    """find's arguments listing the same files, NUL-separated."""
    t = ctx.tree(tree)
    prune = " ".join(f"-path {q(t.root / e)} -prune -o" for e in t.excludes)
    return f"{q(t.dir)} {prune} -type f -print0"


def pigz_backup(ctx, tree, out):
    return f"tar -cf - {tar_input(ctx, tree)} | pigz -6 > {q(out)}"


def _floors(tree):
    """The read floor of a backup: reading every file and writing nothing,
    once by one reader (tar) and once by eight (cat through xargs -P8). No
    archive, so no check; beside a backup they show how far it is from what
    the disk (or, warm, the page cache) allows."""
    def nothing(ctx, m):
        return 0
    return [
        Tool("floor: tar | cat", ("tar",), lambda ctx: None,
             lambda ctx: f"tar -cf - {tar_input(ctx, tree)} | cat > /dev/null", nothing, floor=True),
        Tool("floor: xargs -P8 cat", ("find", "xargs"), lambda ctx: None,
             lambda ctx: f"find {find_input(ctx, tree)} | xargs -0 -P8 -n 256 cat > /dev/null", nothing, floor=True),
    ]


def _backup_case(tree, speed, max_output=None):
    """A backup of one input tree (a key of inputs.TREES): fastbackup's
    setup:backup --media or --code beside tar -czf and tar | pigz -6, and
    the read floors. `speed`: the minimum speedup over tar | pigz -6;
    `max_output`: the largest archive, as a multiple of tar -czf's (gzip -6)."""
    kind = inputs.TREES[tree]
    media = kind == "media"

    def man(ctx):
        return ctx.tree(tree).manifest

    def out(ctx, tool):
        return ctx.out_dir / f"{tree}-backup-{_slug(tool)}.tgz"

    def fb_setup(ctx):
        _empty_backups(ctx.tree(tree).root)

    def fb_verify(ctx, m):
        path = _fastbackup_output(m, ctx.tree(tree).root, "Media" if media else "Code",
                                  f"_filesystem_{kind}.tgz")
        _check_archive(path, man(ctx))
        kept = ctx.out_dir / f"{tree}-fastbackup.tgz"
        os.replace(path, kept)
        ctx.keep[(tree, "fastbackup")] = kept
        return kept.stat().st_size

    def anchor(name, cmd):
        def setup(ctx):
            out(ctx, name).unlink(missing_ok=True)

        def verify(ctx, m):
            path = out(ctx, name)
            _check_archive(path, man(ctx))
            size = path.stat().st_size
            if "pigz" in name:
                ctx.keep[(tree, "anchor")] = path   # the anchors' rollback input
            else:
                path.unlink()   # a GB less on disk; nothing restores it
            return size
        return Tool(name, ("tar", "pigz") if "pigz" in name else ("tar",), setup,
                    lambda ctx: cmd(ctx, out(ctx, name)), verify)

    tools = [
        Tool("fastbackup", (), fb_setup,
             lambda ctx: ctx.fastbackup("setup:backup", f"--{kind}", "--root", ctx.tree(tree).root,
                                        "--no-maintenance"),
             fb_verify, fastbackup=True, subcommands=("setup:backup",)),
        anchor("tar -czf", lambda ctx, o: f"tar -czf {q(o)} {tar_input(ctx, tree)}"),
        anchor("tar | pigz -6", lambda ctx, o: pigz_backup(ctx, tree, o)),
        *_floors(tree),
    ]
    return Case(f"{tree}-backup", f"{tree} backup", tools,
                lambda ctx: inputs.count_entries(man(ctx))[2],
                target=("tar | pigz -6", speed), rss_limit_mib=256, tree=tree,
                size_target=("tar -czf", max_output) if max_output else None)


# ---- file rollbacks

def _rollback_case(tree, target):
    """A rollback of one input tree: fastbackup's setup:rollback -m or -c of
    the archive its backup wrote, beside tar -xzf and tar -I pigz -xf of the
    tar | pigz -6 archive. `target`: (anchor, minimum speedup) or None."""
    kind = inputs.TREES[tree]
    media = kind == "media"
    # Each tree's archive has its own name in the restore root's var/backups.
    stamp = 1700000000 + list(inputs.TREES).index(tree)

    def man(ctx):
        return ctx.tree(tree).manifest

    def empty_target(ctx):
        r = ctx.restore_root
        if media:
            sh(["rm", "-rf", str(r / "pub" / "media")])
            (r / "pub" / "media").mkdir(parents=True)
        else:
            # Everything a code rollback replaces; var/ (which holds the
            # archives) and pub/media stay, as on a live store.
            for child in list(r.iterdir()) if r.exists() else []:
                if child.name == "var":
                    continue
                if child.name == "pub":
                    for c in child.iterdir():
                        if c.name not in ("media", "static"):
                            sh(["rm", "-rf", str(c)])
                    continue
                sh(["rm", "-rf", str(child)])
        (r / "var" / "backups").mkdir(parents=True, exist_ok=True)

    def archive(ctx, who):
        """The archive this tool restores, made once (untimed) if the backup
        case did not leave one, and placed in the restore root's
        var/backups like a real store's."""
        dest = ctx.restore_root / "var" / "backups" / (
            f"{stamp}_filesystem_{kind}.tgz" if who == "fastbackup" else f"anchor_{tree}.tgz")
        if dest.exists():
            return dest
        src = ctx.keep.get((tree, who))
        if src is None or not src.exists():
            root = ctx.tree(tree).root
            if who == "fastbackup":
                _empty_backups(root)
                m = measure(ctx.fastbackup("setup:backup", f"--{kind}", "--root", root, "--no-maintenance"),
                            ctx.timeout)
                if m.rc != 0:
                    raise unavailable_or_crash(m, f"setup:backup --{kind}")
                src = _fastbackup_output(m, root, "Media" if media else "Code", f"_filesystem_{kind}.tgz")
            else:
                src = ctx.out_dir / f"{tree}-rollback-input.tgz"
                sh(pigz_backup(ctx, tree, src))
        dest.parent.mkdir(parents=True, exist_ok=True)
        _link_or_copy(src, dest)
        return dest

    def warm(path):
        # fastbackup writes archives past the page cache (O_DIRECT) and pigz through it; every
        # tool restores from a cached archive, as the harness's warm-cache rule says.
        with open(path, "rb") as f:
            while f.read(8 << 20):
                pass

    def target_dir(ctx):
        return ctx.restore_root / "pub" / "media" if media else ctx.restore_root

    def verify(ctx, m):
        got = inputs.manifest(target_dir(ctx), () if media else inputs.CODE_EXCLUDES)
        diff = inputs.manifest_diff(man(ctx), got)
        if diff:
            raise CheckFailed(f"restored tree differs from the input: {diff}")
        return inputs.count_entries(got)[2]

    def fb_setup(ctx):
        warm(archive(ctx, "fastbackup"))
        empty_target(ctx)

    def anchor_setup(ctx):
        warm(archive(ctx, "anchor"))
        empty_target(ctx)

    flag = "-m" if media else "-c"
    tools = [
        Tool("fastbackup", (), fb_setup,
             lambda ctx: ctx.fastbackup("setup:rollback", "-n", flag, archive(ctx, "fastbackup"),
                                        "--root", ctx.restore_root),
             verify, fastbackup=True, subcommands=("setup:backup", "setup:rollback")),
        Tool("tar -xzf", ("tar",), anchor_setup,
             lambda ctx: f"tar -xzf {q(archive(ctx, 'anchor'))} -C {q(target_dir(ctx))}", verify),
        Tool("tar -I pigz -xf", ("tar", "pigz"), anchor_setup,
             lambda ctx: f"tar -I pigz -xf {q(archive(ctx, 'anchor'))} -C {q(target_dir(ctx))}", verify),
    ]
    return Case(f"{tree}-rollback", f"{tree} rollback", tools,
                lambda ctx: inputs.count_entries(man(ctx))[2], target=target, tree=tree)


# ---- verify

def _placed_archive(ctx, tree):
    """fastbackup's archive of the tree in the restore root's var/backups (where the verify
    and partial-rollback commands find it by name): the backup case's, else one made now,
    untimed."""
    kind = inputs.TREES[tree]
    stamp = 1700000100 + list(inputs.TREES).index(tree)
    dest = ctx.restore_root / "var" / "backups" / f"{stamp}_filesystem_{kind}.tgz"
    if dest.exists():
        return dest
    src = ctx.keep.get((tree, "fastbackup"))
    if src is None or not Path(src).exists():
        root = ctx.tree(tree).root
        _empty_backups(root)
        m = measure(ctx.fastbackup("setup:backup", f"--{kind}", "--root", root, "--no-maintenance"), ctx.timeout)
        if m.rc != 0:
            raise unavailable_or_crash(m, f"setup:backup --{kind}")
        src = _fastbackup_output(m, root, "Media" if kind == "media" else "Code", f"_filesystem_{kind}.tgz")
    dest.parent.mkdir(parents=True, exist_ok=True)
    _link_or_copy(src, dest)
    return dest


def _verify_case(tree, speed):
    """info:backups:verify of the tree's archive beside `pigz -t` of the same file and the
    read floor `cat FILE > /dev/null`: the same bytes read, checked or not."""
    def archive(ctx):
        return _placed_archive(ctx, tree)

    def fb_verify(ctx, m):
        if f"{archive(ctx).name}: OK (" not in m.stdout:
            raise CheckFailed(f"verify did not say OK: {output_tail(m)}")
        return archive(ctx).stat().st_size

    def warm(ctx):
        with open(archive(ctx), "rb") as f:
            while f.read(8 << 20):
                pass

    tools = [
        Tool("fastbackup", (), warm,
             lambda ctx: ctx.fastbackup("info:backups:verify", archive(ctx).name, "--root", ctx.restore_root),
             fb_verify, fastbackup=True, subcommands=("setup:backup", "info:backups:verify")),
        Tool("pigz -t", ("pigz",), warm, lambda ctx: ["pigz", "-t", archive(ctx)],
             lambda ctx, m: archive(ctx).stat().st_size),
        Tool("floor: cat", ("cat",), warm, lambda ctx: f"cat {q(archive(ctx))} > /dev/null",
             lambda ctx, m: 0, floor=True),
    ]
    return Case(f"{tree}-verify", f"{tree} verify", tools,
                lambda ctx: archive(ctx).stat().st_size, target=("pigz -t", speed), tree=tree,
                extra_targets=(("floor: cat", 1 / 1.5),))


def check_creates(ctx, sql_command, what):
    """The dump that `sql_command` prints creates every table of the source database."""
    r = subprocess.run(["bash", "-o", "pipefail", "-c", f"{sql_command} | grep -c '^CREATE TABLE'"],
                       capture_output=True, text=True)
    n, want = int(r.stdout.strip() or 0), len(ctx.db["tables"])
    if n != want:
        raise CheckFailed(f"{what} creates {n} tables, the database has {want}")


# ---- partial rollback

def _partial_case(tree):
    """One file back from the tree's archive: setup:rollback --only FILE --to DIR (fastbackup's
    index: only the members around the file are read) beside tar extracting the same one
    member from the same archive (which reads the archive up to it, or all of it)."""
    kind = inputs.TREES[tree]

    def archive(ctx):
        return _placed_archive(ctx, tree)

    def wanted(ctx):
        """A file about two thirds into the archive's order."""
        files = sorted(p for p, v in ctx.tree(tree).manifest.items() if v[0] == "f")
        return ("pub/media/" if kind == "media" else "") + files[len(files) * 2 // 3]

    def out(ctx):
        return ctx.out_dir / "partial"

    def setup(ctx):
        archive(ctx)
        sh(["rm", "-rf", str(out(ctx))])
        out(ctx).mkdir(parents=True)

    def verify(ctx, m):
        got, src = out(ctx) / wanted(ctx), ctx.tree(tree).root / wanted(ctx)
        if not got.is_file() or got.read_bytes() != src.read_bytes():
            raise CheckFailed(f"{wanted(ctx)} did not come back whole")
        found = [p for p in out(ctx).rglob("*") if p.is_file()]
        if len(found) != 1:
            raise CheckFailed(f"{len(found)} files written, not 1")
        return got.stat().st_size

    tools = [
        Tool("fastbackup", (), setup,
             lambda ctx: ctx.fastbackup("setup:rollback", "-m", archive(ctx).name, "--only", wanted(ctx),
                                        "--to", out(ctx), "--force", "--root", ctx.restore_root),
             verify, fastbackup=True, subcommands=("setup:backup", "setup:rollback")),
        Tool("tar -I pigz -xf ARCHIVE FILE", ("tar", "pigz"), setup,
             lambda ctx: f"tar -I pigz -xf {q(archive(ctx))} -C {q(out(ctx))} {q(wanted(ctx))}", verify),
    ]
    return Case(f"{tree}-partial-rollback", f"{tree} one file back", tools,
                lambda ctx: inputs.count_entries(ctx.tree(tree).manifest)[2], tree=tree)


# ---- database dump and restore

def mysql(ctx, sql, db=None):
    """Runs SQL on the benchmark server with the mariadb client; returns rows
    as lists of strings."""
    d = ctx.db
    argv = ["mariadb", "--no-defaults", "-S", d["socket"], "-u", d["user"], "-N", "-B", "-e", sql]
    if db:
        argv.append(db)
    r = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "MYSQL_PWD": d["password"]})
    if r.returncode != 0:
        raise CheckFailed(f"mariadb: {r.stderr.strip()[-300:]}")
    return [line.split("\t") for line in r.stdout.splitlines()]


def db_tables(ctx, db):
    return sorted(r[0] for r in mysql(ctx, "SELECT table_name FROM information_schema.tables "
                                           f"WHERE table_schema = '{db}' AND table_type = 'BASE TABLE'"))


def db_checksums(ctx, db):
    """Table -> CHECKSUM TABLE value (of every row's contents)."""
    tables = db_tables(ctx, db)
    if not tables:
        return {}
    rows = mysql(ctx, "CHECKSUM TABLE " + ", ".join(f"`{t}`" for t in tables), db)
    return {r[0].split(".", 1)[1]: r[1] for r in rows}


def _db_dump_case():
    def db_env(ctx):
        return {"MYSQL_PWD": ctx.db["password"]}

    def count_create(path):
        r = subprocess.run(["grep", "-c", "^CREATE TABLE", str(path)], capture_output=True, text=True)
        return int(r.stdout.strip() or 0)

    def check_sql(ctx, path):
        n, want = count_create(path), len(ctx.db["tables"])
        if n != want:
            raise CheckFailed(f"{path.name} creates {n} tables, the database has {want}")

    def fb_verify(ctx, m):
        path = _fastbackup_output(m, ctx.db["src_root"], "DB", "_db.sql")
        check_sql(ctx, path)
        kept = ctx.out_dir / "db-fastbackup.sql"
        os.replace(path, kept)
        ctx.keep[("db", "fastbackup")] = kept
        return kept.stat().st_size

    def dump_setup(ctx):
        (ctx.out_dir / "db-mariadb-dump.sql").unlink(missing_ok=True)

    def dump_verify(ctx, m):
        path = ctx.out_dir / "db-mariadb-dump.sql"
        check_sql(ctx, path)
        ctx.keep[("db", "mariadb-dump")] = path
        return path.stat().st_size

    def mydumper_dir(ctx):
        return ctx.out_dir / "db-mydumper"

    def mydumper_setup(ctx):
        sh(["rm", "-rf", str(mydumper_dir(ctx))])

    def mydumper_verify(ctx, m):
        d, db = mydumper_dir(ctx), ctx.db["src"]
        n = len(glob.glob(str(d / f"{db}.*-schema.sql")))
        if n != len(ctx.db["tables"]):
            raise CheckFailed(f"mydumper wrote {n} table schemas, the database has {len(ctx.db['tables'])}")
        ctx.keep[("db", "mydumper")] = d
        return tree_bytes(d)

    def dump_cmd(ctx):
        d = ctx.db
        return (f"MYSQL_PWD={q(d['password'])} mariadb-dump --no-defaults -S {q(d['socket'])} -u {q(d['user'])} "
                f"--single-transaction --quick {d['src']} > {q(ctx.out_dir / 'db-mariadb-dump.sql')}")

    def mydumper_cmd(ctx):
        d = ctx.db
        return ["mydumper", "-S", d["socket"], "-u", d["user"], "-p", d["password"], "-B", d["src"],
                "-t", str(ctx.cores), "-r", "100000", "-o", mydumper_dir(ctx)]

    tools = [
        Tool("fastbackup", (), lambda ctx: _empty_backups(ctx.db["src_root"]),
             lambda ctx: ctx.fastbackup("setup:backup", "--db", "--root", ctx.db["src_root"], "--no-maintenance"),
             fb_verify, fastbackup=True, subcommands=("setup:backup",)),
        Tool("mariadb-dump", ("mariadb-dump",), dump_setup, dump_cmd, dump_verify),
        Tool("mydumper", ("mydumper",), mydumper_setup, mydumper_cmd, mydumper_verify),
    ]
    return Case("db-dump", "DB dump", tools, lambda ctx: ctx.db["data_bytes"],
                target=("mariadb-dump", 1.5), needs_db=True, rss_limit_mib=64)


def _db_dump_compressed_case(codec):
    """setup:backup --db --compression CODEC beside mariadb-dump piped to pigz -6 (gzip) or
    zstd -T0 -3 (zstd): the same rows, compressed as they stream."""
    ext, tool, flags = {"gzip": ("sql.gz", "pigz", "-6"), "zstd": ("sql.zst", "zstd", "-T0 -3 -q")}[codec]
    out = lambda ctx: ctx.out_dir / f"db-anchor.{ext}"

    def check(ctx, path):
        check_creates(ctx, f"{tool} -dc {q(path)}", path.name)
        return path.stat().st_size

    def fb_verify(ctx, m):
        path = _fastbackup_output(m, ctx.db["src_root"], "DB", f"_db.{ext}")
        size = check(ctx, path)
        kept = ctx.out_dir / f"db-fastbackup.{ext}"
        os.replace(path, kept)
        ctx.keep[("db", f"fastbackup-{codec}")] = kept
        return size

    def dump_cmd(ctx):
        d = ctx.db
        return (f"MYSQL_PWD={q(d['password'])} mariadb-dump --no-defaults -S {q(d['socket'])} -u {q(d['user'])} "
                f"--single-transaction --quick {d['src']} | {tool} {flags} > {q(out(ctx))}")

    tools = [
        Tool("fastbackup", (), lambda ctx: _empty_backups(ctx.db["src_root"]),
             lambda ctx: ctx.fastbackup("setup:backup", "--db", "--compression", codec, "--root", ctx.db["src_root"],
                                        "--no-maintenance"),
             fb_verify, fastbackup=True, subcommands=("setup:backup",)),
        Tool(f"mariadb-dump | {tool} {flags.split(' -q')[0]}", ("mariadb-dump", tool), lambda ctx: out(ctx).unlink(missing_ok=True),
             dump_cmd, lambda ctx, m: check(ctx, out(ctx))),
    ]
    anchor = tools[1].name
    return Case(f"db-dump-{codec}", f"DB dump ({codec})", tools, lambda ctx: ctx.db["data_bytes"],
                target=(anchor, 1.5), needs_db=True, rss_limit_mib=64, size_target=(anchor, 1.03))


def _db_restore_gzip_case():
    """setup:rollback -d of the gzip-compressed dump beside the same command on the plain dump:
    inflating on the way in must cost little (at most 1.1x the plain restore's time)."""
    plain_case = _db_restore_case()
    plain = plain_case.tools[0]

    def gz_archive(ctx):
        dest = ctx.db["dst_root"] / "var" / "backups" / "1700000001_db.sql.gz"
        if not dest.exists():
            src = ctx.keep.get(("db", "fastbackup-gzip"))
            if src is None or not Path(src).exists():
                tool = _db_dump_compressed_case("gzip").tools[0]
                tool.setup(ctx)
                m = measure(tool.cmd(ctx), ctx.timeout)
                if m.rc != 0:
                    raise unavailable_or_crash(m, "setup:backup --db --compression gzip")
                tool.verify(ctx, m)
                src = ctx.keep[("db", "fastbackup-gzip")]
            dest.parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(src, dest)
        return dest

    def gz_setup(ctx):
        gz_archive(ctx)
        mysql(ctx, f"DROP DATABASE IF EXISTS `{ctx.db['dst']}`; CREATE DATABASE `{ctx.db['dst']}`")

    tools = [
        Tool("fastbackup", (), gz_setup,
             lambda ctx: ctx.fastbackup("setup:rollback", "-n", "-d", gz_archive(ctx), "--root", ctx.db["dst_root"]),
             plain.verify, fastbackup=True, subcommands=("setup:backup", "setup:rollback")),
        Tool("fastbackup, plain .sql", (), plain.setup, plain.cmd, plain.verify),
    ]
    return Case("db-restore-gzip", "DB restore (.sql.gz)", tools, lambda ctx: ctx.db["data_bytes"], needs_db=True,
                extra_targets=(("fastbackup, plain .sql", 1 / 1.1),))


def _db_restore_case():
    def fresh_db(ctx):
        dst = ctx.db["dst"]
        mysql(ctx, f"DROP DATABASE IF EXISTS `{dst}`; CREATE DATABASE `{dst}`")

    def verify(ctx, m):
        got = db_checksums(ctx, ctx.db["dst"])
        want = ctx.db["checksums"]
        if got != want:
            bad = sorted(t for t in set(want) | set(got) if want.get(t) != got.get(t))
            raise CheckFailed(f"restored database differs (CHECKSUM TABLE) in {len(bad)} tables, e.g. {bad[:3]}")
        return ctx.db["data_bytes"]

    def dump_of(ctx, who):
        """The dump this tool restores: the one the dump case left, else one
        made now, untimed, with the same tool."""
        path = ctx.keep.get(("db", who))
        if path is not None and Path(path).exists():
            return Path(path)
        case = _db_dump_case()
        tool = next(t for t in case.tools if t.name == who)
        tool.setup(ctx)
        m = measure(tool.cmd(ctx), ctx.timeout)
        if m.rc != 0:
            raise unavailable_or_crash(m, "setup:backup --db") if tool.fastbackup else \
                CheckFailed(f"making the {who} dump: exit {m.rc}: {output_tail(m)}")
        tool.verify(ctx, m)
        return Path(ctx.keep[("db", who)])

    def fb_archive(ctx):
        dest = ctx.db["dst_root"] / "var" / "backups" / "1700000000_db.sql"
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(dump_of(ctx, "fastbackup"), dest)
        return dest

    def fb_setup(ctx):
        fb_archive(ctx)
        fresh_db(ctx)

    def mariadb_setup(ctx):
        dump_of(ctx, "mariadb-dump")
        fresh_db(ctx)

    def myloader_setup(ctx):
        dump_of(ctx, "mydumper")
        fresh_db(ctx)

    def mariadb_cmd(ctx):
        d = ctx.db
        return (f"MYSQL_PWD={q(d['password'])} mariadb --no-defaults -S {q(d['socket'])} -u {q(d['user'])} "
                f"{d['dst']} < {q(dump_of(ctx, 'mariadb-dump'))}")

    def myloader_cmd(ctx):
        d = ctx.db
        return ["myloader", "-S", d["socket"], "-u", d["user"], "-p", d["password"], "-d", dump_of(ctx, "mydumper"),
                "-B", d["dst"], "-s", d["src"], "-t", str(ctx.cores), "-o"]

    tools = [
        Tool("fastbackup", (), fb_setup,
             lambda ctx: ctx.fastbackup("setup:rollback", "-n", "-d", fb_archive(ctx), "--root", ctx.db["dst_root"]),
             verify, fastbackup=True, subcommands=("setup:backup", "setup:rollback")),
        Tool("mariadb < dump.sql", ("mariadb", "mariadb-dump"), mariadb_setup, mariadb_cmd, verify),
        Tool("myloader", ("myloader", "mydumper"), myloader_setup, myloader_cmd, verify),
    ]
    return Case("db-restore", "DB restore", tools, lambda ctx: ctx.db["data_bytes"],
                target=("mariadb < dump.sql", 2.0), needs_db=True)


def all_cases():
    """Every case, in the order they run (each rollback after its backup, so
    it restores the archive the backup just verified), with the issues'
    targets for fastbackup: backup speed over tar | pigz -6 and archive size
    over tar -czf's (gzip -6); rollback speed over the anchor named. Every
    backup also has peak RSS <= 256 MiB, the DB dump <= 64 MiB."""
    return [_backup_case("media", speed=8.0), _backup_case("code", speed=2.5),
            _rollback_case("media", ("tar -I pigz -xf", 2.0)), _rollback_case("code", ("tar -xzf", 2.0)),
            _backup_case("cache-media", speed=6.0, max_output=1.01),
            _rollback_case("cache-media", ("tar -I pigz -xf", 2.0)),
            _backup_case("vendor-code", speed=1.6, max_output=1.03),
            _rollback_case("vendor-code", None),
            _verify_case("media", 2.0), _partial_case("media"), *incremental.incremental_cases(),
            _db_dump_case(), _db_restore_case(), _db_dump_compressed_case("gzip"), _db_dump_compressed_case("zstd"),
            _db_restore_gzip_case(), *offsite.offsite_cases()]


import incremental  # noqa: E402  (incremental and offsite build on the helpers above)
import offsite  # noqa: E402

CASE_KEYS = [c.key for c in all_cases()]
