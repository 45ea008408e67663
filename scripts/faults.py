#!/usr/bin/env python3
"""Fault runs, counted: fastbackup killed at random moments and fed failing system calls,
with the store and the backups checked after every run.

Kinds of trial (seeded; --seed):
  kill-backup    setup:backup --code --media killed with SIGKILL at a uniform random moment of
                 its measured duration; then the next run (setup:backup again) must finish, and
                 after it: the flag file as before, no leftover temporary or staging file,
                 every listed backup verifies (info:backups:verify --all), the tree unchanged.
  kill-rollback  setup:rollback -c -m of a backup of state A over state B, killed the same
                 way; then a recovery run (setup:backup, which finishes or undoes a journaled
                 swap first) must finish, and each tree must be exactly A or exactly B (content
                 and metadata), the backups verify, nothing is left over.
  fiu-backup     setup:backup --code --media under libfiu (fiu-run -x) with one POSIX call
  fiu-rollback   setup:rollback -c -m likewise. Chosen: read, pread, write, pwrite, open,
                 close, fsync, rename, unlink, opendir, readdir, with probability p (not
                 mmap or malloc: the Swift runtime stops the process when memory runs out).
                 Each run must either succeed with a right result, or fail (exit 1) with a
                 message, leaving the tree (rollback: A or B) and earlier backups whole; a
                 signal, a hang or a silent failure is a fault.

  kill-db-rollback  (when FASTBACKUP_TEST_MYSQL_SOCKET, _USER and _PASSWORD name a server, as
                 scripts/test.sh sets them) setup:rollback -d of a dump of state A over state B
                 (a 150,000-row table cut to 1,000), killed the same way; then the next cron-like
                 run (setup:backup --code) must leave maintenance mode on while the restore is
                 unfinished (var/.fastbackup-db-restore), and a rollback run again must bring
                 every table's CHECKSUM TABLE to A with the flag off; when the kill came before
                 the restore began or after it ended, the tables must be A or B and the flag off.
                 kill-backup then backs up the database too.

Each trial's outcome is counted; any fault makes the exit status 1. The store is generated
here (seeded): code files of a few KB and media files of 1-200 KB, about 20 MB in all.
"""
import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIU_POINTS = ["posix/io/rw/read", "posix/io/rw/pread", "posix/io/rw/write", "posix/io/rw/pwrite",
              "posix/io/oc/open", "posix/io/oc/close", "posix/io/sync/fsync", "posix/io/dir/rename",
              "posix/io/dir/unlink", "posix/io/dir/opendir", "posix/io/dir/readdir"]
TIMEOUT = 120


class Database:
    """The private server of scripts/test.sh, and one database of the harness's on it."""
    def __init__(self, seed):
        env = os.environ
        self.socket, self.user, self.password = (env["FASTBACKUP_TEST_MYSQL_SOCKET"], env["FASTBACKUP_TEST_MYSQL_USER"],
                                                 env["FASTBACKUP_TEST_MYSQL_PASSWORD"])
        self.name = f"fbfaults_{seed}"

    @staticmethod
    def available():
        return all(os.environ.get(k) for k in ("FASTBACKUP_TEST_MYSQL_SOCKET", "FASTBACKUP_TEST_MYSQL_USER",
                                               "FASTBACKUP_TEST_MYSQL_PASSWORD")) and shutil.which("mariadb")

    def sql(self, statement, database=None):
        argv = ["mariadb", "--no-defaults", "-S", self.socket, "-u", self.user, "-N", "-B", "-e", statement]
        if database:
            argv.append(database)
        r = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "MYSQL_PWD": self.password})
        if r.returncode != 0:
            raise RuntimeError(f"{statement[:80]}: {r.stderr.strip()}")
        return r.stdout

    def checksums(self):
        tables = self.sql("SHOW TABLES", self.name).split()
        return {t: self.sql(f"CHECKSUM TABLE `{t}`", self.name).split()[-1] for t in tables}

    def env_php(self):
        return (f"<?php\nreturn ['db' => ['table_prefix' => '', 'connection' => ['default' => ['host' => '{self.socket}', "
                f"'dbname' => '{self.name}', 'username' => '{self.user}', 'password' => '{self.password}', 'active' => '1']]]];\n")


def make_store(root: Path, rng: random.Random, files: int, db=None):
    (root / "app" / "etc").mkdir(parents=True)
    (root / "app" / "etc" / "env.php").write_text(db.env_php() if db else "<?php\nreturn ['db' => ['table_prefix' => '']];\n")
    (root / "var").mkdir()
    for i in range(files):
        if i % 3 == 0:
            p = root / "pub" / "media" / "catalog" / "product" / f"{i % 7}" / f"{i % 11}" / f"img{i}.jpg"
            data = rng.randbytes(rng.randint(1_000, 200_000))
        else:
            p = root / "vendor" / f"v{i % 13}" / f"m{i % 17}" / f"File{i}.php"
            data = (f"<?php // file {i}\n" + "x" * rng.randint(100, 6000)).encode()
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        os.utime(p, (1_700_000_000 + i, 1_700_000_000 + i))


def manifest(top: Path, skip=("var",)):
    """path -> (type, mode, size, mtime, sha1 or link), below `top`, `skip` left out, and the
    tool's own `.fastbackup-*` folders too (a failed run may leave one when its clean-up fails
    as well; the next run must remove it, which `Harness.leftovers` checks)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        rel_dir = os.path.relpath(dirpath, top)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d not in skip and not d.startswith(".fastbackup-")]
            filenames = [f for f in filenames if not f.startswith(".fastbackup-")]
            rel_dir = ""
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = f"{rel_dir}/{name}" if rel_dir else name
            st = os.lstat(p)
            if os.path.islink(p):
                out[rel] = ("l", os.readlink(p))
            elif p.is_dir():
                out[rel] = ("d", st.st_mode & 0o7777)
            else:
                out[rel] = ("f", st.st_mode & 0o7777, st.st_size, int(st.st_mtime),
                            hashlib.sha1(p.read_bytes()).hexdigest())
    return out


def trees(root: Path):
    """(code tree, media tree) manifests: what a code and a media rollback each replace."""
    return (manifest(root, skip=("var", "pub")) | {k: v for k, v in manifest(root / "pub", skip=("media",)).items()},
            manifest(root / "pub" / "media") if (root / "pub" / "media").exists() else {})


class Harness:
    def __init__(self, binary, work: Path, rng: random.Random):
        self.binary, self.work, self.rng = binary, work, rng
        self.counts = {}
        self.faults = []

    def run(self, args, root, fiu=None, kill_after=None):
        argv = [self.binary, *args, "--root", str(root)]
        if fiu:
            argv = ["fiu-run", "-x", "-f", "", "-c", fiu, *argv]
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
        if kill_after is not None:
            time.sleep(kill_after)
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            out, err = p.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, err = p.communicate()
            return ("hang", out.decode(errors="replace"), err.decode(errors="replace"))
        return (p.returncode, out.decode(errors="replace"), err.decode(errors="replace"))

    def note(self, kind, outcome, detail=""):
        self.counts.setdefault(kind, {}).setdefault(outcome, 0)
        self.counts[kind][outcome] += 1
        if outcome.startswith("FAULT"):
            self.faults.append(f"{kind}: {outcome}: {detail}")
            print(f"  {kind}: {outcome}: {detail}", file=sys.stderr)

    def leftovers(self, root: Path):
        found = [p.name for p in root.iterdir() if p.name.startswith(".fastbackup-")]
        found += [p.name for p in (root / "var" / "backups").iterdir()
                  if not p.name[0].isdigit() or p.name.endswith((".partial", ".tmp"))] if (root / "var" / "backups").exists() else []
        found += [p.name for p in (root / "pub").iterdir() if p.name.startswith(".fastbackup-")] if (root / "pub").exists() else []
        found += [p.name for p in (root / "var").iterdir() if p.name.startswith(".maintenance.flag.")]
        return found

    def check_backups(self, root: Path):
        """Every backup list shows verifies; returns the problem or ''."""
        code, out, err = self.run(["info:backups:verify", "--all"], root)
        if code not in (0,) and "No backup files found" not in out:
            return f"verify --all exited {code}: {(out + err).strip()[-300:]}"
        return ""

    @staticmethod
    def next_second():
        """Backups are named by the second: a run right after another would take its names."""
        start = int(time.time())
        while int(time.time()) == start:
            time.sleep(0.02)

    def fresh(self, base: Path, name: str):
        root = self.work / name
        if root.exists():
            shutil.rmtree(root)
        shutil.copytree(base, root, symlinks=True)
        return root


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--trials", type=int, default=10, help="trials of each kind")
    ap.add_argument("--files", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=20261208)
    ap.add_argument("--probability", type=float, default=0.02, help="libfiu's failure probability per call")
    ap.add_argument("--json", help="write the counts here")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="fbfaults."))
    try:
        h = Harness(args.binary, work, rng)
        base = work / "base"
        db = Database(args.seed) if Database.available() else None
        if db:
            db.sql(f"DROP DATABASE IF EXISTS {db.name}")
            db.sql(f"CREATE DATABASE {db.name}")
            db.sql("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(100), KEY kv (v)); "
                   "INSERT INTO t SELECT seq, REPEAT(CONCAT('row ', seq), 4) FROM seq_1_to_150000; "
                   "CREATE TABLE u (id INT PRIMARY KEY, n INT); INSERT INTO u SELECT seq, seq * 7 FROM seq_1_to_5000;", db.name)
        else:
            print("no database server given (FASTBACKUP_TEST_MYSQL_*): the database trials are left out")
        make_store(base, rng, args.files, db)
        # State A: backed up; state B: a changed store (a file rewritten, one gone, one new, in both trees).
        code, out, err = h.run(["setup:backup", "--code", "--media"] + (["--db"] if db else []), base)
        if code != 0:
            sys.exit(f"the first backup failed: {err}")
        backups = sorted(p.name for p in (base / "var" / "backups").iterdir())
        code_b = next(n for n in backups if "_code" in n)
        media_b = next(n for n in backups if "_media" in n)
        db_b = next((n for n in backups if "_db" in n), None)
        db_a = db.checksums() if db else None
        state_a = trees(base)
        changed = work / "changed"
        shutil.copytree(base, changed, symlinks=True)
        php = sorted(changed.glob("vendor/**/*.php"))
        jpg = sorted(changed.glob("pub/media/**/*.jpg"))
        php[0].write_text("<?php // changed\n")
        php[1].unlink()
        (changed / "vendor" / "new.php").write_text("<?php // new\n")
        jpg[0].write_bytes(b"changed")
        jpg[1].unlink()
        (changed / "pub" / "media" / "new.jpg").write_bytes(b"new")
        state_b = trees(changed)
        # How long each command takes uninterrupted, warm (the faster of two runs): the window
        # the kills are drawn from, so that most kills land while the command runs.
        def timed(cmd, state):
            best = None
            for _ in range(2):
                root = h.fresh(state, "timing")
                h.next_second()
                t0 = time.monotonic()
                code, _, err = h.run(cmd, root)
                if code != 0:
                    sys.exit(f"an uninterrupted {cmd[0]} failed: {err.strip()[-300:]}")
                took = time.monotonic() - t0
                best = took if best is None else min(best, took)
            return best
        backup_time = timed(["setup:backup", "--code", "--media"] + (["--db"] if db else []), base)
        rollback_time = timed(["setup:rollback", "-n", "-c", code_b, "-m", media_b], changed)
        if db:
            db.sql("DELETE FROM t WHERE id > 1000", db.name)
            db_rollback_time = timed(["setup:rollback", "-n", "-d", db_b], base)
        print(f"seed {args.seed} (--seed {args.seed} repeats this run); store: {args.files} files; "
              f"backup {backup_time:.2f} s, rollback {rollback_time:.2f} s uninterrupted")

        for i in range(args.trials):
            # Killed backup, then the next one.
            root = h.fresh(base, "kb")
            at = rng.uniform(0, backup_time)
            code, _, _ = h.run(["setup:backup", "--code", "--media"] + (["--db"] if db else []), root, kill_after=at)
            h.next_second()
            nxt, out, err = h.run(["setup:backup", "--code", "--media"], root)
            problem = ""
            if nxt != 0:
                problem = f"the next backup exited {nxt}: {err.strip()[-300:]}"
            elif (root / "var" / ".maintenance.flag").exists():
                problem = "the maintenance flag stayed on"
            elif h.leftovers(root):
                problem = f"left over: {h.leftovers(root)}"
            elif trees(root) != state_a:
                problem = "the tree changed"
            else:
                problem = h.check_backups(root)
            h.note("kill-backup", f"FAULT at {at:.3f} s" if problem else
                   ("ok (finished before the kill)" if code == 0 else "ok (killed, recovered)"), problem)

            # Killed rollback, then a recovery run.
            root = h.fresh(changed, "kr")
            at = rng.uniform(0, rollback_time)
            code, _, _ = h.run(["setup:rollback", "-n", "-c", code_b, "-m", media_b], root, kill_after=at)
            h.next_second()
            nxt, out, err = h.run(["setup:backup", "--code", "--media"], root)
            problem = ""
            now = trees(root)
            if nxt != 0:
                problem = f"the recovery run exited {nxt}: {err.strip()[-300:]}"
            elif now[0] not in (state_a[0], state_b[0]) or now[1] not in (state_a[1], state_b[1]):
                problem = "a tree is neither the state before nor the state after"
            elif (root / "var" / ".maintenance.flag").exists():
                problem = "the maintenance flag stayed on"
            elif h.leftovers(root):
                problem = f"left over: {h.leftovers(root)}"
            else:
                problem = h.check_backups(root)
            h.note("kill-rollback", f"FAULT at {at:.3f} s" if problem else
                   ("ok (finished before the kill)" if code == 0 else "ok (killed, recovered)"), problem)

            if db:
                # Killed database restore, then a cron backup, then (if unfinished) the restore again.
                db.sql("DELETE FROM t WHERE id > 1000", db.name)
                db_b_state = db.checksums()
                root = h.fresh(base, "kd")
                at = rng.uniform(0, db_rollback_time)
                code, _, _ = h.run(["setup:rollback", "-n", "-d", db_b], root, kill_after=at)
                unfinished = (root / "var" / ".fastbackup-db-restore").exists()
                h.next_second()
                nxt, _, err = h.run(["setup:backup", "--code"], root)
                flag = (root / "var" / ".maintenance.flag").exists()
                problem = ""
                if nxt != 0:
                    problem = f"the next backup exited {nxt}: {err.strip()[-200:]}"
                elif unfinished and not flag:
                    problem = "the store went back on line with a partly restored database"
                elif unfinished:
                    again, _, err = h.run(["setup:rollback", "-n", "-d", db_b], root)
                    if again != 0:
                        problem = f"the restore run again exited {again}: {err.strip()[-200:]}"
                    elif db.checksums() != db_a:
                        problem = "the restore run again did not give the dump's tables"
                    elif (root / "var" / ".maintenance.flag").exists():
                        problem = "the maintenance flag stayed on after the restore completed"
                elif flag:
                    problem = "the maintenance flag stayed on"
                elif db.checksums() not in (db_a, db_b_state):
                    problem = "the tables are neither before nor after"
                h.note("kill-db-rollback", f"FAULT at {at:.3f} s" if problem else
                       ("ok (finished before the kill)" if code == 0 else
                        "ok (killed mid-restore, kept off line, restored again)" if unfinished else "ok (killed, nothing begun)"), problem)

            # Failing system calls.
            for kind, state, cmd, want in (
                    ("fiu-backup", base, ["setup:backup", "--code", "--media"], (state_a,)),
                    ("fiu-rollback", changed, ["setup:rollback", "-n", "-c", code_b, "-m", media_b], (state_a, state_b))):
                point = FIU_POINTS[rng.randrange(len(FIU_POINTS))]
                root = h.fresh(state, "fiu")
                before = sorted(p.name for p in (root / "var" / "backups").iterdir())
                code, out, err = h.run(cmd, root, fiu=f"enable_random name={point},probability={args.probability}")
                now = trees(root)
                problem = ""
                if code == "hang":
                    problem = "hung"
                elif code < 0:
                    problem = f"killed by signal {-code}: {err.strip()[-300:]}"
                elif code == 0:
                    if kind == "fiu-rollback" and now != state_a:
                        problem = "exit 0 but the tree is not the backup's"
                    elif kind == "fiu-backup" and now != state_a:
                        problem = "the tree changed"
                elif not err.strip() and not out.strip():
                    problem = f"exit {code} without a message"
                elif not any(now[0] == s[0] for s in want) or not any(now[1] == s[1] for s in want):
                    problem = f"failed (exit {code}) and a tree is neither before nor after: {err.strip()[-200:]}"
                if not problem:
                    # The next run (no faults) recovers, and every backup listed is whole, the
                    # ones from before included.
                    h.next_second()
                    nxt, _, err2 = h.run(["setup:backup", "--code", "--media"], root)
                    after = sorted(p.name for p in (root / "var" / "backups").iterdir())
                    if nxt != 0:
                        problem = f"the next run exited {nxt}: {err2.strip()[-200:]}"
                    elif not set(before) <= set(after):
                        problem = f"an earlier backup went: {sorted(set(before) - set(after))}"
                    elif h.leftovers(root):
                        problem = f"left over: {h.leftovers(root)}"
                    else:
                        problem = h.check_backups(root)
                outcome = (f"FAULT ({point})" if problem else
                           "ok (succeeded)" if code == 0 else "ok (failed cleanly, with a message)")
                h.note(kind, outcome, problem)
        print(json.dumps(h.counts, indent=1, sort_keys=True))
        if args.json:
            Path(args.json).write_text(json.dumps({"seed": args.seed, "trials": args.trials, "files": args.files,
                                                   "probability": args.probability, "counts": h.counts,
                                                   "faults": h.faults}, indent=1, sort_keys=True))
        if h.faults:
            print(f"{len(h.faults)} faults", file=sys.stderr)
            sys.exit(1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if "db" in locals() and db:
            try:
                db.sql(f"DROP DATABASE IF EXISTS {db.name}")
            except RuntimeError:
                pass


if __name__ == "__main__":
    main()
