"""Graded assignments from the chapter notebooks, with nbgrader (install: make setup-instructor).

    python tools/assignments.py release [CHAPTER ...] [--out release]
        For every chapter with exercises (or the ones named: "03", "03_algorithm" or a path), write
        a student edition, release/student/<chapter>.ipynb (solutions replaced by stubs, hidden
        tests removed, other cells read-only), and a solutions edition, release/solutions/.
    python tools/assignments.py grade SUBMISSIONS [--out grades.csv] [--autograded DIR]
        Autograde SUBMISSIONS/<student>/<chapter>.ipynb (or nbgrader's
        SUBMISSIONS/<student>/<chapter>/<chapter>.ipynb) and write one CSV row per exercise
        (student, chapter, exercise, points, max_points, note) plus a total per chapter and student;
        --autograded keeps the executed notebooks, whose test cells are the students' feedback.
    python tools/assignments.py student-book [--out _student_book] [--release DIR] [--build]
        A copy of the book whose chapters are the student editions (solutions and hidden tests
        removed); with --build, build it into _student_book/_build/html.
    python tools/assignments.py student-editions [--out student] [--release DIR]
        What the book's launch buttons (Colab, Binder) open and its download button offers, for every
        notebook of the book: student/<page>.ipynb (repository.path_to_book in _config.yml), the
        student edition without nbgrader's metadata or read-only marks, whose test cells print a
        failure instead of raising it so that "Run all" reaches the end. Committed; `make test`
        fails when they are not current (`make student`).
    python tools/assignments.py list [CHAPTER ...]
        The exercises of each chapter, their test cells and points.

The chapter notebooks are the single source. An exercise is a code cell with its solution between
`# BEGIN SOLUTION` and `# END SOLUTION` (two such cells in a row share one exercise), followed by
its test cell, the next code cell, usually `check.<name>(<name>)` from course_attn.check, with
optional `### BEGIN HIDDEN TESTS` / `### END HIDDEN TESTS` lines that students never see. This
tool adds the nbgrader cell metadata to copies (solution cells; test cells worth the exercise's
`points`, 1 unless course_attn.check says otherwise; every other cell read-only) and runs nbgrader
in a temporary course directory, so no notebook is ever edited by hand.
"""

from __future__ import annotations

import argparse
import copy
import csv
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import book_files  # noqa: E402

BEGIN, END = "BEGIN SOLUTION", "END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
CHECK_CALL = re.compile(r"^\s*check\.(\w+)\(", re.MULTILINE)
DEF = re.compile(r"^def (\w+)\(", re.MULTILINE)
CELL_TIMEOUT = 300  # seconds per cell when autograding, as for the book


class AssignmentError(Exception):
    """A notebook that cannot become an assignment, or an nbgrader step that failed."""


# ----------------------------------------------------------------------------- finding exercises


@dataclass
class Exercise:
    """The cells of one exercise in a chapter notebook."""

    name: str
    number: int
    solution_cells: list[int]
    test_cell: int
    points: int = 1
    functions: list[str] = field(default_factory=list)

    @property
    def grade_id(self) -> str:
        return f"{self.name}-test"


def _points(name: str) -> int:
    try:
        from course_attn.check import EXERCISES
    except ImportError:  # the package is not installed: one point each
        return 1
    return EXERCISES[name].points if name in EXERCISES else 1


def find_exercises(nb) -> list[Exercise]:
    """The exercises of a notebook, in order; ``AssignmentError`` if the markers are misplaced."""
    exercises, pending = [], []
    for i, cell in enumerate(nb.cells):
        source = cell.source
        if cell.cell_type != "code":
            continue
        if BEGIN in source or END in source:
            if source.count(BEGIN) != source.count(END):
                raise AssignmentError(f"cell {i}: {source.count(BEGIN)} '# {BEGIN}' but {source.count(END)} '# {END}'")
            pending.append(i)
        elif pending:
            functions = [f for j in pending for f in DEF.findall(nb.cells[j].source)]
            called = CHECK_CALL.findall(source)
            name = called[0] if called else (functions[0] if functions else f"exercise{len(exercises) + 1}")
            exercises.append(Exercise(name, len(exercises) + 1, pending, i, _points(name), functions))
            pending = []
        elif BEGIN_HIDDEN in source:
            raise AssignmentError(f"cell {i} has hidden tests but follows no solution cell")
    if pending:
        raise AssignmentError(f"solution cell {pending[-1]} has no test cell after it")
    names = [ex.name for ex in exercises]
    if len(set(names)) < len(names):
        raise AssignmentError(f"two exercises are called the same: {names}; name each after its own function")
    return exercises


def _check_markers(nb, path: Path) -> None:
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" and (BEGIN in cell.source or BEGIN_HIDDEN in cell.source):
            raise AssignmentError(f"{path.name}, cell {i}: a {cell.cell_type} cell mentions '{BEGIN}' or "
                                  f"'{BEGIN_HIDDEN}'; nbgrader would cut it; reword it")


def chapter_paths(names: list[str] | None = None) -> list[Path]:
    """The chapter notebooks named (a number prefix, a file name or a path); all with exercises by default."""
    if not names:
        return [p for p in book_files.toc_notebooks() if BEGIN in p.read_text()]
    every = sorted((ROOT / "chapters").glob("*.ipynb"))
    found = []
    for name in names:
        stem = Path(name).stem
        matches = [p for p in every if p.stem == stem or p.stem.startswith(stem + "_")]
        if not matches:
            raise AssignmentError(f"no chapter notebook matches {name!r}; chapters: {', '.join(p.stem for p in every)}")
        found += [p for p in matches if p not in found]
    return found


# ----------------------------------------------------------------------------- nbgrader metadata


def with_nbgrader_metadata(nb, path: Path):
    """A copy of ``nb`` whose cells carry the metadata nbgrader needs, outputs removed."""
    _check_markers(nb, path)
    exercises = find_exercises(nb)
    if not exercises:
        raise AssignmentError(f"{path.name} has no exercise (no '# {BEGIN}' cell)")
    nb = copy.deepcopy(nb)
    roles = {}
    for ex in exercises:
        for k, j in enumerate(ex.solution_cells):
            roles[j] = dict(solution=True, grade=False, locked=False, grade_id=f"{ex.name}-solution{k or ''}")
        roles[ex.test_cell] = dict(solution=False, grade=True, locked=True, grade_id=ex.grade_id, points=ex.points)
    for i, cell in enumerate(nb.cells):
        role = roles.get(i, dict(solution=False, grade=False, locked=True, grade_id=f"locked-{i:03d}"))
        cell.metadata["nbgrader"] = {"schema_version": 3, "task": False, **role}
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def _student_cleanup(nb):
    """Show the stubs in a student edition: drop the book's ``hide-input`` tag from solution cells."""
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            tags = [t for t in cell.metadata.get("tags", []) if t != "hide-input"]
            if tags:
                cell.metadata["tags"] = tags
            else:
                cell.metadata.pop("tags", None)
    return nb


# ----------------------------------------------------------------------------- nbgrader


def _nbgrader_api(course: Path):
    try:
        from nbgrader.apps import NbGraderAPI
        from traitlets.config import Config
    except ImportError as error:
        raise AssignmentError("nbgrader is not installed: make setup-instructor "
                              "(pip install -r requirements-instructor.txt)") from error
    # the notebooks' "python3" kernel must be this interpreter (its kernel.json says plain "python")
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    import nbgrader.api

    if not hasattr(nbgrader.api.get_alembic_version, "cache_info"):  # a subprocess for a constant:
        nbgrader.api.get_alembic_version = functools.lru_cache(nbgrader.api.get_alembic_version)  # once
    config = Config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.course_id = "course-attn"
    config.Execute.timeout = CELL_TIMEOUT
    config.Exchange.root = str(course / "exchange")
    return NbGraderAPI(config=config)


def _ok(result: dict, what: str) -> None:
    if not result.get("success"):
        raise AssignmentError(f"nbgrader {what} failed:\n{result.get('error', '')}\n{result.get('log', '')}")


def generate(course: Path, chapters: list[Path]):
    """Run nbgrader generate_assignment on each chapter inside the course directory ``course``."""
    api = _nbgrader_api(course)
    for path in chapters:
        nb = with_nbgrader_metadata(nbformat.read(path, as_version=4), path)
        source = course / "source" / path.stem / path.name
        source.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, source)
        _ok(api.generate_assignment(path.stem, force=True, create=True), f"generate_assignment {path.stem}")
    return api


def release(chapters: list[Path], out: Path) -> list[tuple[Path, Path]]:
    """Write ``out/student/<chapter>.ipynb`` and ``out/solutions/<chapter>.ipynb``; return the pairs."""
    written = []
    with tempfile.TemporaryDirectory(prefix="nbgrader-course-") as tmp:
        course = Path(tmp)
        generate(course, chapters)
        for sub in ("student", "solutions"):
            (out / sub).mkdir(parents=True, exist_ok=True)
        for path in chapters:
            student = _student_cleanup(nbformat.read(course / "release" / path.stem / path.name, as_version=4))
            nbformat.write(student, out / "student" / path.name)
            shutil.copyfile(course / "source" / path.stem / path.name, out / "solutions" / path.name)
            written.append((out / "student" / path.name, out / "solutions" / path.name))
    return written


@dataclass
class Grade:
    student: str
    chapter: str
    exercise: str
    points: float
    max_points: float
    note: str = ""


def find_submissions(folder: Path, known: dict[str, Path]) -> list[tuple[str, Path]]:
    """(student, notebook) for SUBMISSIONS/<student>/<chapter>.ipynb or .../<chapter>/<chapter>.ipynb."""
    found = []
    for student in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for nb_path in sorted([*student.glob("*.ipynb"), *student.glob("*/*.ipynb")]):
            if nb_path.stem in known and ".ipynb_checkpoints" not in nb_path.parts:
                found.append((student.name, nb_path))
            else:
                print(f"skipped {nb_path}: not a chapter with exercises", file=sys.stderr)
    return found


def grade(folder: Path, autograded: Path | None = None) -> list[Grade]:
    """Autograde every submission under ``folder``; one :class:`Grade` per student, chapter and exercise.

    With ``autograded``, the executed notebooks are kept there as ``<student>/<chapter>.ipynb``:
    what each test cell printed is the feedback a student can be given.
    """
    known = {p.stem: p for p in sorted((ROOT / "chapters").glob("*.ipynb")) if BEGIN in p.read_text()}
    submissions = find_submissions(folder, known)
    if not submissions:
        raise AssignmentError(f"no submitted chapter notebook under {folder} "
                              "(expected <student>/<chapter>.ipynb)")
    used = sorted({nb_path.stem for _, nb_path in submissions})
    grades = []
    with tempfile.TemporaryDirectory(prefix="nbgrader-course-") as tmp, warnings.catch_warnings():
        # nbgrader's own database sessions warn about objects "not in session"; the grades are right
        warnings.filterwarnings("ignore", message=".*not in session.*")
        course = Path(tmp)
        api = generate(course, [known[c] for c in used])
        from nbgrader.api import Gradebook

        for student, nb_path in submissions:
            chapter = nb_path.stem
            target = course / "submitted" / student / chapter / f"{chapter}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(nb_path, target)
            result = api.autograde(chapter, student, force=True, create=True)
            expected = find_exercises(nbformat.read(known[chapter], as_version=4))
            if not result.get("success"):
                error = (result.get("error") or "").strip().splitlines()
                note = "autograde failed: " + (error[-1] if error else "see the log")
                print(f"{student}/{chapter}: {note}\n{result.get('log', '')}", file=sys.stderr)
                grades += [Grade(student, chapter, ex.name, 0.0, float(ex.points), note) for ex in expected]
                continue
            with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "course-attn") as gb:
                scored = {g.name: (float(g.score), float(g.max_score))
                          for g in gb.find_submission_notebook(chapter, chapter, student).grades}
            grades += [Grade(student, chapter, ex.name, *scored[ex.grade_id]) for ex in expected]
            if autograded is not None:
                (autograded / student).mkdir(parents=True, exist_ok=True)
                shutil.copyfile(course / "autograded" / student / chapter / f"{chapter}.ipynb",
                                autograded / student / f"{chapter}.ipynb")
    return grades


def write_csv(grades: list[Grade], out: Path) -> None:
    """One row per exercise, then ``(total)`` rows per student and chapter and per student."""
    rows = []
    for student in sorted({g.student for g in grades}):
        mine = [g for g in grades if g.student == student]
        for chapter in sorted({g.chapter for g in mine}):
            part = [g for g in mine if g.chapter == chapter]
            rows += [[g.student, g.chapter, g.exercise, _n(g.points), _n(g.max_points), g.note] for g in part]
            rows.append([student, chapter, "(total)", _n(sum(g.points for g in part)),
                         _n(sum(g.max_points for g in part)), ""])
        rows.append([student, "(all)", "(total)", _n(sum(g.points for g in mine)),
                     _n(sum(g.max_points for g in mine)), ""])
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "chapter", "exercise", "points", "max_points", "note"])
        writer.writerows(rows)


def _n(x: float) -> str:
    return f"{x:g}"


# ----------------------------------------------------------------------------- a student edition of the book


def student_book(out: Path, build: bool = False, released: Path | None = None) -> Path:
    """Make ``out`` a copy of the book whose chapters with exercises are their student editions.

    Everything else the book reads (configuration, pages, extensions, static files) is linked, not
    copied, so the copy always builds like the book. The student editions come from
    ``released/student/`` (the output of ``release``) or are made afresh. The graded test cells are
    tagged ``raises-exception``, so a build runs them, shows their "not implemented yet" report and
    does not fail.
    """
    out = out.resolve()
    if out == ROOT or ROOT.is_relative_to(out):
        raise AssignmentError("--out must be a new folder, not the repository or one above it")
    if out.exists():
        shutil.rmtree(out)
    (out / "chapters").mkdir(parents=True)
    skip = {".git", ".venv", "_build", "chapters", "release", "autograded", out.name}
    for entry in ROOT.iterdir():
        if entry.name not in skip and not entry.name.startswith("."):
            (out / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    pages = book_files.toc_files()
    chapters = [p for p in pages if p.suffix == ".ipynb" and BEGIN in p.read_text()]
    for entry in (ROOT / "chapters").iterdir():
        if entry not in chapters and not entry.name.startswith("."):
            (out / "chapters" / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    with tempfile.TemporaryDirectory() as tmp:
        if released is None:
            students = [student for student, _ in release(chapters, Path(tmp))]
        else:
            students = [released / "student" / p.name for p in chapters]
            missing = [p.name for p in students if not p.exists()]
            if missing:
                raise AssignmentError(f"{released / 'student'} lacks {', '.join(missing)}: run release first")
        for student in students:
            nb = nbformat.read(student, as_version=4)
            for cell in nb.cells:
                if cell.metadata.get("nbgrader", {}).get("grade"):
                    cell.metadata["tags"] = [*cell.metadata.get("tags", []), "raises-exception"]
            nbformat.write(nb, out / "chapters" / student.name)
    print(f"student edition of the book: {out} ({len(chapters)} chapters without solutions)")
    if build:
        jb = Path(sys.executable).parent / "jupyter-book"
        subprocess.run([str(jb), "build", str(out), "-W", "-n", "--keep-going"], check=True)
        print(f"built: {out / '_build' / 'html' / 'index.html'}")
    return out


# ----------------------------------------------------------------------------- what the book's buttons give

NOTE_TAG = "student-edition"  # the note that reader_edition adds under the title
IMPORT = re.compile(r"^(import|from) \w")
# the lines between the markers of a solution or of hidden tests
SECRET = re.compile(r"BEGIN (?:SOLUTION|HIDDEN TESTS)[^\n]*\n(.*?)^[^\n]*END (?:SOLUTION|HIDDEN TESTS)",
                    re.DOTALL | re.MULTILINE)


def reader_edition(nb, path: Path):
    """Make nbgrader's student edition of chapter ``path`` the one a reader opens from the book.

    Every cell is editable (no nbgrader metadata, no read-only marks); each test cell prints a failure
    instead of raising it, so that "Run all" reaches the end; a note under the title says where the
    solutions are.
    """
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        role = cell.metadata.pop("nbgrader", {})
        cell.metadata.pop("editable", None)
        cell.metadata.pop("deletable", None)
        if role.get("grade"):
            cell.source = _report_only(cell.source, f"{path.name}, cell {role['grade_id']}")
    note = nbformat.v4.new_markdown_cell(_solutions_note(path), metadata={"tags": [NOTE_TAG]}, id=NOTE_TAG)
    if nb.nbformat_minor < 5:  # cell ids exist from format 4.5 on
        del note["id"]
    nb.cells.insert(1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0, note)
    return nb


def _report_only(source: str, where: str) -> str:
    """The test cell in a ``try`` that prints the traceback of a failure: "Run all" goes on."""
    if "'''" in source or '"""' in source:
        raise AssignmentError(f"{where}: a multi-line string would change when the cell is indented")
    lines = source.strip("\n").splitlines()
    n = 0
    while n < len(lines) and (IMPORT.match(lines[n]) or not lines[n].strip()):
        n += 1
    if n == len(lines):
        return source
    body = ["    " + line if line.strip() else "" for line in lines[n:]]
    return "\n".join(["import traceback", *[line for line in lines[:n] if line.strip()], "",
                      'try:  # a failure is printed, not raised, so that "Run all" goes on', *body,
                      "except Exception:", "    traceback.print_exc()"])


def _solutions_note(path: Path) -> str:
    repo = book_files.repository()
    rel = path.relative_to(ROOT).as_posix()
    colab = (f"https://colab.research.google.com/github/{repo['url'].removeprefix('https://github.com/')}"
             f"/blob/{repo['branch']}/{rel}")
    return ("> **Student edition.** Each exercise at the end of this chapter is yours to write: replace "
            "the stub (`raise NotImplementedError()`) with your code, then run the cell after it, whose "
            "`check.<exercise>(...)` says whether your code is right. The solutions are folded under "
            "each exercise in the book, and written out in the full notebook, "
            f"`{rel}` in the course's repository ([open it in Colab]({colab})).")


def student_editions(out: Path | None = None, released: Path | None = None) -> list[Path]:
    """Write ``out/<page>.ipynb`` for every notebook of the book: what its launch and download buttons give.

    ``out`` defaults to ``repository.path_to_book`` in _config.yml (``student/``). A chapter with
    exercises becomes its :func:`reader_edition`, made from nbgrader's student edition (taken from
    ``released/student/``, the output of ``release``, or made afresh); any other notebook is copied.
    Other notebooks in the folders written to (a chapter renamed or removed) are deleted.
    """
    out = (out or book_files.launch_folder()).resolve()
    if out == ROOT:
        raise AssignmentError("the student editions need a folder of their own: set repository.path_to_book")
    notebooks = book_files.toc_notebooks()
    chapters = [p for p in notebooks if BEGIN in p.read_text()]
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        if released is None:
            released = Path(tmp)
            release(chapters, released)
        for path in notebooks:
            target = out / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            if path in chapters:
                student = released / "student" / path.name
                if not student.exists():
                    raise AssignmentError(f"{student} is missing: run release first")
                nbformat.write(reader_edition(nbformat.read(student, as_version=4), path), target)
            else:
                shutil.copyfile(path, target)
            written.append(target)
    for old in {p for folder in {t.parent for t in written} for p in folder.glob("*.ipynb")} - set(written):
        old.unlink()
    return written


def solution_leaks(edition, chapter) -> list[str]:
    """What notebook ``edition`` shows of the solutions and hidden tests of ``chapter``.

    A line of them is shown if ``edition`` holds it more often than the rest of ``chapter`` does.
    """
    text = "\n".join(cell.source for cell in chapter.cells)
    public = SECRET.sub("", text)
    shown = "\n".join(cell.source for cell in edition.cells)
    secret = {line.strip() for block in SECRET.findall(text) for line in block.splitlines()
              if len(line.strip()) > 8}
    return ([f"'{marker}'" for marker in (BEGIN, BEGIN_HIDDEN) if marker in shown]
            + [repr(line) for line in sorted(secret) if shown.count(line) > public.count(line)])


# ----------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tools/assignments.py",
        description=__doc__.split("\n\n")[0] + "\n\nThe guide: chapters/for_instructors.md.",
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("release", help="write student and solutions editions of the chapters",
                            description="Write release/student/<chapter>.ipynb (stubs, no hidden tests, "
                                        "read-only cells) and release/solutions/<chapter>.ipynb.")
    p.add_argument("chapters", nargs="*", help='"03", "03_algorithm" or a path (default: every chapter '
                                               "of the book with exercises)")
    p.add_argument("--out", type=Path, default=ROOT / "release", help="output folder (default: release)")
    p = commands.add_parser("grade", help="autograde submitted notebooks into a CSV",
                            description="Autograde SUBMISSIONS/<student>/<chapter>.ipynb against the "
                                        "chapters as they are now (release and grade from the same commit).")
    p.add_argument("submissions", type=Path, help="folder with one sub-folder per student")
    p.add_argument("--out", type=Path, default=Path("grades.csv"), help="CSV to write (default: grades.csv)")
    p.add_argument("--autograded", type=Path, metavar="DIR",
                   help="also keep the executed notebooks in DIR/<student>/<chapter>.ipynb (feedback)")
    p = commands.add_parser("student-book", help="a copy of the book without solutions",
                            description="Copy the book with the student editions of the chapters.")
    p.add_argument("--out", type=Path, default=ROOT / "_student_book", help="folder (default: _student_book)")
    p.add_argument("--build", action="store_true", help="also build it with jupyter-book")
    p.add_argument("--release", type=Path, metavar="DIR",
                   help="take the student editions from DIR/student (made by release) instead of making them")
    p = commands.add_parser("student-editions", help="what the book's launch and download buttons give",
                            description="Write student/<page>.ipynb (repository.path_to_book in _config.yml) "
                                        "for every notebook of the book: stubs, no hidden tests, and test "
                                        "cells that let \"Run all\" go on.")
    p.add_argument("--out", type=Path, help="folder (default: repository.path_to_book, student/)")
    p.add_argument("--release", type=Path, metavar="DIR",
                   help="take nbgrader's student editions from DIR/student (made by release)")
    p = commands.add_parser("list", help="the exercises of each chapter")
    p.add_argument("chapters", nargs="*")
    args = parser.parse_args(argv)

    try:
        if args.command == "release":
            for student, solutions in release(chapter_paths(args.chapters), args.out):
                print(f"{student.relative_to(args.out)}  {solutions.relative_to(args.out)}")
        elif args.command == "grade":
            grades = grade(args.submissions, args.autograded)
            write_csv(grades, args.out)
            for student in sorted({g.student for g in grades}):
                mine = [g for g in grades if g.student == student]
                print(f"{student}: {_n(sum(g.points for g in mine))} / {_n(sum(g.max_points for g in mine))}")
            print(f"wrote {args.out}")
        elif args.command == "student-book":
            student_book(args.out, build=args.build, released=args.release)
        elif args.command == "student-editions":
            for path in student_editions(args.out, released=args.release):
                print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
        elif args.command == "list":
            for path in chapter_paths(args.chapters):
                exercises = find_exercises(nbformat.read(path, as_version=4))
                print(f"{path.stem}: {len(exercises)} exercise(s)")
                for ex in exercises:
                    print(f"  {ex.number}. {ex.name} ({ex.points} point{'s' * (ex.points != 1)}): "
                          f"solution cell(s) {ex.solution_cells}, test cell {ex.test_cell}")
    except AssignmentError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
