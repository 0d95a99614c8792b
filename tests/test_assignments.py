"""Graded assignments (tools/assignments.py, nbgrader): the proof that instructors can rely on them.

- every chapter's student edition has stubs instead of solutions, no hidden tests, nbgrader
  metadata on every cell, and its stubs fail the checks (statically, with course_attn.check);
- the solutions edition passes them;
- a student edition, executed by the autograder, runs top to bottom: only the test cells of the
  stubbed exercises fail, and they fail with "not implemented yet" (chapter 3);
- autograding a planted correct submission gives full marks and a planted wrong one (one exercise
  stubbed, one that passes the visible check but not the hidden tests) partial marks;
- the student editions that the book's launch and download buttons give (student/) are current,
  and their test cells print a failed check instead of raising it, so that "Run all" goes on.

nbgrader's exit codes say nothing about failed tests: these tests read the grades themselves.
They need nbgrader (requirements-instructor.txt); without it they are skipped, except on CI.
"""

from __future__ import annotations

import copy
import csv
import importlib.util
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest

from course_attn import check

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import assignments  # noqa: E402
import book_files  # noqa: E402
from test_check import OPTIONS, PRELUDE  # noqa: E402  (what solution cells find in their notebook)

HAVE_NBGRADER = importlib.util.find_spec("nbgrader") is not None
if not HAVE_NBGRADER and os.environ.get("CI"):
    raise RuntimeError("CI must run the assignment tests: make setup-instructor installs nbgrader")
needs_nbgrader = pytest.mark.skipif(
    not HAVE_NBGRADER, reason="nbgrader is not installed: make setup-instructor (CI installs it)")

GRADED = "03_algorithm"  # fast, three exercises, hidden tests in the first


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def cells_by_id(nb) -> dict:
    return {nbgrader_meta(c)["grade_id"]: c for c in nb.cells}


# ----------------------------------------------------------------------------- without nbgrader


def notebook(cells: list[tuple[str, str]]):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) if kind == "code" else nbformat.v4.new_markdown_cell(src)
                for kind, src in cells]
    return nb


def test_find_exercises_pairs_solutions_with_their_test_cells():
    nb = notebook([
        ("markdown", "## Exercises"),
        ("code", "def f(x):\n    # BEGIN SOLUTION\n    return x\n    # END SOLUTION"),
        ("code", "def g(x):\n    # BEGIN SOLUTION\n    return x\n    # END SOLUTION"),
        ("code", "assert f(1) == g(1) == 1"),
        ("code", "def attention_row(q, K, V):\n    # BEGIN SOLUTION\n    pass\n    # END SOLUTION"),
        ("code", "from course_attn import check\n\ncheck.attention_row(attention_row)"),
    ])
    first, second = assignments.find_exercises(nb)
    assert (first.name, first.solution_cells, first.test_cell, first.functions) == ("f", [1, 2], 3, ["f", "g"])
    assert (second.name, second.number, second.test_cell, second.points) == ("attention_row", 2, 5, 1)
    meta = assignments.with_nbgrader_metadata(nb, Path("x.ipynb"))
    roles = [(nbgrader_meta(c)["grade_id"], nbgrader_meta(c)["solution"], nbgrader_meta(c)["grade"],
              nbgrader_meta(c)["locked"]) for c in meta.cells]
    assert roles == [("locked-000", False, False, True), ("f-solution", True, False, False),
                     ("f-solution1", True, False, False), ("f-test", False, True, True),
                     ("attention_row-solution", True, False, False), ("attention_row-test", False, True, True)]
    assert nbgrader_meta(meta.cells[3])["points"] == 1
    assert "nbgrader" not in nb.cells[0].metadata, "the source notebook is left alone"


@pytest.mark.parametrize("cells, message", [
    ([("code", "def f():\n    # BEGIN SOLUTION\n    pass")], "but 0 '# END SOLUTION'"),
    ([("code", "def f():\n    # BEGIN SOLUTION\n    pass\n    # END SOLUTION")], "has no test cell"),
    ([("code", "### BEGIN HIDDEN TESTS\nassert 1\n### END HIDDEN TESTS")], "follows no solution cell"),
    ([("markdown", "Put it between # BEGIN SOLUTION and # END SOLUTION.")], "a markdown cell mentions"),
    ([("code", "x = 1")], "has no exercise"),
])
def test_misplaced_markers_are_refused_with_a_reason(cells, message):
    with pytest.raises(assignments.AssignmentError, match=message):
        assignments.with_nbgrader_metadata(notebook(cells), Path("x.ipynb"))


def test_chapters_are_named_by_number_or_name():
    assert [p.stem for p in assignments.chapter_paths(["03", "chapters/09_faq.ipynb"])] == ["03_algorithm", "09_faq"]
    assert {p.stem for p in assignments.chapter_paths()} >= {ex.chapter for ex in check.exercises()}
    with pytest.raises(assignments.AssignmentError, match="no chapter notebook matches '99'"):
        assignments.chapter_paths(["99"])


def test_the_grade_table_has_a_row_per_exercise_and_totals(tmp_path):
    grades = [assignments.Grade("ann", "03_algorithm", "attention_row", 1, 1),
              assignments.Grade("ann", "03_algorithm", "mha_parameters", 0, 2),
              assignments.Grade("ann", "00_getting_started", "my_attention", 1, 1)]
    assignments.write_csv(grades, tmp_path / "grades.csv")
    rows = list(csv.reader((tmp_path / "grades.csv").open()))
    assert rows == [["student", "chapter", "exercise", "points", "max_points", "note"],
                    ["ann", "00_getting_started", "my_attention", "1", "1", ""],
                    ["ann", "00_getting_started", "(total)", "1", "1", ""],
                    ["ann", "03_algorithm", "attention_row", "1", "1", ""],
                    ["ann", "03_algorithm", "mha_parameters", "0", "2", ""],
                    ["ann", "03_algorithm", "(total)", "1", "3", ""],
                    ["ann", "(all)", "(total)", "2", "4", ""]]


STUB_EXERCISE = [
    ("markdown", "# A chapter"),
    ("code", "def attention_row(q, K, V):\n"
             "    # BEGIN SOLUTION\n    raise NotImplementedError()\n    # END SOLUTION"),
    ("code", "from course_attn import check\n\n"
             "check.attention_row(attention_row)\nassert attention_row(1, 2, 3) is None"),
    ("code", "after = True"),
]


def test_a_reader_edition_lets_run_all_go_on_past_an_unfinished_exercise(capsys):
    chapter = ROOT / "chapters" / f"{GRADED}.ipynb"
    source = notebook(STUB_EXERCISE)
    edition = assignments.reader_edition(assignments.with_nbgrader_metadata(source, chapter), chapter)
    assert [c.metadata for c in edition.cells] == [{}, {"tags": ["student-edition"]}, {}, {}, {}], \
        "no nbgrader metadata, nothing read-only"
    note = edition.cells[1].source
    assert "Student edition" in note and f"/blob/main/chapters/{GRADED}.ipynb" in note, "the solutions"
    with pytest.raises(AssertionError, match="not implemented yet"):  # the cell as the autograder runs it
        exec(source.cells[1].source + "\n" + source.cells[2].source, {})
    namespace: dict = {}
    for cell in edition.cells[2:]:  # "Run all": no cell raises, the failure is printed
        exec(cell.source, namespace)
    out, err = capsys.readouterr()
    assert "check.attention_row (chapter 03, exercise 1: one output row by hand): not implemented yet" in out
    assert "AssertionError: attention_row: not implemented yet" in err and namespace["after"]


def test_a_test_cell_with_a_multi_line_string_is_refused():
    nb = notebook([STUB_EXERCISE[1], ("code", 'check.attention_row(attention_row)\n"""two\nlines"""')])
    path = ROOT / "chapters" / "x.ipynb"
    with pytest.raises(assignments.AssignmentError, match="multi-line string"):
        assignments.reader_edition(assignments.with_nbgrader_metadata(nb, path), path)


def test_solution_leaks_finds_solutions_and_hidden_tests_left_in_an_edition():
    chapter = nbformat.read(ROOT / "chapters" / f"{GRADED}.ipynb", as_version=4)
    solution = "'return 4 * per_projection  # num_heads does not matter'"
    hidden = "'expected_h, _ = ca.scaled_dot_product_attention(q_h[None], K_h, V_h)'"
    leaked = assignments.solution_leaks(chapter, chapter)
    assert {"'BEGIN SOLUTION'", "'BEGIN HIDDEN TESTS'", solution, hidden} <= set(leaked)
    edition = copy.deepcopy(chapter)
    for cell in edition.cells:  # markers gone, code left: still a leak
        cell.source = cell.source.replace("BEGIN", "").replace("END", "")
    assert {solution, hidden} <= set(assignments.solution_leaks(edition, chapter))
    edition.cells = [c for c in edition.cells if not ("per_projection" in c.source or "q_h" in c.source)]
    assert {solution, hidden} & set(assignments.solution_leaks(edition, chapter)) == set()


def test_the_command_line_documents_itself(capsys):
    for argv in (["--help"], ["release", "--help"], ["grade", "--help"], ["student-book", "--help"],
                 ["student-editions", "--help"]):
        with pytest.raises(SystemExit) as exit_:
            assignments.main(argv)
        assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "release/student/<chapter>.ipynb" in out and "--autograded" in out


# ----------------------------------------------------------------------------- every chapter, released


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    out = tmp_path_factory.mktemp("release")
    chapters = assignments.chapter_paths()
    assignments.release(chapters, out)
    return out, chapters


def exercises_of(path: Path):
    return assignments.find_exercises(nbformat.read(path, as_version=4))


@needs_nbgrader
def test_every_chapter_has_a_student_and_a_solutions_edition(released):
    out, chapters = released
    assert {p.stem for p in chapters} >= {ex.chapter for ex in check.exercises()}
    for path in chapters:
        source = nbformat.read(path, as_version=4)
        student = nbformat.read(out / "student" / path.name, as_version=4)
        solutions = nbformat.read(out / "solutions" / path.name, as_version=4)
        assert len(student.cells) == len(solutions.cells) == len(source.cells), path.stem
        assert all("nbgrader" in c.metadata for c in student.cells + solutions.cells)
        assert [c.source for c in solutions.cells] == [c.source for c in source.cells]
        text = "\n".join(c.source for c in student.cells)
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text, path.stem
        for ex in exercises_of(path):
            for i in ex.solution_cells:
                stub = student.cells[i]
                assert nbgrader_meta(stub)["solution"] and "raise NotImplementedError()" in stub.source
                assert "hide-input" not in stub.metadata.get("tags", []), "students see their stub"
                solution_lines = re.search(r"# BEGIN SOLUTION\n(.*?)# END SOLUTION", source.cells[i].source,
                                           re.DOTALL).group(1).strip().splitlines()
                assert not any(line.strip() in stub.source for line in solution_lines if len(line.strip()) > 8)
                for name in re.findall(r"^def (\w+)\(", source.cells[i].source, re.MULTILINE):
                    assert f"def {name}(" in stub.source, "the signature stays"
            test_cell = student.cells[ex.test_cell]
            assert nbgrader_meta(test_cell) | {"checksum": None} == {
                "grade": True, "solution": False, "locked": True, "task": False, "points": ex.points,
                "grade_id": f"{ex.name}-test", "schema_version": 3, "cell_type": "code", "checksum": None}
        others = [c for i, c in enumerate(student.cells)
                  if not any(i == ex.test_cell or i in ex.solution_cells for ex in exercises_of(path))]
        assert all(nbgrader_meta(c)["locked"] and c.metadata.get("editable") is False for c in others)


@needs_nbgrader
def test_the_committed_student_editions_are_current(released, tmp_path):
    out, _ = released
    assignments.student_editions(tmp_path, released=out)
    committed = book_files.launch_folder()
    fresh = {p.relative_to(tmp_path): p.read_text() for p in tmp_path.rglob("*.ipynb")}
    now = {p.relative_to(committed): p.read_text() for p in committed.rglob("*.ipynb")}
    assert sorted(fresh) == sorted(now), "run `make student`"
    stale = [str(name) for name in fresh if fresh[name] != now[name]]
    assert stale == [], "run `make student`"


@needs_nbgrader
def test_hidden_tests_are_kept_for_grading_and_cut_from_the_student_edition(released):
    out, _ = released
    hidden = {path.stem for path in sorted((out / "solutions").glob("*.ipynb"))
              if "### BEGIN HIDDEN TESTS" in path.read_text()}
    assert {"03_algorithm", "04_math"} <= hidden
    student = cells_by_id(nbformat.read(out / "student" / "03_algorithm.ipynb", as_version=4))
    assert "attention_row with 20 keys" not in student["attention_row-test"].source
    assert "check.attention_row(attention_row)" in student["attention_row-test"].source


@needs_nbgrader
@pytest.mark.parametrize("edition, passes", [("student", False), ("solutions", True)])
def test_every_stub_fails_and_every_solution_passes_its_check(released, edition, passes, capsys):
    out, _ = released
    for ex in check.exercises():
        nb = nbformat.read(out / edition / f"{ex.chapter}.ipynb", as_version=4)
        (found,) = [e for e in exercises_of(ROOT / "chapters" / f"{ex.chapter}.ipynb") if e.name == ex.name]
        namespace: dict = {}
        exec(PRELUDE, namespace)
        for i in found.solution_cells:
            exec(nb.cells[i].source, namespace)
        functions = [namespace[f] for f in found.functions]
        if passes:
            ex.check(*functions, **OPTIONS.get(ex.name, {}))
        else:
            with pytest.raises(AssertionError, match=f"^{ex.name}: not implemented yet$"):
                ex.check(*functions, **OPTIONS.get(ex.name, {}))
    capsys.readouterr()


@needs_nbgrader
def test_a_student_book_replaces_the_chapters_and_lets_the_test_cells_fail(released, tmp_path):
    out, chapters = released
    book = assignments.student_book(tmp_path / "book", released=out)
    assert (book / "_toc.yml").exists() and (book / "_config.yml").exists()
    for path in chapters:
        nb = nbformat.read(book / "chapters" / path.name, as_version=4)
        assert "BEGIN SOLUTION" not in "".join(c.source for c in nb.cells)
        graded = [c for c in nb.cells if nbgrader_meta(c).get("grade")]
        assert graded and all("raises-exception" in c.metadata["tags"] for c in graded)


# ----------------------------------------------------------------------------- autograding planted submissions


CHEAT = '''def attention_row(q, K, V):
    if len(K) > 8:  # right for the keys the visible check tries, wrong beyond
        return torch.zeros(V.shape[-1])
    scores = torch.stack([q @ k for k in K]) / math.sqrt(q.shape[-1])
    return scores.softmax(-1) @ V
'''


@pytest.fixture(scope="module")
def graded(released, tmp_path_factory):
    """Autograde planted submissions of chapter 3: correct, partly wrong, untouched, not a notebook."""
    out, _ = released
    folder = tmp_path_factory.mktemp("submitted")
    solutions = nbformat.read(out / "solutions" / f"{GRADED}.ipynb", as_version=4)
    student = nbformat.read(out / "student" / f"{GRADED}.ipynb", as_version=4)
    partly = copy.deepcopy(solutions)
    cells = cells_by_id(partly)
    cells["attention_row-solution"].source = CHEAT
    cells["score_matrix_mib-solution"].source = cells_by_id(student)["score_matrix_mib-solution"].source
    for name, nb in (("correct", solutions), ("partly", partly), ("untouched", student)):
        (folder / name).mkdir()
        nbformat.write(nb, folder / name / f"{GRADED}.ipynb")
    (folder / "broken").mkdir()
    (folder / "broken" / f"{GRADED}.ipynb").write_text("not a notebook")
    autograded = tmp_path_factory.mktemp("autograded")
    grades = assignments.grade(folder, autograded)
    assignments.write_csv(grades, folder / "grades.csv")
    table = {(r["student"], r["exercise"]): (float(r["points"]), float(r["max_points"]), r["note"])
             for r in csv.DictReader((folder / "grades.csv").open()) if r["chapter"] == GRADED}
    return table, autograded


@needs_nbgrader
def test_a_correct_submission_gets_full_marks(graded):
    table, _ = graded
    assert table[("correct", "(total)")] == (3.0, 3.0, "")
    for name in ("attention_row", "score_matrix_mib", "mha_parameters"):
        assert table[("correct", name)] == (1.0, 1.0, "")


@needs_nbgrader
def test_a_submission_that_cannot_be_graded_gets_zero_and_a_note(graded):
    table, _ = graded
    points, max_points, note = table[("broken", "attention_row")]
    assert (points, max_points) == (0.0, 1.0) and note.startswith("autograde failed")


@needs_nbgrader
def test_a_wrong_submission_gets_partial_marks_and_the_hidden_tests_count(graded):
    table, autograded = graded
    assert table[("partly", "attention_row")][0] == 0.0, "passes the visible check, fails the hidden test"
    assert table[("partly", "score_matrix_mib")][0] == 0.0, "a stub"
    assert table[("partly", "mha_parameters")][0] == 1.0
    assert table[("partly", "(total)")] == (1.0, 3.0, "")
    cells = cells_by_id(nbformat.read(autograded / "partly" / f"{GRADED}.ipynb", as_version=4))
    feedback = "".join(o.get("text", "") + "".join(o.get("traceback", [])) for o in cells["attention_row-test"].outputs)
    assert "all 4 tests passed" in feedback and "attention_row with 20 keys" in feedback


@needs_nbgrader
def test_the_student_edition_runs_top_to_bottom_but_for_its_stubs(graded):
    table, autograded = graded
    assert table[("untouched", "(total)")] == (0.0, 3.0, "")
    nb = nbformat.read(autograded / "untouched" / f"{GRADED}.ipynb", as_version=4)
    failed = {i for i, c in enumerate(nb.cells) if c.cell_type == "code"
              and any(o.output_type == "error" for o in c.outputs)}
    graded_cells = {i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("grade")}
    assert failed == graded_cells and len(graded_cells) == 3
    for i in graded_cells:
        assert "not implemented yet" in "".join(o.get("text", "") for o in nb.cells[i].outputs)
    assert sum(c.cell_type == "code" and bool(c.outputs) for c in nb.cells) > 20, "the chapter ran"
