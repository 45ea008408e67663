"""Benchmark inputs: Magento roots holding the trees the file cases back up
and restore, their manifests, and a Magento-shaped database.

The trees (see TREES):
  media        pub/media from the corpus (or generated), copied into cache folders
  code         seeded PHP-like text in vendor/ and app/code/
  cache-media  pub/media as a live store has it: product originals plus the
               image cache Magento resizes them into, one folder per image size
  vendor-code  a root whose vendor/ holds real PHP libraries (Debian's
               packages), plus generated/code

Each root is built once per (scale, source) under Benchmarks/work/ and
reused; its manifest file beside it is written last and marks a finished
build, so an interrupted build is redone rather than measured half-made.
Everything generated is seeded, so the same scale gives the same bytes on a
machine (JPEG bytes depend on the libjpeg Pillow uses; the vendor tree on the
Debian packages first fetched, whose list is kept).
"""

import hashlib
import json
import os
import random
import shutil
import subprocess
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
WORK_DIR = BENCH_DIR / "work"
CORPUS_MEDIA = REPO_ROOT.parent / "shared" / "corpus" / "media"

# Default (scale 1) sizes, from the issue: ~1 GB of media, ~20,000 code files.
MEDIA_BYTES_AT_SCALE_1 = 1_000_000_000
CODE_FILES_AT_SCALE_1 = 20_000
# Paths Magento's code backup leaves out (relative to the root). The anchors
# exclude the same ones so every tool archives the same set of files.
CODE_EXCLUDES = ("pub/media", "pub/static", "var")
# Every file gets an integral mtime: tar stores whole seconds, so a restored
# tree can be compared exactly.
BASE_MTIME = 1_700_000_000
FILE_MODE = 0o644
DIR_MODE = 0o755
SEED = 20240917
# Bump a root's version when its generator changes, so cached inputs are
# rebuilt: "store" is the root holding the media and code trees.
INPUT_VERSIONS = {"store": 1, "cache-media": 1, "vendor-code": 1}

# The trees the file cases measure, and what a backup of each holds: "media"
# is R/pub/media, "code" is R without CODE_EXCLUDES.
TREES = {"media": "media", "code": "code", "cache-media": "media", "vendor-code": "code"}


# --------------------------------------------------------------------------
# Manifests: what a restored tree must equal.

def manifest(top, excludes=()):
    """Maps each path under `top` (relative, '/'-separated) to a tuple
    (type, size, mode, mtime, sha1) for files and symlinks, and to
    ('d', mode) for directories. Directory mtimes are left out: extracting a
    file into a directory changes it, and tools differ on whether they set it
    back. `excludes` are relative paths whose whole subtree is skipped."""
    top = Path(top)
    out = {}
    excl = set(excludes)
    for dirpath, dirnames, filenames in os.walk(top):
        rel_dir = os.path.relpath(dirpath, top)
        rel_dir = "" if rel_dir == "." else rel_dir
        kept = []
        for d in sorted(dirnames):
            rel = f"{rel_dir}/{d}" if rel_dir else d
            if rel in excl:
                continue
            st = os.lstat(os.path.join(dirpath, d))
            if os.path.islink(os.path.join(dirpath, d)):
                out[rel] = ("l", 0, st.st_mode & 0o7777, int(st.st_mtime),
                            os.readlink(os.path.join(dirpath, d)))
                continue
            out[rel] = ("d", st.st_mode & 0o7777)
            kept.append(d)
        dirnames[:] = kept
        for f in sorted(filenames):
            rel = f"{rel_dir}/{f}" if rel_dir else f
            if rel in excl:
                continue
            p = os.path.join(dirpath, f)
            st = os.lstat(p)
            if os.path.islink(p):
                out[rel] = ("l", 0, st.st_mode & 0o7777, int(st.st_mtime), os.readlink(p))
                continue
            h = hashlib.sha1()
            with open(p, "rb") as fh:
                while True:
                    b = fh.read(1 << 20)
                    if not b:
                        break
                    h.update(b)
            out[rel] = ("f", st.st_size, st.st_mode & 0o7777, int(st.st_mtime), h.hexdigest())
    return out


def manifest_diff(expected, actual, limit=5):
    """Returns a short human description of how two manifests differ, or
    None when they are equal."""
    if expected == actual:
        return None
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    changed = sorted(p for p in set(expected) & set(actual) if expected[p] != actual[p])
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing (e.g. {', '.join(missing[:limit])})")
    if extra:
        parts.append(f"{len(extra)} unexpected (e.g. {', '.join(extra[:limit])})")
    if changed:
        p = changed[0]
        parts.append(f"{len(changed)} differ (e.g. {p}: {_entry_diff(expected[p], tuple(actual[p]))})")
    return "; ".join(parts)


def _entry_diff(want, got):
    if want[0] != got[0]:
        return f"type {want[0]} became {got[0]}"
    names = ("type", "size", "mode", "mtime", "sha1" if want[0] == "f" else "target")
    if want[0] == "d":
        names = ("type", "mode")
    out = []
    for name, a, b in zip(names, want, got):
        if a != b:
            a, b = (oct(a), oct(b)) if name == "mode" else (a, b)
            out.append(f"{name} {a} became {b}")
    return ", ".join(out)


def count_entries(man):
    """(non-directory entries, directories, bytes of file content)."""
    files = sum(1 for v in man.values() if v[0] != "d")
    dirs = sum(1 for v in man.values() if v[0] == "d")
    size = sum(v[1] for v in man.values() if v[0] == "f")
    return files, dirs, size


# --------------------------------------------------------------------------
# Writing files.

def _write(path, data, mtime):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
    os.chmod(path, FILE_MODE)
    os.utime(path, (mtime, mtime))


def _copy(src, dst, mtime):
    dst.parent.mkdir(parents=True, exist_ok=True)
    # A real copy, never a hard link: tar would store a link entry and the
    # archive would no longer hold the bytes a real store has.
    shutil.copyfile(src, dst)
    os.chmod(dst, FILE_MODE)
    os.utime(dst, (mtime, mtime))


def _fix_dir_modes(top):
    for dirpath, _, _ in os.walk(top):
        os.chmod(dirpath, DIR_MODE)


# --------------------------------------------------------------------------
# Media: pub/media in Magento's layout.

def _corpus_files():
    files = sorted(p for p in CORPUS_MEDIA.rglob("*") if p.is_file() and not p.is_symlink())
    return [(p.relative_to(CORPUS_MEDIA).as_posix(), p) for p in files]


def _generated_images(rng, target):
    """Seeded image-like files: a JPEG header and trailer around random (so
    incompressible) bytes; sizes log-normal with a median of ~90 KB and a
    few of several MB, like a store's product photos."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    out, total, i = [], 0, 0
    while total < target:
        if i % 250 == 100:  # a few large originals, as stores have
            size = rng.randint(2_000_000, 6_000_000)
        else:
            size = int(min(max(rng.lognormvariate(11.4, 0.9), 250), 2_500_000))
        name = f"catalog/product/{rng.choice(letters)}/{rng.choice(letters)}/img{i:06d}_main.jpg"
        out.append((name, size))
        total += size
        i += 1
    return out


def _image_bytes(rng, size):
    head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return head + rng.randbytes(max(size - len(head) - 2, 0)) + b"\xff\xd9"


def build_media(media_dir, target_bytes, use_corpus):
    """Fills `media_dir` with ~target_bytes in Magento's pub/media layout:
    catalog/product/<a>/<b>/<image> plus resized copies under
    catalog/product/cache/<32 hex>/<a>/<b>/, which on a real store hold most
    of the files. Uses the real corpus when present; below its size a
    deterministic subset of it is taken."""
    rng = random.Random(SEED)
    mtime = BASE_MTIME
    if use_corpus:
        files = _corpus_files()
        total = sum(p.stat().st_size for _, p in files)
        if target_bytes < total:
            # Every k-th file keeps the size mix of the whole corpus.
            k = max(1, round(total / max(target_bytes, 1)))
            files = files[::k]
        base = []
        for rel, src in files:
            mtime += 1
            _copy(src, media_dir / rel, mtime)
            base.append((rel, src))
        images = [(rel, src) for rel, src in base
                  if rel.startswith("catalog/product/") and rel.endswith((".jpg", ".png"))]
        written = sum(src.stat().st_size for _, src in base)
        sizes = {rel: src.stat().st_size for rel, src in images}
    else:
        gen = _generated_images(rng, min(target_bytes, 82_000_000))
        images = []
        for rel, size in gen:
            mtime += 1
            _write(media_dir / rel, _image_bytes(rng, size), mtime)
            images.append((rel, media_dir / rel))
        written = sum(size for _, size in gen)
        sizes = {rel: size for rel, size in gen}
    per_copy = sum(sizes.values())
    n = 0
    while per_copy and written + per_copy // 2 < target_bytes:
        cache_hash = hashlib.md5(f"{SEED}-{n}".encode()).hexdigest()
        for rel, src in images:
            mtime += 1
            tail = rel[len("catalog/product/"):]
            _copy(src, media_dir / "catalog/product/cache" / cache_hash / tail, mtime)
        written += per_copy
        n += 1
    _fix_dir_modes(media_dir)


# --------------------------------------------------------------------------
# Code: vendor/ and app/code/ of seeded PHP-like text.

_WORDS = ("product catalog customer order quote sales item price stock store "
          "website config attribute entity collection resource model block "
          "controller helper observer plugin repository factory interface data "
          "search criteria filter builder manager provider validator processor "
          "handler adapter request response result page layout template view "
          "cache index indexer action service payment shipping address tax "
          "category url rewrite media image gallery option value type group "
          "rule condition total invoice credit memo checkout cart session "
          "import export queue message consumer publisher schema setup patch").split()
_TYPES = ("int", "string", "array", "bool", "float", "?string", "?int", "void")


def _ident(rng, n=2):
    w = [rng.choice(_WORDS) for _ in range(n)]
    return w[0] + "".join(x.capitalize() for x in w[1:])


def _cls(rng):
    return "".join(rng.choice(_WORDS).capitalize() for _ in range(rng.randint(1, 3)))


def _php_method(rng, out):
    name = _ident(rng, rng.randint(2, 3))
    args = [f"{rng.choice(_TYPES[:5])} ${_ident(rng)}" for _ in range(rng.randint(0, 3))]
    ret = rng.choice(_TYPES)
    out.append("    /**")
    out.append(f"     * {rng.choice(('Retrieve', 'Set', 'Load', 'Save', 'Apply', 'Get'))} "
               f"{' '.join(rng.choice(_WORDS) for _ in range(rng.randint(2, 6)))}")
    out.append("     *")
    for a in args:
        out.append(f"     * @param {a}")
    out.append(f"     * @return {ret.lstrip('?')}")
    out.append(f"     * @throws {rng.choice(('LocalizedException', 'NoSuchEntityException', 'CouldNotSaveException'))}")
    out.append("     */")
    out.append(f"    public function {name}({', '.join(args)}): {ret}")
    out.append("    {")
    for _ in range(rng.randint(2, 12)):
        v, m, k = _ident(rng), _ident(rng), rng.randint(0, 999)
        r = rng.random()
        if r < 0.3:
            out.append(f"        ${v} = $this->{_ident(rng)}->{m}(${_ident(rng)}, {k});")
        elif r < 0.5:
            out.append(f"        if (${v} === null || ${v} > {k}) {{")
            out.append(f"            throw new LocalizedException(__('The \"%1\" {rng.choice(_WORDS)} "
                       f"{rng.choice(_WORDS)} is not valid.', ${v}));")
            out.append("        }")
        elif r < 0.7:
            out.append(f"        foreach ($this->{_ident(rng)} as ${v} => ${m}) {{")
            out.append(f"            $result[${v}] = ${m}->get{_cls(rng)}();")
            out.append("        }")
        elif r < 0.85:
            out.append(f"        $this->{v}['{_ident(rng)}_{rng.choice(_WORDS)}'] = {k};")
        else:
            out.append(f"        // {' '.join(rng.choice(_WORDS) for _ in range(rng.randint(4, 10)))}")
    out.append(f"        return ${_ident(rng)};" if ret != "void" else "        return;")
    out.append("    }")
    out.append("")


def _php_file(rng, namespace, size):
    name = _cls(rng)
    out = ["<?php", "/**", " * Copyright © Magento, Inc. All rights reserved.",
           " * See COPYING.txt for license details.", " */", "declare(strict_types=1);", "",
           f"namespace {namespace};", ""]
    for _ in range(rng.randint(2, 9)):
        out.append(f"use Magento\\{_cls(rng)}\\{rng.choice(('Api', 'Model', 'Framework'))}\\{_cls(rng)};")
    out += ["", "/**", f" * {' '.join(rng.choice(_WORDS) for _ in range(8))}", " */",
            f"class {name} extends Abstract{_cls(rng)} implements {_cls(rng)}Interface", "{"]
    for _ in range(rng.randint(1, 6)):
        v = _ident(rng)
        out += ["    /**", f"     * @var {_cls(rng)}", "     */", f"    private ${v};", ""]
    text_len = sum(len(x) + 1 for x in out)
    while text_len < size:
        before = len(out)
        _php_method(rng, out)
        text_len += sum(len(x) + 1 for x in out[before:])
    out.append("}")
    return ("\n".join(out) + "\n").encode()


def _xml_file(rng, size):
    out = ['<?xml version="1.0"?>', "<config>"]
    while sum(len(x) + 1 for x in out) < size:
        out.append(f'    <{rng.choice(_WORDS)} name="{_ident(rng)}" instance="{_cls(rng)}\\{_cls(rng)}" '
                   f'sortOrder="{rng.randint(1, 500)}"/>')
    out.append("</config>")
    return ("\n".join(out) + "\n").encode()


def build_code(root, n_files):
    """Writes ~n_files text files of 0.5-40 KB into root/vendor/<v>/<m>/ and
    root/app/code/<V>/<M>/ (PHP classes and XML config, compressing about
    5:1 with gzip -6 like real PHP), plus a Magento root skeleton: app/etc,
    pub/index.php, and a few files in pub/static and var that a code backup
    must leave out."""
    rng = random.Random(SEED + 1)
    mtime = BASE_MTIME + 5_000_000
    written = 0
    module = None
    while written < n_files:
        if module is None or rng.random() < 0.02:
            if rng.random() < 0.8:
                vendor, mod = rng.choice(("magento", "laminas", "symfony", "monolog", "guzzlehttp")), \
                    f"module-{_ident(rng).lower()}-{rng.randint(0, 99)}"
                base, ns = root / "vendor" / vendor / mod, f"{vendor.capitalize()}\\{_cls(rng)}"
            else:
                vendor, mod = _cls(rng), _cls(rng)
                base, ns = root / "app" / "code" / vendor / mod, f"{vendor}\\{mod}"
            module = (base, ns)
        base, ns = module
        size = int(min(max(rng.lognormvariate(8.3, 0.9), 500), 40_000))
        mtime += 1
        if rng.random() < 0.85:
            sub = rng.choice(("Model", "Block", "Controller/Adminhtml", "Api/Data", "Observer",
                              "Plugin", "Helper", "Setup/Patch/Data", "Test/Unit/Model", "Model/ResourceModel"))
            path = base / sub / f"{_cls(rng)}{written}.php"
            data = _php_file(rng, f"{ns}\\{sub.replace('/', chr(92))}", size)
        else:
            path = base / "etc" / f"{rng.choice(('di', 'events', 'webapi', 'acl', 'system'))}{written}.xml"
            data = _xml_file(rng, size)
        _write(path, data, mtime)
        written += 1
    write_skeleton(root, mtime)
    _fix_dir_modes(root)


_SKELETON = {
    "app/etc/env.php": b"<?php\nreturn [\n    'db' => [\n        'table_prefix' => '',\n"
                       b"        'connection' => ['default' => ['host' => 'localhost', 'dbname' => 'magento',"
                       b" 'username' => 'magento', 'password' => 'magento']],\n    ],\n];\n",
    "app/etc/config.php": b"<?php\nreturn ['modules' => ['Magento_Store' => 1, 'Magento_Catalog' => 1]];\n",
    "pub/index.php": b"<?php\nrequire __DIR__ . '/../app/bootstrap.php';\n",
    "bin/magento": b"#!/usr/bin/env php\n<?php\n",
    "composer.json": b'{"name": "magento/project-community-edition", "type": "project"}\n',
    "pub/static/deployed_version.txt": b"1700000000\n",
    "var/.htaccess": b"Require all denied\n",
    "var/log/system.log": b"[2024-01-01] main.INFO: cache cleared\n" * 100,
}


def write_skeleton(root, mtime, extra=None):
    """The Magento root around a tree: app/etc (env.php, config.php),
    pub/index.php, bin/magento (0755), composer.json, and a few files in
    pub/static and var that a code backup must leave out; `extra` maps more
    relative paths to their bytes. Returns the last mtime given."""
    for rel, data in {**_SKELETON, **(extra or {})}.items():
        mtime += 1
        _write(root / rel, data, mtime)
    os.chmod(root / "bin/magento", 0o755)
    return mtime


# --------------------------------------------------------------------------
# The cached source root.

class SourceRoot:
    """A built Magento root and its manifests.

    root            the Magento root (R): R/pub/media and the code tree
    media_manifest  manifest of R/pub/media
    code_manifest   manifest of R without CODE_EXCLUDES
    """

    def __init__(self, tag, root, media_manifest, code_manifest, source):
        self.tag, self.root, self.source = tag, root, source
        self.media_manifest, self.code_manifest = media_manifest, code_manifest

    @property
    def media_dir(self):
        return self.root / "pub" / "media"


def source_root(scale, quick=False, log=print):
    """Returns the SourceRoot for `scale` (1 = ~1 GB media, 20,000 code
    files), building it under Benchmarks/work/ when it is not there yet."""
    use_corpus = CORPUS_MEDIA.is_dir()
    source = "corpus" if use_corpus else "generated"
    if quick:
        media_bytes, code_files, tag = 6_000_000, 300, f"quick-{source}"
    else:
        media_bytes = int(MEDIA_BYTES_AT_SCALE_1 * scale)
        code_files = max(1, int(CODE_FILES_AT_SCALE_1 * scale))
        tag = f"s{scale:g}-{source}"
    root = WORK_DIR / f"src-{tag}"
    stamp = WORK_DIR / f"src-{tag}.manifest.json"
    if stamp.exists() and root.is_dir():
        data = json.loads(stamp.read_text())
        if data.get("version") == INPUTS_VERSION:
            return SourceRoot(tag, root, _tuples(data["media"]), _tuples(data["code"]), source)
    log(f"building inputs {tag} in {root} (media ~{media_bytes / 1e6:.0f} MB from {source}, "
        f"{code_files} code files); cached for later runs")
    if root.exists():
        subprocess.run(["rm", "-rf", str(root)], check=True)
    (root / "pub" / "media").mkdir(parents=True)
    build_media(root / "pub" / "media", media_bytes, use_corpus)
    build_code(root, code_files)
    media_m = manifest(root / "pub" / "media")
    code_m = manifest(root, CODE_EXCLUDES)
    tmp = stamp.with_suffix(".tmp")
    tmp.write_text(json.dumps({"version": INPUTS_VERSION, "media": media_m, "code": code_m}))
    tmp.rename(stamp)
    return SourceRoot(tag, root, media_m, code_m, source)


def db_only_root(scale, quick=False):
    """A SourceRoot with no files, for a run of DB cases only: building the
    file trees of a large scale takes minutes and gigabytes they do not use."""
    tag = "quick-db" if quick else f"s{scale:g}-db"
    root = WORK_DIR / f"src-{tag}"
    env = root / "app" / "etc" / "env.php"
    if not env.exists():
        env.parent.mkdir(parents=True, exist_ok=True)
        env.write_text("<?php\nreturn [];\n")
    return SourceRoot(tag, root, {}, {}, "none")


def _tuples(m):
    return {k: tuple(v) for k, v in m.items()}


# --------------------------------------------------------------------------
# Database.

def write_env_php(root, socket, user, password, dbname):
    """Writes root/app/etc/env.php the way Magento does, pointing at the
    server's socket, and creates root/var/backups."""
    def q(s):
        return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"
    text = ("<?php\nreturn [\n    'db' => [\n        'table_prefix' => '',\n        'connection' => [\n"
            "            'default' => [\n"
            f"                'host' => {q(socket)},\n"
            f"                'dbname' => {q(dbname)},\n"
            f"                'username' => {q(user)},\n"
            f"                'password' => {q(password)},\n"
            "                'model' => 'mysql4',\n                'engine' => 'innodb',\n"
            "                'active' => '1'\n            ]\n        ]\n    ],\n];\n")
    (root / "app" / "etc").mkdir(parents=True, exist_ok=True)
    (root / "var" / "backups").mkdir(parents=True, exist_ok=True)
    (root / "app" / "etc" / "env.php").write_text(text)
