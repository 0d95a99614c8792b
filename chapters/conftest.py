"""Under nbval (`make test-notebooks`), print each notebook's run time at the end of the run.

A notebook's time runs from the start of its first cell to the end of its last one (kernel
start-up included): the time "Run all" takes. The book asks for at most 45 s per chapter on
2 CPU cores (CONTRIBUTING.md).
"""

from collections import defaultdict

_spans: dict[str, list[float]] = defaultdict(list)
_cells: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::")[0]
    if not path.endswith(".ipynb"):
        return
    start = getattr(report, "start", None)
    stop = getattr(report, "stop", None)
    if start is not None and stop is not None:
        _spans[path] += [start, stop]
    _cells[path] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _cells:
        return
    terminalreporter.section("notebook run times")
    for path in sorted(_cells):
        span = _spans[path]
        wall = max(span) - min(span) if span else _cells[path]
        terminalreporter.write_line(
            f"{path}: {wall:.1f} s (cells {_cells[path]:.1f} s)")
