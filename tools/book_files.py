"""The book's files as _toc.yml lists them, and a check that notebooks carry no outputs.

    python tools/book_files.py notebooks   # print every notebook in _toc.yml
    python tools/book_files.py check       # fail if a notebook has outputs or is missing from _toc.yml
    python tools/book_files.py strip       # remove outputs and execution counts in place
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def toc_files(root: Path = ROOT) -> list[Path]:
    """Every page named in _toc.yml (root first), resolved to a file on disk."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    names = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                names.append(entry["file"])
            walk(entry.get("sections"))
            for part in entry.get("parts", []):
                walk(part.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    files = []
    for name in names:
        matches = [root / f"{name}{ext}" for ext in (".ipynb", ".md") if (root / f"{name}{ext}").exists()]
        if not matches:
            raise FileNotFoundError(f"_toc.yml names {name!r} but no {name}.ipynb or {name}.md exists")
        files.append(matches[0])
    return files


def toc_notebooks(root: Path = ROOT) -> list[Path]:
    return [f for f in toc_files(root) if f.suffix == ".ipynb"]


def notebook_problems(root: Path = ROOT) -> list[str]:
    """Notebooks with stored outputs or execution counts, and notebooks the book does not list."""
    listed = set(toc_notebooks(root))
    problems = []
    for nb_path in sorted((root / "chapters").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in nb_path.parts:
            continue
        cells = json.loads(nb_path.read_text())["cells"]
        dirty = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
        rel = nb_path.relative_to(root)
        if dirty:
            problems.append(f"{rel}: cells {dirty} carry outputs; run `python tools/book_files.py strip`")
        if nb_path not in listed:
            problems.append(f"{rel}: not listed in _toc.yml")
    return problems


def strip(root: Path = ROOT) -> None:
    for nb_path in (root / "chapters").rglob("*.ipynb"):
        nb = json.loads(nb_path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                cell["outputs"], cell["execution_count"] = [], None
        nb_path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "notebooks"
    if command == "notebooks":
        print(" ".join(str(p.relative_to(ROOT)) for p in toc_notebooks()))
    elif command == "check":
        problems = notebook_problems()
        print("\n".join(problems) or "notebooks: clean and all listed in _toc.yml")
        sys.exit(1 if problems else 0)
    elif command == "strip":
        strip()
    else:
        sys.exit(__doc__)
