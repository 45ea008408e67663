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
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
import time
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
# Cache media: product originals and Magento's resized image cache.

# Scale 1: about 70,000 files (~1 GB), as a store with a few themes or store
# views keeps under pub/media.
CACHE_MEDIA_FILES_AT_SCALE_1 = 70_000
# The image sizes of the Luma theme's etc/view.xml. Magento resizes every
# product image once per size (and per theme or store view whose image
# settings differ) into catalog/product/cache/<32-hex hash of the settings>/.
LUMA_IMAGE_SIZES = ((75, 90), (88, 110), (110, 160), (135, 135), (140, 140),
                    (240, 300), (265, 265), (285, 285), (700, 560), (700, 700))
# Without the corpus: as many generated originals as it has product photos.
GENERATED_ORIGINALS = 725


def _cache_media_plan(available, target_files):
    """(originals, cache sets) for ~target_files: every original comes with
    one resized copy per size in each set of size folders, so the tree holds
    originals * (1 + 10 * sets) files. Below one full set, a spread subset
    of the originals with one set."""
    per_set = len(LUMA_IMAGE_SIZES)
    if target_files >= available * (1 + per_set):
        return available, max(1, round((target_files / available - 1) / per_set))
    return max(1, min(available, round(target_files / (1 + per_set)))), 1


def _corpus_originals():
    """The corpus's product photos: (relative path under pub/media, file)."""
    base = CORPUS_MEDIA / "catalog" / "product"
    files = sorted(p for p in base.rglob("*.jpg") if p.is_file() and not p.is_symlink()
                   and "cache" not in p.relative_to(base).parts)
    return [(p.relative_to(CORPUS_MEDIA).as_posix(), p) for p in files]


def _generated_original_names():
    rng = random.Random(SEED + 2)
    letters = "abcdefghijklmnopqrstuvwxyz"
    names = set()
    while len(names) < GENERATED_ORIGINALS:
        a, b = rng.choice(letters), rng.choice(letters)
        names.add(f"catalog/product/{a}/{b}/{a}{b}{rng.randint(0, 99999):05d}-{rng.choice(_WORDS)}_main.jpg")
    return sorted(names)


def _draw_original(index):
    """A seeded product photo: a smooth colour field with soft noise (so it
    compresses like a photo, not like a drawing) on a white background, at
    1000x1000 or more, as a PIL image."""
    from PIL import Image, ImageDraw
    rng = random.Random(SEED * 1000 + index)
    w, h = rng.choice(((1274, 1580), (1274, 1580), (1080, 1340), (1000, 1000), (1200, 1200), (1500, 1500)))
    field = Image.frombytes("RGB", (4, 5), rng.randbytes(60)).resize((w, h), Image.BICUBIC)
    noise = Image.frombytes("L", (w // 2, h // 2), rng.randbytes((w // 2) * (h // 2))).resize((w, h), Image.BICUBIC)
    photo = Image.blend(field, Image.merge("RGB", (noise, noise, noise)), 0.1)
    mask = Image.new("L", (w, h), 0)
    mx, my = int(w * rng.uniform(0.08, 0.2)), int(h * rng.uniform(0.05, 0.15))
    ImageDraw.Draw(mask).rounded_rectangle((mx, my, w - mx, h - my), radius=min(w, h) // rng.randint(3, 8), fill=255)
    out = Image.new("RGB", (w, h), (255, 255, 255))
    out.paste(photo, (0, 0), mask)
    return out


def _resized(im, width, height):
    """What Magento's image adapter makes of a product image for one size
    (keepAspectRatio, keepFrame, constrainOnly, white background): the image
    scaled to fit width x height, never enlarged, centred on a white frame of
    exactly that size."""
    from PIL import Image
    iw, ih = im.size
    r = min(width / iw, height / ih, 1.0)
    nw, nh = max(1, round(iw * r)), max(1, round(ih * r))
    frame = Image.new("RGB", (width, height), (255, 255, 255))
    frame.paste(im.resize((nw, nh), Image.BICUBIC), ((width - nw) // 2, (height - nh) // 2))
    return frame


def _save_jpeg(im, path, quality):
    """Saves as JPEG with the standard Huffman tables (what GD writes),
    atomically, so an interrupted build leaves no half image in the cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    im.save(tmp, "JPEG", quality=quality, optimize=False)
    os.replace(tmp, path)


def _image_cache_dir(source):
    """Where resized (and generated) images are kept across scales: each
    original is resized once per size, whatever the scale asks for."""
    d = WORK_DIR / f"cache-media-images-v{INPUT_VERSIONS['cache-media']}-{source}"
    for old in WORK_DIR.glob(f"cache-media-images-v*-{source}"):
        if old != d:
            subprocess.run(["rm", "-rf", str(old)], check=True)
    return d


def _image_set(chosen, cache, log):
    """Makes (once; cached) every original's resized images: returns
    {rel: (original file, {(w, h): resized file})}."""
    from PIL import Image
    out, made, t0 = {}, 0, time.perf_counter()
    for index, rel, src in chosen:
        if src is None:   # a generated original, drawn once
            src = cache / "originals" / rel
            if not src.exists():
                _save_jpeg(_draw_original(index), src, 90)
        sizes = {(w, h): cache / f"{w}x{h}" / rel for w, h in LUMA_IMAGE_SIZES}
        todo = [(wh, p) for wh, p in sizes.items() if not p.exists()]
        if todo:
            with Image.open(src) as im:
                im = im.convert("RGB")
                for (w, h), p in todo:
                    _save_jpeg(_resized(im, w, h), p, 80)
            made += 1
            if made % 100 == 0:
                log(f"  resized {made} originals ({time.perf_counter() - t0:.0f} s)")
        out[rel] = (src, sizes)
    if made:
        log(f"  resized {made} originals into {len(LUMA_IMAGE_SIZES)} sizes each in "
            f"{time.perf_counter() - t0:.0f} s (kept in {cache.name})")
    return out


def build_cache_media(media_dir, target_files, use_corpus, log=print):
    """Fills `media_dir` (a pub/media) with ~target_files in a live store's
    layout: product originals in catalog/product/<a>/<b>/, and Magento's
    image cache, catalog/product/cache/<32 hex>/<a>/<b>/, one hash folder per
    Luma image size holding every original resized to it (JPEG quality 80,
    standard Huffman tables, as GD writes). Further sets of size folders,
    as more themes or store views make, are real copies of the first.
    Returns what it made, for the report."""
    if use_corpus:
        originals = [(i, rel, src) for i, (rel, src) in enumerate(_corpus_originals())]
    else:
        originals = [(i, rel, None) for i, rel in enumerate(_generated_original_names())]
    n, sets = _cache_media_plan(len(originals), target_files)
    chosen = [originals[i * len(originals) // n] for i in range(n)]
    images = _image_set(chosen, _image_cache_dir("corpus" if use_corpus else "generated"), log)
    mtime = BASE_MTIME + 10_000_000
    for _, rel, _ in chosen:
        mtime += 1
        _copy(images[rel][0], media_dir / rel, mtime)
    for s in range(sets):
        for w, h in LUMA_IMAGE_SIZES:
            folder = media_dir / "catalog/product/cache" / hashlib.md5(f"{SEED}-{s}-{w}x{h}".encode()).hexdigest()
            for _, rel, _ in chosen:
                mtime += 1
                _copy(images[rel][1][(w, h)], folder / rel[len("catalog/product/"):], mtime)
    _fix_dir_modes(media_dir)
    return {"originals": n, "cache_folders": sets * len(LUMA_IMAGE_SIZES),
            "sizes": [f"{w}x{h}" for w, h in LUMA_IMAGE_SIZES]}


# --------------------------------------------------------------------------
# Vendor code: real PHP libraries from Debian's packages, plus generated/code.

# Scale 1: ~40,000 files in vendor/ and ~4,000 in generated/code.
VENDOR_FILES_AT_SCALE_1 = 40_000
GENERATED_CODE_FILES_AT_SCALE_1 = 4_000
# Debian's PHP libraries (Architecture: all; the compiled extensions are left
# out) ...
VENDOR_DEB_PATTERN = "^(php-|phpunit)"
# ... which hold ~27,000 files under usr/share, so also these PHP
# applications, each a composer package too.
VENDOR_DEB_APPS = ("simplesamlphp", "dokuwiki", "wordpress", "phpmyadmin", "zabbix-frontend-php",
                   "cacti", "roundcube-core", "icingaweb2")
# The .deb files, kept between builds (like Benchmarks/compression/run.sh's).
DEBS_DIR = WORK_DIR / "vendor-debs"
# What of a package's usr/share is not library code.
_NOT_CODE = {"doc", "doc-base", "lintian", "man", "bug"}


def _apt_php_packages(log):
    """The package names the vendor tree draws from, sorted. The list is
    kept in DEBS_DIR/packages.txt the first time, so later builds pick the
    same packages. [] when apt cannot list them."""
    listing = DEBS_DIR / "packages.txt"
    if listing.exists():
        return listing.read_text().split()
    if not (shutil.which("apt-cache") and shutil.which("apt-get") and shutil.which("dpkg-deb")):
        return []

    def search():
        r = subprocess.run(["apt-cache", "search", "--names-only", VENDOR_DEB_PATTERN],
                           capture_output=True, text=True)
        return sorted({line.split()[0] for line in r.stdout.splitlines() if line.strip()})

    names = search()
    if not names and os.geteuid() == 0:
        log("  no package lists: apt-get update")
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
        names = search()
    if not names:
        return []
    r = subprocess.run(["apt-cache", "show", "--no-all-versions", *names, *VENDOR_DEB_APPS],
                       capture_output=True, text=True)
    arch, pkg = {}, None
    for line in r.stdout.splitlines():
        if line.startswith("Package: "):
            pkg = line.split()[1]
        elif line.startswith("Architecture: ") and pkg:
            arch[pkg] = line.split()[1]
    keep = sorted(p for p in arch if arch[p] == "all")
    if keep:
        DEBS_DIR.mkdir(parents=True, exist_ok=True)
        listing.write_text("\n".join(keep) + "\n")
    return keep


def _deb_file(name):
    found = sorted(DEBS_DIR.glob(f"{name}_*.deb"))
    return found[-1] if found else None


def _fetch_debs(names):
    """Downloads the packages not yet in DEBS_DIR (apt-get download: never
    installed), into a partial folder first so a broken download is not
    kept."""
    missing = [n for n in names if _deb_file(n) is None]
    if not missing:
        return
    part = DEBS_DIR / "partial"
    part.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["apt-get", "download", "-q", *missing], cwd=part, capture_output=True)
    if r.returncode != 0:   # one bad name fails the lot: one by one
        for n in missing:
            subprocess.run(["apt-get", "download", "-q", n], cwd=part, capture_output=True)
    for deb in part.glob("*.deb"):
        os.replace(deb, DEBS_DIR / deb.name)


def _package_files(top):
    """A package's regular files under usr/share (docs, man pages and the
    like left out; symbolic links and names that are not UTF-8 skipped), as
    (path, path relative to the deepest folder holding them all)."""
    base = top / "usr" / "share"
    files = []
    for dirpath, dirnames, filenames in os.walk(base):
        if dirpath == str(base):
            dirnames[:] = [d for d in dirnames if d not in _NOT_CODE]
        dirnames.sort()
        for f in sorted(filenames):
            p = os.path.join(dirpath, f)
            rel = os.path.relpath(p, base)
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError:
                continue
            if "\n" in rel or os.path.islink(p) or not os.path.isfile(p):
                continue
            files.append((p, rel.split("/")))
    if not files:
        return []
    prefix = files[0][1][:-1]
    for _, parts in files:
        k = 0
        while k < len(prefix) and k < len(parts) - 1 and parts[k] == prefix[k]:
            k += 1
        prefix = prefix[:k]
    return [(p, "/".join(parts[len(prefix):])) for p, parts in files]


def _vendor_name(package):
    """vendor/<vendor>/<package> for a Debian package: php-symfony-console
    -> symfony/console, php-monolog -> monolog/monolog, phpunit-diff ->
    phpunit/diff, zabbix-frontend-php -> zabbix/frontend-php."""
    name = package[4:] if package.startswith("php-") else package
    vendor, _, rest = name.partition("-")
    return vendor, rest or vendor


def build_vendor_debian(root, n_files, log=print):
    """Lays ~n_files of Debian's PHP packages out as root/vendor/<vendor>/
    <package>/..., whole packages in a seeded order (the last one cut to
    fit); when all of them hold fewer, they are laid out again under
    <package>-2, -3, ... Returns what it used, or None when apt cannot list
    or fetch any package."""
    names = _apt_php_packages(log)
    if not names:
        return None
    order = list(names)
    random.Random(SEED + 3).shuffle(order)
    mtime = BASE_MTIME + 20_000_000
    written, php, used, taken, rnd = 0, 0, set(), [], 1
    tmp = WORK_DIR / "vendor-unpack"
    t0 = time.perf_counter()
    while written < n_files:
        added_this_round = 0
        for start in range(0, len(order), 25):
            if written >= n_files:
                break
            chunk = order[start:start + 25]
            _fetch_debs(chunk)
            for pkg in chunk:
                deb = _deb_file(pkg)
                if written >= n_files or deb is None:
                    continue
                subprocess.run(["rm", "-rf", str(tmp)], check=True)
                tmp.mkdir(parents=True)
                if subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp)], capture_output=True).returncode != 0:
                    continue
                files = _package_files(tmp)
                if not files:
                    continue
                vendor, package = _vendor_name(pkg)
                if rnd > 1:
                    package = f"{package}-{rnd}"
                while (vendor, package) in used:
                    package += "-x"
                used.add((vendor, package))
                dest = root / "vendor" / vendor / package
                for src, rel in files[:n_files - written]:
                    mtime += 1
                    _copy(Path(src), dest / rel, mtime)
                    written += 1
                    added_this_round += 1
                    php += rel.endswith(".php")
                taken.append(f"{pkg} ({deb.name.split('_')[1]})" if rnd == 1 else pkg)
        if added_this_round == 0:
            break
        if written < n_files:
            log(f"  {written} files with every package laid out {rnd}x; again under <package>-{rnd + 1}")
        rnd += 1
    subprocess.run(["rm", "-rf", str(tmp)], check=True)
    if written == 0:
        return None
    log(f"  vendor/: {written} files ({php} .php) from {len(set(t.split()[0] for t in taken))} Debian packages, "
        f"{time.perf_counter() - t0:.0f} s")
    return {"vendor_files": written, "php_files": php, "packages": taken, "rounds": rnd - 1}


_ARG_NAMESPACES = ("\\Magento\\Framework\\", "\\Magento\\Store\\Model\\", "\\Psr\\Log\\")


def _generated_class(rng, ns, cls, kind):
    """One of Magento's generated classes (an interceptor, factory or proxy
    of `ns\\cls`), as bin/magento setup:di:compile writes them."""
    full = f"\\{ns}\\{cls}"
    if kind == "Factory":
        return (f"<?php\nnamespace {ns};\n\n/**\n * Factory class for @see {full}\n */\nclass {cls}Factory\n{{\n"
                "    /**\n     * Object Manager instance\n     *\n     * @var \\Magento\\Framework\\ObjectManagerInterface\n"
                "     */\n    protected $_objectManager = null;\n\n    /**\n     * Instance name to create\n     *\n"
                "     * @var string\n     */\n    protected $_instanceName = null;\n\n    /**\n     * Factory constructor\n"
                "     *\n     * @param \\Magento\\Framework\\ObjectManagerInterface $objectManager\n"
                "     * @param string $instanceName\n     */\n"
                "    public function __construct(\\Magento\\Framework\\ObjectManagerInterface $objectManager, "
                f"$instanceName = '{full.replace(chr(92), chr(92) * 2)}')\n    {{\n"
                "        $this->_objectManager = $objectManager;\n        $this->_instanceName = $instanceName;\n    }\n\n"
                f"    /**\n     * Create class instance with specified parameters\n     *\n     * @param array $data\n"
                f"     * @return {full}\n     */\n    public function create(array $data = [])\n    {{\n"
                "        return $this->_objectManager->create($this->_instanceName, $data);\n    }\n}\n")
    args = [f"{rng.choice(_ARG_NAMESPACES)}{_cls(rng)} ${_ident(rng)}" for _ in range(rng.randint(1, 8))]
    out = [f"<?php\nnamespace {ns}\\{cls};\n"]
    if kind == "Interceptor":
        out.append(f"/**\n * Interceptor class for @see {full}\n */\nclass Interceptor extends {full} "
                   "implements \\Magento\\Framework\\Interception\\InterceptorInterface\n{\n"
                   "    use \\Magento\\Framework\\Interception\\Interceptor;\n\n"
                   f"    public function __construct({', '.join(args)})\n    {{\n        $this->___init();\n"
                   f"        parent::__construct({', '.join(a.split()[1] for a in args)});\n    }}\n")
        for _ in range(rng.randint(1, 14)):
            m = _ident(rng, rng.randint(2, 3))
            params = [f"${_ident(rng)}" for _ in range(rng.randint(0, 3))]
            out.append(f"\n    /**\n     * {{@inheritdoc}}\n     */\n    public function {m}({', '.join(params)})\n    {{\n"
                       f"        $pluginInfo = $this->pluginList->getNext($this->subjectType, '{m}');\n"
                       f"        return $pluginInfo ? $this->___callPlugins('{m}', func_get_args(), $pluginInfo) "
                       f": parent::{m}({', '.join(params)});\n    }}\n")
    else:
        out.append(f"/**\n * Proxy class for @see {full}\n */\nclass Proxy extends {full} "
                   "implements \\Magento\\Framework\\ObjectManager\\NoninterceptableInterface\n{\n"
                   "    protected $_objectManager = null;\n\n    protected $_instanceName = null;\n\n"
                   "    protected $_subject = null;\n\n    protected $_isShared = null;\n\n"
                   "    public function __construct(\\Magento\\Framework\\ObjectManagerInterface $objectManager, "
                   f"$instanceName = '{full.replace(chr(92), chr(92) * 2)}', $shared = true)\n    {{\n"
                   "        $this->_objectManager = $objectManager;\n        $this->_instanceName = $instanceName;\n"
                   "        $this->_isShared = $shared;\n    }\n\n    protected function _getSubject()\n    {\n"
                   "        if (!$this->_subject) {\n            $this->_subject = true === $this->_isShared\n"
                   "                ? $this->_objectManager->get($this->_instanceName)\n"
                   "                : $this->_objectManager->create($this->_instanceName);\n        }\n"
                   "        return $this->_subject;\n    }\n")
        for _ in range(rng.randint(1, 12)):
            m = _ident(rng, rng.randint(2, 3))
            params = [f"${_ident(rng)}" for _ in range(rng.randint(0, 3))]
            out.append(f"\n    /**\n     * {{@inheritdoc}}\n     */\n    public function {m}({', '.join(params)})\n    {{\n"
                       f"        return $this->_getSubject()->{m}({', '.join(params)});\n    }}\n")
    out.append("}\n")
    return "".join(out)


def build_generated_code(root, n_files, mtime):
    """Writes n_files of Magento's generated/code/: interceptors, factories
    and proxies (small, very alike PHP classes) of seeded classes."""
    rng = random.Random(SEED + 4)
    written = 0
    while written < n_files:
        ns = f"Magento\\{_cls(rng)}\\{rng.choice(('Model', 'Block', 'Controller', 'Api', 'Helper'))}"
        cls = _cls(rng)
        for kind in rng.sample(("Interceptor", "Factory", "Proxy"), rng.randint(1, 3)):
            if written >= n_files:
                break
            rel = ns.replace("\\", "/") + (f"/{cls}Factory.php" if kind == "Factory" else f"/{cls}/{kind}.php")
            path = root / "generated" / "code" / rel
            if path.exists():
                continue
            mtime += 1
            _write(path, _generated_class(rng, ns, cls, kind).encode(), mtime)
            written += 1
    return mtime


def build_vendor_code(root, vendor_files, generated_files, use_debian, log=print):
    """A Magento root whose vendor/ holds real PHP libraries (see
    build_vendor_debian), with generated/code/ and the root skeleton, plus
    files in pub/media, pub/static and var that a code backup must leave
    out. Without Debian's packages (use_debian False) vendor/ is the code
    input's seeded PHP instead. Returns what it used."""
    if use_debian:
        info = build_vendor_debian(root, vendor_files, log)
        if info is None:
            return None
    else:
        build_code(root, vendor_files)
        info = {"vendor_files": vendor_files}
    mtime = build_generated_code(root, generated_files, BASE_MTIME + 30_000_000)
    write_skeleton(root, mtime, {
        "pub/media/catalog/product/p/l/placeholder.jpg": _image_bytes(random.Random(SEED + 5), 20_000),
        "pub/media/.htaccess": b"Options -Indexes\n",
        "var/cache/mage--0/mage---1_CONFIG": b"a:0:{}\n" * 50,
        "pub/static/frontend/Magento/luma/en_US/requirejs-config.js": b"(function(require){})(require);\n" * 20,
    })
    _fix_dir_modes(root)
    info["generated_files"] = generated_files
    return info


# --------------------------------------------------------------------------
# The cached roots.

class Tree:
    """One input of the file cases.

    name      a key of TREES
    kind      what a backup of it holds: "media" (root/pub/media) or "code"
              (root without CODE_EXCLUDES)
    root      the Magento root (R) fastbackup is pointed at
    manifest  of the part a backup holds
    source    where its content came from: corpus, generated, debian
    info      what the build reported (counts, packages)
    """

    def __init__(self, name, root, manifest_, source, info=None):
        self.name, self.kind, self.root = name, TREES[name], root
        self.manifest, self.source, self.info = manifest_, source, info or {}

    @property
    def dir(self):
        """The folder a backup of this tree archives, and a rollback restores."""
        return self.root / "pub" / "media" if self.kind == "media" else self.root

    @property
    def excludes(self):
        return () if self.kind == "media" else CODE_EXCLUDES


class Inputs:
    """The trees of one pass.

    tag      quick, or s<scale>
    trees    name -> Tree, for the trees built
    missing  name -> why that tree could not be built
    env_php  an app/etc/env.php for the restore root
    """

    def __init__(self, tag, trees, missing, env_php):
        self.tag, self.trees, self.missing, self.env_php = tag, trees, missing, env_php


def _load(stamp, root, version):
    """The manifest file's data when it marks a finished build of `root` by
    this version of its generator, else None."""
    if stamp.exists() and root.is_dir():
        data = json.loads(stamp.read_text())
        if data.get("version") == version:
            return data
    return None


def _fresh(root):
    if root.exists():
        subprocess.run(["rm", "-rf", str(root)], check=True)
    root.mkdir(parents=True)


def _finish(stamp, data):
    tmp = stamp.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.rename(stamp)


def _store_trees(tag, scale, quick, log):
    """The media and code trees: one Magento root, src-<tag>-<source>."""
    use_corpus = CORPUS_MEDIA.is_dir()
    source = "corpus" if use_corpus else "generated"
    if quick:
        media_bytes, code_files = 6_000_000, 300
    else:
        media_bytes = int(MEDIA_BYTES_AT_SCALE_1 * scale)
        code_files = max(1, int(CODE_FILES_AT_SCALE_1 * scale))
    root = WORK_DIR / f"src-{tag}-{source}"
    stamp = WORK_DIR / f"src-{tag}-{source}.manifest.json"
    data = _load(stamp, root, INPUT_VERSIONS["store"])
    if data:
        return (Tree("media", root, _tuples(data["media"]), source),
                Tree("code", root, _tuples(data["code"]), "generated"))
    log(f"building inputs {tag}-{source} in {root} (media ~{media_bytes / 1e6:.0f} MB from {source}, "
        f"{code_files} code files); cached for later runs")
    _fresh(root)
    (root / "pub" / "media").mkdir(parents=True)
    build_media(root / "pub" / "media", media_bytes, use_corpus)
    build_code(root, code_files)
    media_m = manifest(root / "pub" / "media")
    code_m = manifest(root, CODE_EXCLUDES)
    _finish(stamp, {"version": INPUT_VERSIONS["store"], "media": media_m, "code": code_m})
    return Tree("media", root, media_m, source), Tree("code", root, code_m, "generated")


def _cache_media_tree(tag, scale, quick, log):
    """The cache-media tree: a Magento root src-cache-media-<tag>-<source>.
    Returns (Tree, '') or (None, why it cannot be built)."""
    use_corpus = CORPUS_MEDIA.is_dir() and bool(_corpus_originals())
    source = "corpus" if use_corpus else "generated"
    target = 440 if quick else max(1 + len(LUMA_IMAGE_SIZES), int(CACHE_MEDIA_FILES_AT_SCALE_1 * scale))
    root = WORK_DIR / f"src-cache-media-{tag}-{source}"
    stamp = WORK_DIR / f"src-cache-media-{tag}-{source}.manifest.json"
    data = _load(stamp, root, INPUT_VERSIONS["cache-media"])
    if data:
        return Tree("cache-media", root, _tuples(data["manifest"]), source, data["info"]), ""
    if importlib.util.find_spec("PIL") is None:   # the thumbnails are resized and encoded with Pillow
        return None, (f"Pillow is not installed for {sys.executable} (Debian: python3-pil), "
                      "so the image cache cannot be made")
    log(f"building inputs cache-media-{tag}-{source} in {root} (~{target} files: product images from {source} "
        f"and their resized cache); cached for later runs")
    t0 = time.perf_counter()
    _fresh(root)
    info = build_cache_media(root / "pub" / "media", target, use_corpus, log)
    write_skeleton(root, BASE_MTIME + 9_000_000)
    _fix_dir_modes(root)
    man = manifest(root / "pub" / "media")
    info["seconds"] = round(time.perf_counter() - t0, 1)
    _finish(stamp, {"version": INPUT_VERSIONS["cache-media"], "manifest": man, "info": info})
    files, _, size = count_entries(man)
    log(f"  cache-media: {files} files, {size / 1e6:.0f} MB ({info['originals']} originals, "
        f"{info['cache_folders']} cache folders), {info['seconds']:.0f} s")
    return Tree("cache-media", root, man, source, info), ""


def _vendor_code_tree(tag, scale, quick, log):
    """The vendor-code tree: a Magento root src-vendor-code-<tag>-<source>,
    from Debian's packages when apt can fetch them, else (with a note) from
    the code input's generator. Returns (Tree, '')."""
    if quick:
        vendor_files, generated_files = 300, 40
    else:
        vendor_files = max(1, int(VENDOR_FILES_AT_SCALE_1 * scale))
        generated_files = max(1, int(GENERATED_CODE_FILES_AT_SCALE_1 * scale))
    for source in ("debian", "generated"):
        root = WORK_DIR / f"src-vendor-code-{tag}-{source}"
        stamp = WORK_DIR / f"src-vendor-code-{tag}-{source}.manifest.json"
        data = _load(stamp, root, INPUT_VERSIONS["vendor-code"])
        if data:
            return Tree("vendor-code", root, _tuples(data["manifest"]), source, data["info"]), ""
        log(f"building inputs vendor-code-{tag}-{source} in {root} ({vendor_files} files in vendor/ from "
            f"{'Debian PHP packages' if source == 'debian' else 'seeded PHP'}, {generated_files} in "
            "generated/code); cached for later runs")
        t0 = time.perf_counter()
        _fresh(root)
        info = build_vendor_code(root, vendor_files, generated_files, source == "debian", log)
        if info is None:
            subprocess.run(["rm", "-rf", str(root)], check=True)
            log(f"  note: apt could not list or fetch Debian's PHP packages (into {DEBS_DIR}); "
                "vendor-code uses generated PHP instead")
            continue
        man = manifest(root, CODE_EXCLUDES)
        info["seconds"] = round(time.perf_counter() - t0, 1)
        _finish(stamp, {"version": INPUT_VERSIONS["vendor-code"], "manifest": man, "info": info})
        files, _, size = count_entries(man)
        log(f"  vendor-code: {files} files, {size / 1e6:.0f} MB, {info['seconds']:.0f} s")
        return Tree("vendor-code", root, man, source, info), ""
    return None, "the vendor-code tree could not be built"


def prepare(scale, names, quick=False, log=print):
    """The Inputs of one pass at `scale` (1 = the sizes above; quick = tiny):
    the trees named in `names` (keys of TREES), each built under
    Benchmarks/work/ when it is not there yet."""
    tag = "quick" if quick else f"s{scale:g}"
    trees, missing = {}, {}
    if {"media", "code"} & set(names):
        trees["media"], trees["code"] = _store_trees(tag, scale, quick, log)
    for name, make in (("cache-media", _cache_media_tree), ("vendor-code", _vendor_code_tree)):
        if name in names:
            tree, why = make(tag, scale, quick, log)
            if tree:
                trees[name] = tree
            else:
                missing[name] = why
                log(f"{name} cases skip: {why}")
    env = next((t.root / "app" / "etc" / "env.php" for t in trees.values()), None)
    if env is None:   # DB cases only: a root with no files
        env = WORK_DIR / f"src-{tag}-db" / "app" / "etc" / "env.php"
        if not env.exists():
            env.parent.mkdir(parents=True, exist_ok=True)
            env.write_text("<?php\nreturn [];\n")
    return Inputs(tag, trees, missing, env)


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
