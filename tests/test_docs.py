"""Every Python code block in README.md and docs/ runs, as written, in order per page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def pages() -> list[Path]:
    """README.md and every docs page that holds Python code."""
    candidates = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
    return [p for p in candidates if BLOCK.search(p.read_text(encoding="utf-8"))]


def test_the_readme_has_code_to_run() -> None:
    """The README shows runnable Python (so the collection below is not vacuous)."""
    assert ROOT / "README.md" in pages()


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
