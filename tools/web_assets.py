"""Copy the JavaScript the book needs from npm packages into _web/vendor, so no page needs a CDN.

    npm ci --prefix tools/web           # fetch the packages pinned in tools/web/package-lock.json
    python tools/web_assets.py          # copy what the pages load into _web/vendor

`_config.yml` points MathJax, mermaid, require.js and the Jupyter widget manager at these copies.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = ROOT / "tools" / "web" / "node_modules"
VENDOR = ROOT / "_web" / "vendor"  # served as _static/vendor (html_static_path: [_web])

# (source inside node_modules, destination inside _static/vendor)
ASSETS = [
    ("mathjax/es5", "mathjax"),  # tex-mml-chtml.js loads its fonts and extensions from beside it
    ("mermaid/dist/mermaid.esm.min.mjs", "mermaid/mermaid.esm.min.mjs"),
    ("mermaid/dist/chunks/mermaid.esm.min", "mermaid/chunks/mermaid.esm.min"),
    ("requirejs/require.js", "requirejs/require.js"),
    ("@jupyter-widgets/html-manager/dist", "html-manager"),  # embed-amd.js and its fonts
]
SKIP = shutil.ignore_patterns("*.map", "*.d.ts", "*.LICENSE.txt")


def copy_assets() -> None:
    missing = [src for src, _ in ASSETS if not (MODULES / src).exists()]
    if missing:
        sys.exit(f"missing npm packages {missing}: run `npm ci --prefix tools/web` first")
    shutil.rmtree(VENDOR, ignore_errors=True)
    for src, dst in ASSETS:
        source, target = MODULES / src, VENDOR / dst
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=SKIP)
        else:
            shutil.copy2(source, target)
    size = sum(f.stat().st_size for f in VENDOR.rglob("*") if f.is_file())
    print(f"web assets: {size / 2**20:.1f} MiB copied into {VENDOR.relative_to(ROOT)}")


if __name__ == "__main__":
    copy_assets()
