#!/usr/bin/env python3
"""Makes a Magento-shaped store root for the demo: code, a media tree, and app/etc/env.php
pointing at the private MariaDB server (FASTBACKUP_TEST_MYSQL_* from scripts/lib/mariadb.sh).

Media comes from the real product images in the corpus when it is there, copied into
Magento's layout with a few `catalog/product/cache/<hash>/` copies; otherwise seeded
incompressible files of realistic sizes stand in for them."""
import argparse, hashlib, os, random, shutil

def php_file(rng, i):
    words = ["customer", "order", "product", "quote", "price", "stock", "catalog", "store", "payment", "shipping"]
    lines = ["<?php", "declare(strict_types=1);", f"namespace Demo\\Shop\\Model{i % 7};", ""]
    lines.append(f"class {rng.choice(words).title()}{i} extends \\Magento\\Framework\\Model\\AbstractModel")
    lines.append("{")
    for m in range(rng.randint(3, 30)):
        w = rng.choice(words)
        lines.append(f"    public function get{w.title()}{m}(int ${w}Id): ?array")
        lines.append("    {")
        lines.append(f"        return $this->_getResource()->load{w.title()}(${w}Id, '{w}_entity');")
        lines.append("    }")
    lines.append("}")
    return "\n".join(lines) + "\n"

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--corpus")
    ap.add_argument("--cache-copies", type=int, default=2)
    ap.add_argument("--dbname", default="magento_demo")
    a = ap.parse_args()
    rng = random.Random(2026)
    root = a.root
    for d in ["app/etc", "app/code/Demo/Shop", "bin", "generated/code", "pub/static/frontend", "var/log", "vendor/magento/framework"]:
        os.makedirs(os.path.join(root, d), exist_ok=True)
    with open(os.path.join(root, "app/code/Demo/Shop/registration.php"), "w") as f:
        f.write("<?php\n\\Magento\\Framework\\Component\\ComponentRegistrar::register('module', 'Demo_Shop', __DIR__);\n")
    for i in range(600):
        sub = os.path.join(root, "vendor/magento/framework", f"Module{i % 20}")
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, f"Class{i}.php"), "w") as f:
            f.write(php_file(rng, i))
    with open(os.path.join(root, "bin/magento"), "w") as f:
        f.write("#!/usr/bin/env php\n<?php\n")
    os.chmod(os.path.join(root, "bin/magento"), 0o755)
    sock = os.environ.get("FASTBACKUP_TEST_MYSQL_SOCKET", "localhost")
    with open(os.path.join(root, "app/etc/env.php"), "w") as f:
        f.write(f"""<?php
return [
    'backend' => ['frontName' => 'admin'],
    'db' => [
        'table_prefix' => '',
        'connection' => [
            'default' => [
                'host' => '{sock}',
                'dbname' => '{a.dbname}',
                'username' => '{os.environ.get("FASTBACKUP_TEST_MYSQL_USER", "root")}',
                'password' => '{os.environ.get("FASTBACKUP_TEST_MYSQL_PASSWORD", "")}',
                'active' => '1',
            ],
        ],
    ],
    'MAGE_MODE' => 'production',
];
""")
    media = os.path.join(root, "pub/media")
    source = os.path.join(a.corpus, "media") if a.corpus else None
    if source and os.path.isdir(source):
        shutil.copytree(source, media, symlinks=True)
        print(f"   media: the real product images from {source}")
    else:
        print("   media: generated image-like files (../shared/corpus is not here)")
        for i in range(400):
            sub = os.path.join(media, "catalog/product", "abcdefgh"[i % 8], "ijklmnop"[i // 8 % 8])
            os.makedirs(sub, exist_ok=True)
            size = int(min(2_500_000, rng.lognormvariate(11.4, 0.9)))
            with open(os.path.join(sub, f"img{i}.jpg"), "wb") as f:
                f.write(b"\xff\xd8\xff\xe0" + rng.randbytes(size))
    product = os.path.join(media, "catalog/product")
    originals = [os.path.join(dp, n) for dp, _, ns in os.walk(product) for n in ns]
    for c in range(a.cache_copies):
        h = hashlib.md5(f"cache{c}".encode()).hexdigest()
        for src in originals:
            rel = os.path.relpath(src, product)
            dst = os.path.join(product, "cache", h, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(src, dst)

if __name__ == "__main__":
    main()
