"""The API reference (docs/api/, mkdocstrings) has every public name of every public module."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "docs" / "api"
PUBLIC_MODULES = {
    "flowintegrations",
    "flowintegrations.deadletter",
    "flowintegrations.errors",
    "flowintegrations.loading",
    "flowintegrations.testing",
    "flowintegrations.testing.broker",
    "flowintegrations.testing.examples",
    "flowintegrations.testing.plugin",
    "flowintegrations.testing.strategies",
    "flowintegrations.transport",
    "flowintegrations.transport.nats",
    "flowintegrations.vocabulary",
}
MKDOCS = shutil.which("mkdocs", path=str(Path(sys.executable).parent))


def documented_modules() -> dict[str, Path]:
    """The module each API page renders (its ``::: module`` line), by module name."""
    found = {}
    for page in sorted(API.glob("*.md")):
        for module in re.findall(r"^::: ([\w.]+)$", page.read_text(encoding="utf-8"), re.M):
            found[module] = page
    return found


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The user guide, built once with `mkdocs build --strict`."""
    assert MKDOCS is not None, "mkdocs is not installed: pip install -e '.[docs]'"
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [MKDOCS, "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    return out


def test_every_public_module_has_an_api_page() -> None:
    """Each public module is rendered by exactly one page of docs/api."""
    assert set(documented_modules()) == PUBLIC_MODULES


@pytest.mark.parametrize("module", sorted(PUBLIC_MODULES))
def test_every_public_name_is_in_the_reference(module: str, site: Path) -> None:
    """Every name in the module's __all__ has an entry (an anchor) on its built page."""
    page = documented_modules()[module]
    html = (site / "api" / page.stem / "index.html").read_text(encoding="utf-8")
    names = importlib.import_module(module).__all__
    missing = [name for name in names if f'id="{module}.{name}"' not in html]
    assert missing == []
