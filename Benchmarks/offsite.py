"""The offsite cases: backups streamed to S3-compatible storage and rolled
back from it, against the tools an admin would use instead (tar | pigz -6 |
rclone rcat, restic, mariadb-dump | rclone rcat), all against the same
store: the one-node Ceph cluster with the RADOS Gateway that Benchmarks/run
starts (scripts/ceph-rgw.sh), or the one FASTBACKUP_TEST_S3_ENDPOINT names.

rclone and restic get the store from the environment (RCLONE_CONFIG_FBS3_*,
RESTIC_*), so no config file is written. Every run starts from an empty
prefix (restic: a fresh repository, so its backup is a first backup)."""

import json
import os
import re
import subprocess

import inputs
from cases import Case, CheckFailed, Tool, _empty_backups, check_creates, q, sh

BUCKET = "fbbench"
# The corpus once, so restic's deduplication finds no copies to skip (the media tree repeats
# every image in its cache folders).
TREE = "corpus-media"
RESTIC_PASSWORD = "fastbackup-bench"


def s3_environment(endpoint, access_key, secret_key):
    """The variables fastbackup, rclone and restic read, for one store."""
    return {
        "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key,
        "AWS_DEFAULT_REGION": "default",
        "RCLONE_CONFIG_FBS3_TYPE": "s3", "RCLONE_CONFIG_FBS3_PROVIDER": "Ceph",
        "RCLONE_CONFIG_FBS3_ENDPOINT": endpoint, "RCLONE_CONFIG_FBS3_ACCESS_KEY_ID": access_key,
        "RCLONE_CONFIG_FBS3_SECRET_ACCESS_KEY": secret_key, "RCLONE_CONFIG_FBS3_FORCE_PATH_STYLE": "true",
        "RESTIC_PASSWORD": RESTIC_PASSWORD,
    }


def prepare(ctx):
    """Points this process's environment (inherited by every timed command)
    at the store and makes the bucket; returns why the offsite cases cannot
    run, or ''."""
    env = os.environ
    endpoint, key, secret = (env.get("FASTBACKUP_TEST_S3_ENDPOINT"), env.get("AWS_ACCESS_KEY_ID"),
                             env.get("AWS_SECRET_ACCESS_KEY"))
    if not (endpoint and key and secret):
        return "no object store (FASTBACKUP_TEST_S3_ENDPOINT unset; Benchmarks/run starts one with scripts/ceph-rgw.sh)"
    os.environ.update(s3_environment(endpoint, key, secret))
    # rclone 1.60 refuses plain-http endpoints when AWS_CA_BUNDLE is set.
    os.environ.pop("AWS_CA_BUNDLE", None)
    ctx.s3 = {"endpoint": endpoint}
    if not _which("rclone"):
        return "rclone not installed (it makes the bucket)"
    r = subprocess.run(["rclone", "mkdir", f"fbs3:{BUCKET}"], capture_output=True, text=True)
    if r.returncode != 0:
        return f"cannot make the bucket: {r.stderr.strip()[-200:]}"
    return ""


def _which(exe):
    return any(os.access(os.path.join(d, exe), os.X_OK) for d in os.environ.get("PATH", "").split(":"))


def _purge(prefix):
    subprocess.run(["rclone", "purge", f"fbs3:{BUCKET}/{prefix}"], capture_output=True)


def _objects(prefix):
    r = subprocess.run(["rclone", "lsjson", "-R", f"fbs3:{BUCKET}/{prefix}"], capture_output=True, text=True)
    if r.returncode != 0:
        raise CheckFailed(f"rclone lsjson {prefix}: {r.stderr.strip()[-200:]}")
    return [o for o in json.loads(r.stdout or "[]") if not o.get("IsDir")]


def _one_object(prefix, suffix):
    found = [o for o in _objects(prefix) if o["Name"].endswith(suffix)]
    if len(found) != 1:
        raise CheckFailed(f"{len(found)} objects *{suffix} under {BUCKET}/{prefix}, not 1")
    return found[0]


def _archive_files(key):
    """Files (non-directories) in the .tgz object `key`, read back with rclone cat and tar."""
    r = subprocess.run(["bash", "-o", "pipefail", "-c", f"rclone cat fbs3:{BUCKET}/{key} | tar -tzvf -"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise CheckFailed(f"reading {key} back: {r.stderr.strip()[-200:]}")
    # fastbackup's tree record (its last entry) is not part of the tree.
    return sum(1 for line in r.stdout.splitlines()
               if line and line[0] != "d" and not line.endswith(" var/.fastbackup/record.txt"))


def _check_tgz(ctx, key):
    want = inputs.count_entries(ctx.tree(TREE).manifest)[0]
    got = _archive_files(key)
    if got != want:
        raise CheckFailed(f"{key} holds {got} files, the tree {want}")


def _restic_repo(ctx, name):
    return f"s3:{ctx.s3['endpoint']}/{BUCKET}/{name}"


# ---- media backup to the store

def _media_backup_case():
    def root(ctx):
        return ctx.tree(TREE).root

    def fb_setup(ctx):
        _empty_backups(root(ctx))
        _purge("fb-media")

    def fb_verify(ctx, m):
        o = _one_object("fb-media", "_filesystem_media.tgz")
        _check_tgz(ctx, f"fb-media/{o['Name']}")
        ctx.keep[("offsite", "fastbackup")] = f"s3://{BUCKET}/fb-media/{o['Name']}"
        return o["Size"]

    def local_verify(ctx, m):
        hit = re.search(r"Media backup path: (\S+)", m.stdout)
        if not hit or not os.path.exists(hit.group(1)):
            raise CheckFailed("the local backup printed no path")
        kept = ctx.out_dir / "offsite-local.tgz"
        os.replace(hit.group(1), kept)
        ctx.keep[("offsite", "local")] = kept
        return kept.stat().st_size

    def anchor_setup(ctx):
        _purge("anchor-media")

    def anchor_verify(ctx, m):
        o = _one_object("anchor-media", "media.tgz")
        _check_tgz(ctx, "anchor-media/media.tgz")
        ctx.keep[("offsite", "anchor")] = "anchor-media/media.tgz"
        return o["Size"]

    def restic_setup(ctx):
        _purge("restic-media")
        sh(["restic", "-r", _restic_repo(ctx, "restic-media"), "init", "-q"])

    def restic_verify(ctx, m):
        r = sh(["restic", "-r", _restic_repo(ctx, "restic-media"), "stats", "latest", "--mode", "restore-size", "--json"])
        files = json.loads(r.stdout).get("total_file_count", 0)
        want = inputs.count_entries(ctx.tree(TREE).manifest)[0]
        # restic counts the folders above the tree's too; every file must be there.
        if files < want:
            raise CheckFailed(f"restic's snapshot holds {files} files, the tree {want}")
        ctx.keep[("offsite", "restic")] = "restic-media"
        return sum(o["Size"] for o in _objects("restic-media"))

    def floor_setup(ctx):
        _purge("floor-media")
        if ("offsite", "local") not in ctx.keep:
            raise CheckFailed("no local archive to upload (the local-disk run failed)")

    tar = lambda ctx: f"tar -cf - -C {q(ctx.tree(TREE).dir)} ."
    tools = [
        Tool("fastbackup", (), fb_setup,
             lambda ctx: ctx.fastbackup("setup:backup", "--media", "--target", f"s3://{BUCKET}/fb-media",
                                        "--root", root(ctx), "--no-maintenance"),
             fb_verify, fastbackup=True, subcommands=("setup:backup",)),
        Tool("fastbackup to local disk", (), lambda ctx: _empty_backups(root(ctx)),
             lambda ctx: ctx.fastbackup("setup:backup", "--media", "--root", root(ctx), "--no-maintenance"),
             local_verify),
        Tool("tar | pigz -6 | rclone rcat", ("tar", "pigz", "rclone"), anchor_setup,
             lambda ctx: f"{tar(ctx)} | pigz -6 | rclone rcat fbs3:{BUCKET}/anchor-media/media.tgz", anchor_verify),
        Tool("restic backup", ("restic",), restic_setup,
             lambda ctx: ["restic", "-r", _restic_repo(ctx, "restic-media"), "backup", "-q", ctx.tree(TREE).dir],
             restic_verify),
        # The store's own bound: fastbackup's finished archive uploaded, nothing compressed,
        # 16 MiB parts, 4 in flight (fastbackup's 3 and one more).
        Tool("floor: rclone copyto of the archive", ("rclone",), floor_setup,
             lambda ctx: ["rclone", "copyto", "--s3-chunk-size", "16M", "--s3-upload-concurrency", "4",
                          "--s3-upload-cutoff", "0", str(ctx.keep[("offsite", "local")]),
                          f"fbs3:{BUCKET}/floor-media/archive.tgz"],
             lambda ctx, m: 0, floor=True),
    ]
    return Case("offsite-media-backup", "offsite media backup", tools,
                lambda ctx: inputs.count_entries(ctx.tree(TREE).manifest)[2],
                target=("tar | pigz -6 | rclone rcat", 4.0), rss_limit_mib=256, tree=TREE, needs_s3=True,
                extra_targets=(("restic backup", 2.0), ("fastbackup to local disk", 1 / 1.3)))


# ---- media rollback from the store

def _media_rollback_case():
    def target_dir(ctx):
        return ctx.restore_root / "pub" / "media"

    def empty_target(ctx):
        sh(["rm", "-rf", str(target_dir(ctx))])
        target_dir(ctx).mkdir(parents=True)

    def made(ctx, who):
        """The object (or restic repository) this tool restores: the backup
        case's, else one made now, untimed."""
        if ("offsite", who) not in ctx.keep:
            case = _media_backup_case()
            name = {"fastbackup": "fastbackup", "anchor": "tar | pigz -6 | rclone rcat", "restic": "restic backup"}[who]
            tool = next(t for t in case.tools if t.name == name)
            tool.setup(ctx)
            r = subprocess.run(tool.cmd(ctx) if isinstance(tool.cmd(ctx), list) else ["bash", "-o", "pipefail", "-c", tool.cmd(ctx)],
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise CheckFailed(f"making the {who} backup to restore: {r.stderr.strip()[-200:]}")
            tool.verify(ctx, subprocess.CompletedProcess(r.args, 0, r.stdout, r.stderr))
        return ctx.keep[("offsite", who)]

    def verify_at(where):
        def verify(ctx, m):
            got = inputs.manifest(where(ctx), ())
            diff = inputs.manifest_diff(ctx.tree(TREE).manifest, got)
            if diff:
                raise CheckFailed(f"restored tree differs from the input: {diff}")
            return inputs.count_entries(got)[2]
        return verify
    verify = verify_at(target_dir)

    def setup(who):
        def run(ctx):
            made(ctx, who)
            empty_target(ctx)
        return run

    # restic 0.14 (Debian 12) restores a snapshot under the target by the tree's absolute path
    # (`latest:PATH` came in 0.15), so its files land there, below the target.
    restic_dir = lambda ctx: target_dir(ctx) / str(ctx.tree(TREE).dir.resolve()).lstrip("/")
    tools = [
        Tool("fastbackup", (), setup("fastbackup"),
             lambda ctx: ctx.fastbackup("setup:rollback", "-n", "-m", made(ctx, "fastbackup"), "--root", ctx.restore_root,
                                        "--no-maintenance"),
             verify, fastbackup=True, subcommands=("setup:backup", "setup:rollback")),
        Tool("rclone cat | tar -I pigz -xf", ("rclone", "tar", "pigz"), setup("anchor"),
             lambda ctx: f"rclone cat fbs3:{BUCKET}/{made(ctx, 'anchor')} | tar -I pigz -xf - -C {q(target_dir(ctx))}",
             verify),
        Tool("restic restore", ("restic",), setup("restic"),
             lambda ctx: ["restic", "-r", _restic_repo(ctx, made(ctx, "restic")), "restore", "latest",
                          "--target", str(target_dir(ctx)), "-q"],
             verify_at(restic_dir)),
    ]
    return Case("offsite-media-rollback", "offsite media rollback", tools,
                lambda ctx: inputs.count_entries(ctx.tree(TREE).manifest)[2],
                target=("rclone cat | tar -I pigz -xf", 2.0), tree=TREE, needs_s3=True,
                extra_targets=(("restic restore", 2.0),))


# ---- database dump to the store

def _db_dump_case():
    def check(ctx, key):
        check_creates(ctx, f"rclone cat fbs3:{BUCKET}/{key}", key)

    def fb_verify(ctx, m):
        o = _one_object("fb-db", "_db.sql")
        check(ctx, f"fb-db/{o['Name']}")
        return o["Size"]

    def anchor_verify(ctx, m):
        o = _one_object("anchor-db", "db.sql")
        check(ctx, "anchor-db/db.sql")
        return o["Size"]

    def dump_cmd(ctx):
        d = ctx.db
        return (f"MYSQL_PWD={q(d['password'])} mariadb-dump --no-defaults -S {q(d['socket'])} -u {q(d['user'])} "
                f"--single-transaction --quick {d['src']} | rclone rcat fbs3:{BUCKET}/anchor-db/db.sql")

    tools = [
        Tool("fastbackup", (), lambda ctx: (_empty_backups(ctx.db["src_root"]), _purge("fb-db")),
             lambda ctx: ctx.fastbackup("setup:backup", "--db", "--target", f"s3://{BUCKET}/fb-db",
                                        "--root", ctx.db["src_root"], "--no-maintenance"),
             fb_verify, fastbackup=True, subcommands=("setup:backup",)),
        Tool("mariadb-dump | rclone rcat", ("mariadb-dump", "rclone"), lambda ctx: _purge("anchor-db"), dump_cmd,
             anchor_verify),
    ]
    return Case("offsite-db-dump", "offsite DB dump", tools, lambda ctx: ctx.db["data_bytes"],
                target=("mariadb-dump | rclone rcat", 1.5), needs_db=True, needs_s3=True)


def offsite_cases():
    return [_media_backup_case(), _media_rollback_case(), _db_dump_case()]
