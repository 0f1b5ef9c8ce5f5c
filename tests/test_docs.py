"""Every Python code block in README.md and docs/ runs, as written, in order per page.

A block fenced as ```` ```python ```` is executed; the only other Python fence allowed is
```` ```{.python .no-run} ````, for the rare block that cannot run on its own (a test file
that imports the page's module, code that needs a package another part provides). The
getting-started guide's project is also written to disk and run with pytest, as a reader
would.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
PYTHON_FENCES = {"python", "{.python .no-run}"}


def all_pages() -> list[Path]:
    """README.md and every docs page."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]


def pages() -> list[Path]:
    """README.md and every docs page that holds Python code."""
    return [p for p in all_pages() if BLOCK.search(p.read_text(encoding="utf-8"))]


def test_the_readme_has_code_to_run() -> None:
    """The README shows runnable Python (so the collection below is not vacuous)."""
    assert ROOT / "README.md" in pages()


def test_every_docs_page_with_python_is_collected() -> None:
    """The guide's pages with Python code are among the pages whose code runs."""
    expected = {
        "getting-started.md",
        "catalog.md",
        "topics.md",
        "validation.md",
        "delivery.md",
        "long-running.md",
        "testing.md",
        "configuration.md",
        "exceptions.md",
        "flow.md",
        "engine-client.md",
        "declaring.md",
        "transports.md",
    }
    assert expected <= {p.name for p in pages()}


def test_no_python_block_escapes_the_docs_test() -> None:
    """Python is fenced as ```python (run) or ```{.python .no-run}, never as py or pycon."""
    odd = [
        f"{page.relative_to(ROOT)}: ```{info}"
        for page in all_pages()
        for info, _ in FENCE.findall(page.read_text(encoding="utf-8"))
        if "py" in info and info not in PYTHON_FENCES
    ]
    assert odd == []


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_code_blocks_run(page: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's blocks execute in order, sharing one namespace, from the repository root."""
    monkeypatch.chdir(ROOT)
    text = page.read_text(encoding="utf-8")
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 2
        name = f"{page.relative_to(ROOT)}:{line}"
        exec(compile(match.group(1), name, "exec"), namespace)


def project_files(page: Path) -> dict[str, str]:
    """The blocks of ``page`` whose first line is ``# <file name>``, by file name."""
    files = {}
    for _, body in FENCE.findall(page.read_text(encoding="utf-8")):
        first = body.split("\n", 1)[0]
        if re.fullmatch(r"# [\w.-]+\.(py|toml)", first):
            files[first[2:]] = body
    return files


def test_the_getting_started_project_passes_its_tests(pytester: pytest.Pytester) -> None:
    """The guide's greeter.py, test_greeter.py and pyproject.toml give five passing tests."""
    files = project_files(ROOT / "docs" / "getting-started.md")
    assert sorted(files) == ["call_greeter.py", "greeter.py", "pyproject.toml", "test_greeter.py"]
    for name, body in files.items():
        (pytester.path / name).write_text(body, encoding="utf-8")
    pytester.syspathinsert()
    result = pytester.runpytest_inprocess("-v")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(
        [
            "test_greeter.py::test_greets_in_romanian PASSED*",
            "test_greeter.py::test_nothing_is_dead_lettered PASSED*",
            "greeter:app::greeter/greet/example-1-english-by-default PASSED*",
            "greeter:app::greeter/greet/example-2-romanian PASSED*",
            "greeter:app::greeter/greet/example-3-a-name-is-needed PASSED*",
        ]
    )


MKDOCS = shutil.which("mkdocs", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(MKDOCS is None, reason="mkdocs is not installed (pip install -e '.[docs]')")
def test_the_user_guide_builds_without_warnings(tmp_path: Path) -> None:
    """`mkdocs build --strict` succeeds: no broken link, no page left out of the nav."""
    assert MKDOCS is not None
    build = subprocess.run(
        [MKDOCS, "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    assert (tmp_path / "site" / "getting-started" / "index.html").is_file()
