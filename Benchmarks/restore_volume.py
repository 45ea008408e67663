"""Where the rollback cases write: a journaled ext4 on a loop image, or the
work folder itself.

Why: a restore creates every file anew, and how fast a file system hands out
inodes right after a mass delete depends on its set-up. On ext4 *without* a
journal (the work folder of some VMs) the allocator skips every inode freed in
the last ~30 s (`recently_deleted()`), so creating files right after the
harness emptied the target costs a scan per file: measured here, `tar -xzf` of
the 128 MB code tree took 17 s instead of 4.4 s, and parallel writers spin on
the folder lock meanwhile. Stores run on ext4 with its default journal (or
xfs), so by default the rollback cases run on a freshly made ext4 (mkfs
defaults, journal included) on a sparse loop image under the work folder, and
the report says so. `--restore-fs workdir` measures the work folder instead.
"""
import contextlib
import os
import shutil
import subprocess
from pathlib import Path


def describe(path):
    out = subprocess.run(["findmnt", "-n", "-o", "SOURCE,FSTYPE,OPTIONS", "-T", str(path)],
                         capture_output=True, text=True).stdout.split()
    return " ".join(out[:2]) if out else "unknown"


@contextlib.contextmanager
def restore_volume(mode, work_dir, size_bytes, log):
    """Yields (folder for restore roots, description). `mode`: auto, loop or workdir."""
    if mode == "workdir":
        yield work_dir, f"the work folder ({describe(work_dir)})"
        return
    why = None
    if os.geteuid() != 0:
        why = "not root"
    elif not (shutil.which("mkfs.ext4") and shutil.which("mount")):
        why = "mkfs.ext4 or mount missing"
    if why:
        if mode == "loop":
            raise SystemExit(f"--restore-fs loop: {why}")
        log(f"rollback cases run in the work folder: {why}")
        yield work_dir, f"the work folder ({describe(work_dir)}; no loop image: {why})"
        return
    image = work_dir / "restore-volume.img"
    mnt = work_dir / "restore-volume"
    subprocess.run(["umount", str(mnt)], capture_output=True)
    image.unlink(missing_ok=True)
    mnt.mkdir(parents=True, exist_ok=True)
    with open(image, "wb") as f:
        f.truncate(size_bytes)
    mounted = False
    try:
        r = subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], capture_output=True, text=True)
        if r.returncode == 0:
            r = subprocess.run(["mount", "-o", "loop", str(image), str(mnt)], capture_output=True, text=True)
            mounted = r.returncode == 0
        if not mounted:
            why = (r.stderr.strip().splitlines() or ["failed"])[-1]
            if mode == "loop":
                raise SystemExit(f"--restore-fs loop: {why}")
            log(f"rollback cases run in the work folder: loop image: {why}")
            yield work_dir, f"the work folder ({describe(work_dir)}; no loop image: {why})"
            return
        log(f"rollback cases run on a fresh ext4 (mkfs defaults, journal on) on {image}")
        yield mnt, f"ext4 with journal (mkfs.ext4 defaults) on a loop image in the work folder"
    finally:
        if mounted:
            subprocess.run(["umount", str(mnt)], check=False)
        image.unlink(missing_ok=True)
