"""The command's wording: counts, hints, empty catalogs, and where each line goes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flowintegrations.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = str(ROOT / "examples" / "catalog.json")
ADAPTER = str(ROOT / "examples" / "notifications_adapter.py")


def write(tmp_path: Path, data: object, name: str = "catalog.json") -> str:
    """Write ``data`` as JSON to ``tmp_path/name`` and return the path."""
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


DEFINITIONS_ONLY = {
    "integrations": [
        {
            "name": "Profiles",
            "identifier": "profiles",
            "definitions": {
                "customer": {"properties": [{"name": "id", "type": "STRING"}]},
                "empty": {"properties": []},
            },
        }
    ]
}


def test_check_warns_on_an_empty_catalog(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`check` of `{}` passes with a warning that the catalog is empty, counted as one."""
    path = write(tmp_path, {})
    assert main(["check", path]) == 0
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == (
        f"{path}: ok (0 integrations, 0 scenarios, 0 examples, 1 warning)\n",
        "warning: $.integrations: the catalog is empty (no integrations)\n",
    )


def test_check_strict_fails_an_empty_catalog(tmp_path: Path) -> None:
    """`check --strict` of `{}` exits 1: the empty catalog is a warning."""
    assert main(["check", "--strict", write(tmp_path, {})]) == 1


def test_check_counts_one_of_each_in_the_singular(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One integration, one scenario: `1 integration, 1 scenario`, not `1 integrations`."""
    data = {
        "integrations": [
            {
                "name": "N",
                "identifier": "n",
                "scenarios": [{"name": "S", "identifier": "s", "topics": [{"out": "o"}]}],
            }
        ]
    }
    path = write(tmp_path, data)
    assert main(["check", path]) == 0
    assert capsys.readouterr().out == (
        f"{path}: ok (1 integration, 1 scenario, 0 examples, 0 warnings)\n"
    )


def test_check_of_a_file_that_is_not_a_catalog_object_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A JSON array is not a catalog: one `error:` line without a `$:` path, exit 1."""
    assert main(["check", write(tmp_path, [])]) == 1
    assert capsys.readouterr().err == "error: a catalog is a JSON object, got an array\n"


def test_summary_of_a_catalog_with_only_definitions_shows_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`summary` lists each definition and its properties, not just the title."""
    assert main(["summary", write(tmp_path, DEFINITIONS_ONLY)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "Profiles (profiles)",
        "  definition customer: id",
        "  definition empty: (anything)",
    ]


def test_list_of_a_catalog_file_points_to_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """`list CATALOG.json` says list takes MODULE:OBJ and names the `summary` line to run."""
    assert main(["list", EXAMPLE]) == 1
    assert capsys.readouterr().err == (
        f"error: list takes MODULE:OBJ (an App or a FlowService), and {EXAMPLE!r} is a file: "
        f"for a catalog file, `flowintegrations summary {EXAMPLE}` lists its scenarios\n"
    )


def test_list_without_the_flow_extra_hints_on_stderr() -> None:
    """Without the flow extra, the install hint is quoted for zsh and goes to stderr only."""
    code = (
        "import sys; sys.modules['starlette'] = None\n"
        "from flowintegrations.cli import main\n"
        f"sys.exit(main(['list', {ADAPTER + ':app'!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    rows = [line.split("\t")[:2] for line in done.stdout.splitlines()]
    assert (done.returncode, rows, done.stderr) == (
        0,
        [["notifications", "generate-otp"], ["notifications", "send-email"]],
        "note: pip install 'flowintegrations[flow]' to list the Boomi Flow endpoints too\n",
    )


HELP = {
    "check": "check check a catalog file or MODULE:APP",
    "schema": "schema print a scenario's JSON Schema (of a catalog file or MODULE:APP)",
}


@pytest.mark.parametrize("command", sorted(HELP))
def test_check_and_schema_help_say_they_take_module_app(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The help of `check` and `schema`, and the command list, name MODULE:APP."""
    with pytest.raises(SystemExit):
        main([command, "--help"])
    usage = " ".join(capsys.readouterr().out.split())
    with pytest.raises(SystemExit):
        main(["--help"])
    listing = " ".join(capsys.readouterr().out.split())
    assert (
        f"{command} [-h]" in usage,
        "CATALOG|MODULE:APP" in usage,
        HELP[command] in listing,
    ) == (
        True,
        True,
        True,
    )
