"""The incremental cases: setup:backup --incremental after 1% of a tree's
files changed, against GNU tar's own incremental mode piped to pigz -6 and
against a full backup of the same tree; and the rollback of a chain (a full
backup and five incrementals) against the rollback of one full backup of the
same final tree.

Each case works on its own copy of the input tree (`cp -a`, made once per
pass), so the shared inputs and their manifests stay as built. A "change" is a
file rewritten in place with new times (os.utime: new mtime and ctime, same
bytes), which every contender must store again; the chosen files are seeded.
Before each run the copy is put back (the changed files get their manifest
mtimes again) and the untimed base backup (fastbackup's full backup, tar's
level-0 snapshot) is made, then the same files are changed."""

import os
import random
import shutil

import inputs
from cases import (Case, CheckFailed, Tool, _archive_file_entries, _empty_backups, _fastbackup_output,
                   measure, q, sh, unavailable_or_crash)

CHANGED = 0.01          # share of the files changed before each incremental
CHAIN = 5               # incrementals after the full backup in the chain case
SEED = 20261208


def _root(ctx, tree):
    """The case's own copy of the tree (a Magento root holding pub/media), made once."""
    key = ("incremental-root", tree)
    if key not in ctx.keep:
        root = ctx.out_dir / f"incremental-{tree}"
        sh(["rm", "-rf", str(root)])
        (root / "pub").mkdir(parents=True)
        (root / "var" / "backups").mkdir(parents=True)
        sh(["cp", "-a", str(ctx.tree(tree).root / "pub" / "media"), str(root / "pub" / "media")])
        ctx.keep[key] = root
    return ctx.keep[key]


def _files(ctx, tree):
    return sorted(p for p, v in ctx.tree(tree).manifest.items() if v[0] == "f")


def _changes(ctx, tree, k):
    """The k-th seeded set of changed files (k = 0 for the backup case)."""
    files = _files(ctx, tree)
    return random.Random(SEED + k).sample(files, max(1, int(len(files) * CHANGED)))


def _mtime(k):
    return inputs.BASE_MTIME + 1000 * (k + 1)


def _reset(ctx, tree):
    """Every file that any set changes gets its built mtime back."""
    media = _root(ctx, tree) / "pub" / "media"
    man = ctx.tree(tree).manifest
    for k in range(CHAIN + 1):
        for p in _changes(ctx, tree, k):
            os.utime(media / p, (man[p][3], man[p][3]))


def _change(ctx, tree, k):
    media = _root(ctx, tree) / "pub" / "media"
    for p in _changes(ctx, tree, k):
        os.utime(media / p, (_mtime(k), _mtime(k)))


def _expected(ctx, tree, upto):
    """The tree's manifest after change sets 1..upto."""
    man = dict(ctx.tree(tree).manifest)
    for k in range(1, upto + 1):
        for p in _changes(ctx, tree, k):
            v = man[p]
            man[p] = (v[0], v[1], v[2], _mtime(k), *v[4:])
    return man


def _backup(ctx, root, *flags):
    m = measure(ctx.fastbackup("setup:backup", "--media", "--root", root, "--no-maintenance", *flags), ctx.timeout)
    if m.rc != 0:
        raise unavailable_or_crash(m, "setup:backup --media " + " ".join(flags))
    return _fastbackup_output(m, root, "Media", ".tgz")


def _incremental_backup_case(tree):
    """The backup after 1% of the files changed."""
    def root(ctx):
        return _root(ctx, tree)

    def snar(ctx, level0=False):
        return ctx.out_dir / f"incremental-{tree}{'-level0' if level0 else ''}.snar"

    def out(ctx):
        return ctx.out_dir / f"incremental-{tree}-tar.tgz"

    def fb_setup(ctx):
        _reset(ctx, tree)
        _empty_backups(root(ctx))
        _backup(ctx, root(ctx))
        _change(ctx, tree, 0)

    def fb_verify(ctx, m):
        path = _fastbackup_output(m, root(ctx), "Media", ".tgz")
        if not path.name.endswith("_filesystem_media.incr.tgz"):
            raise CheckFailed(f"{path.name} is not an incremental backup: {m.stdout.strip()[-300:]}")
        files = _archive_file_entries(path)
        if files != len(_changes(ctx, tree, 0)):
            raise CheckFailed(f"{path.name} holds {files} files, {len(_changes(ctx, tree, 0))} changed")
        return path.stat().st_size

    def full_setup(ctx):
        _reset(ctx, tree)
        _change(ctx, tree, 0)
        _empty_backups(root(ctx))

    def full_verify(ctx, m):
        path = _fastbackup_output(m, root(ctx), "Media", ".tgz")
        files = _archive_file_entries(path)
        if files != len(_files(ctx, tree)):
            raise CheckFailed(f"{path.name} holds {files} files, the tree {len(_files(ctx, tree))}")
        return path.stat().st_size

    def tar_setup(ctx):
        _reset(ctx, tree)
        out(ctx).unlink(missing_ok=True)
        snar(ctx, True).unlink(missing_ok=True)
        # Level 0 through a pipe: tar skips reading files it writes to /dev/null itself.
        sh(f"tar --listed-incremental={q(snar(ctx, True))} -cf - -C {q(root(ctx))} pub/media | cat > /dev/null")
        shutil.copyfile(snar(ctx, True), snar(ctx))
        _change(ctx, tree, 0)

    def tar_verify(ctx, m):
        files = _archive_file_entries(out(ctx))
        if files != len(_changes(ctx, tree, 0)):
            raise CheckFailed(f"tar's level 1 holds {files} files, {len(_changes(ctx, tree, 0))} changed")
        return out(ctx).stat().st_size

    tools = [
        Tool("fastbackup", (), fb_setup,
             lambda ctx: ctx.fastbackup("setup:backup", "--media", "--incremental", "--root", root(ctx),
                                        "--no-maintenance"),
             fb_verify, fastbackup=True, subcommands=("setup:backup",)),
        Tool("tar --listed-incremental | pigz -6", ("tar", "pigz"), tar_setup,
             lambda ctx: f"tar --listed-incremental={q(snar(ctx))} -cf - -C {q(root(ctx))} pub/media | pigz -6 > {q(out(ctx))}",
             tar_verify),
        Tool("fastbackup full backup", (), full_setup,
             lambda ctx: ctx.fastbackup("setup:backup", "--media", "--root", root(ctx), "--no-maintenance"),
             full_verify),
        # What any incremental tool must do: lstat every file to see whether it changed.
        Tool("floor: find -printf (lstat every file)", ("find",), lambda ctx: None,
             lambda ctx: f"find {q(root(ctx) / 'pub' / 'media')} -printf '%s %T@ %C@ %i\\n' > /dev/null",
             lambda ctx, m: 0, floor=True),
    ]
    return Case(f"{tree}-incremental-backup", f"{tree} incremental backup (1% changed)", tools,
                lambda ctx: sum(ctx.tree(tree).manifest[p][1] for p in _changes(ctx, tree, 0)),
                target=("tar --listed-incremental | pigz -6", 20.0), rss_limit_mib=256, tree=tree,
                extra_targets=(("fastbackup full backup", 20.0),))


def _chain_rollback_case(tree):
    """The rollback of the newest of a full backup and five incrementals (each after 1% more
    changed), against the rollback of one full backup of that same final tree."""
    def root(ctx):
        return _root(ctx, tree)

    def chain(ctx):
        """(newest incremental, full backup of the final tree), made once."""
        key = ("incremental-chain", tree)
        if key not in ctx.keep:
            r = root(ctx)
            _reset(ctx, tree)
            _empty_backups(r)
            _backup(ctx, r)
            newest = None
            for k in range(1, CHAIN + 1):
                _change(ctx, tree, k)
                newest = _backup(ctx, r, "--incremental")
                if not newest.name.endswith(".incr.tgz"):
                    raise CheckFailed(f"backup {k} of the chain is {newest.name}, not an incremental")
            # The one full backup of the same tree, in another folder: the rollback's --keep
            # and the chain's own lookups see only the chain in var/backups.
            full_root = ctx.out_dir / f"incremental-{tree}-full"
            sh(["rm", "-rf", str(full_root)])
            (full_root / "var" / "backups").mkdir(parents=True)
            (full_root / "pub").mkdir()
            os.symlink(r / "pub" / "media", full_root / "pub" / "media")
            full = _backup(ctx, full_root)
            moved = r / "var" / "backups" / ("1700000000" + full.name[full.name.index("_"):])
            os.replace(full, moved)
            shutil.rmtree(full_root)
            ctx.keep[key] = (newest, moved)
        return ctx.keep[key]

    def warm(paths):
        for p in paths:
            with open(p, "rb") as f:
                while f.read(8 << 20):
                    pass

    def setup(which):
        def run(ctx):
            newest, full = chain(ctx)
            warm(root(ctx).glob("var/backups/*.tgz") if which == 0 else [full])
            sh(["rm", "-rf", str(root(ctx) / "pub" / "media")])
            (root(ctx) / "pub" / "media").mkdir()
        return run

    def verify(ctx, m):
        got = inputs.manifest(root(ctx) / "pub" / "media")
        diff = inputs.manifest_diff(_expected(ctx, tree, CHAIN), got)
        if diff:
            raise CheckFailed(f"restored tree differs from the chain's last state: {diff}")
        return inputs.count_entries(got)[2]

    tools = [
        Tool("fastbackup", (), setup(0),
             lambda ctx: ctx.fastbackup("setup:rollback", "-n", "-m", chain(ctx)[0].name, "--root", root(ctx)),
             verify, fastbackup=True, subcommands=("setup:backup", "setup:rollback")),
        Tool("fastbackup rollback of one full backup", (), setup(1),
             lambda ctx: ctx.fastbackup("setup:rollback", "-n", "-m", chain(ctx)[1].name, "--root", root(ctx)),
             verify),
    ]
    return Case(f"{tree}-chain-rollback", f"{tree} rollback of a full + {CHAIN} incrementals", tools,
                lambda ctx: inputs.count_entries(ctx.tree(tree).manifest)[2], tree=tree,
                target=("fastbackup rollback of one full backup", 1 / 1.3), rss_limit_mib=256)


def incremental_cases():
    return [_incremental_backup_case("media"), _incremental_backup_case("cache-media"),
            _chain_rollback_case("media")]
