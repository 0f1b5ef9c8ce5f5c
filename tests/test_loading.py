"""Loading an App from MODULE:APP or path.py:APP, shared by the command line and the plugin."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import flowintegrations.cli
from flowintegrations import App, FlowIntegrationsError
from flowintegrations.loading import load_app, load_module_file

ADAPTER_SOURCE = """\
from flowintegrations import App, Integration, Scenario, TopicBinding

S = Scenario(
    "S", "s", topics=[TopicBinding("a.out", "a.in"), TopicBinding("p.out", environment="prod")]
)
app = App(Integration("I", "i", scenarios=[S]))
app.handler(S)(lambda payload: None)
not_an_app = 42
"""


@pytest.fixture(autouse=True)
def isolated_imports(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """sys.path and the modules loaded by a test are restored when it ends."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        del sys.modules[name]


def write_adapter(directory: Path, stem: str) -> Path:
    """Write the adapter module ``<stem>.py`` into ``directory``; return its path."""
    path = directory / f"{stem}.py"
    path.write_text(ADAPTER_SOURCE, encoding="utf-8")
    return path


def test_a_file_spec_gives_the_app_defined_in_that_file(tmp_path: Path) -> None:
    """`path/to/file.py:app` executes the file and returns its `app`."""
    path = write_adapter(tmp_path, "file_adapter")
    app = load_app(f"{path}:app")
    assert (type(app), app.integrations[0].identifier) == (App, "i")


def test_a_file_is_registered_under_its_stem(tmp_path: Path) -> None:
    """The executed file is the module `sys.modules[<stem>]`, so it imports only once."""
    path = write_adapter(tmp_path, "stem_adapter")
    app = load_app(f"{path}:app")
    assert app is sys.modules["stem_adapter"].app


def test_a_module_spec_is_imported_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`module:app` imports the module with the current directory first on sys.path."""
    write_adapter(tmp_path, "cwd_adapter")
    monkeypatch.chdir(tmp_path)
    app = load_app("cwd_adapter:app")
    assert (sys.path[0], sys.modules["cwd_adapter"].app) == (str(tmp_path), app)


def test_an_environment_replaces_the_apps_own(tmp_path: Path) -> None:
    """`environment=` sets the environment that picks the loaded app's bindings."""
    path = write_adapter(tmp_path, "env_adapter")
    app = load_app(f"{path}:app", environment="prod")
    routes = [(i.identifier, s.identifier, out, in_) for i, s, out, in_ in app.routes()]
    assert routes == [("i", "s", "p.out", None)]


def test_a_spec_without_an_attribute_is_refused() -> None:
    """A spec that is not MODULE:APP is an error that shows the expected form."""
    with pytest.raises(
        FlowIntegrationsError,
        match=r"^expected MODULE:APP \(e\.g\. my_adapter:app\), got 'my_adapter'$",
    ):
        load_app("my_adapter")


def test_a_missing_attribute_is_named(tmp_path: Path) -> None:
    """An attribute the module does not have is an error naming module and attribute."""
    path = write_adapter(tmp_path, "missing_adapter")
    with pytest.raises(FlowIntegrationsError) as caught:
        load_app(f"{path}:nothing")
    assert str(caught.value) == f"module {str(path)!r} has no attribute 'nothing'"


def test_an_attribute_that_is_not_an_app_is_refused(tmp_path: Path) -> None:
    """An attribute that is not an App is an error saying what it is."""
    path = write_adapter(tmp_path, "int_adapter")
    with pytest.raises(FlowIntegrationsError) as caught:
        load_app(f"{path}:not_an_app")
    assert str(caught.value) == f"'{path}:not_an_app' is a int, not an App"


def test_the_cli_still_exports_load_app() -> None:
    """`flowintegrations.cli.load_app` is the shared loader, for code that imported it there."""
    assert load_app is flowintegrations.cli.load_app


def test_a_module_file_is_loaded_under_the_name_given(tmp_path: Path) -> None:
    """load_module_file executes a file as the module name given, kept in sys.modules."""
    module = load_module_file(write_adapter(tmp_path, "named_adapter"), "some_other_name")
    assert (module.__name__, sys.modules["some_other_name"]) == ("some_other_name", module)


def test_a_file_that_is_not_python_source_is_refused(tmp_path: Path) -> None:
    """A path Python cannot import as source is an error naming the path."""
    path = tmp_path / "adapter.txt"
    path.write_text("app = 1\n", encoding="utf-8")
    with pytest.raises(FlowIntegrationsError) as caught:
        load_module_file(path, "adapter")
    assert str(caught.value) == f"cannot import {str(path)!r}: it is not a Python source file"


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    """load_module_file of a path that does not exist is a FlowIntegrationsError, as promised."""
    path = tmp_path / "missing.py"
    with pytest.raises(FlowIntegrationsError) as caught:
        load_module_file(path, "missing")
    assert str(caught.value) == f"cannot import {str(path)!r}: no such file"


def test_a_missing_module_is_refused() -> None:
    """A module that cannot be found is a FlowIntegrationsError naming it and the two forms."""
    with pytest.raises(FlowIntegrationsError) as caught:
        load_app("no_such_module_abc:app")
    assert str(caught.value) == (
        "no module named 'no_such_module_abc' (MODULE:APP names a module importable from the "
        "current directory, or a file: path/to/adapter.py:app)"
    )


def test_an_import_inside_the_module_that_fails_propagates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A module that is found but imports a missing package raises that package's error."""
    (tmp_path / "needy_module_abc.py").write_text("import no_such_dependency_abc\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModuleNotFoundError, match=r"^No module named 'no_such_dependency_abc'$"):
        load_app("needy_module_abc:app")
