"""The seam through which the model has property examples checked: :class:`ExampleCheck`.

``Property``, ``DataModel`` and ``Integration`` reject an ``example`` that does not match
its property when they are built. Checking a value against a property is the payload
walker's job, and the walker belongs to the validation layer, which the model imports only
through its facades (DESIGN.md, Architecture). So the model *declares* the check it needs
here (:class:`ExampleCheck`), and :func:`property_example_problems` is such a facade: when
no check is passed in, it imports the one implementation
(:func:`flowintegrations.validation.walker.example_problems`) inside the function, at the
first example checked. Nothing is registered at import time, and nothing needs resetting:
a caller (a test) passes its own ``check=``.

Each caller checks with what it knows: a property alone (paths ``$.example...``), a model
that allows no additional properties, an integration with its definitions and
enumerations.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

from flowintegrations.errors import CatalogProblem

_Property = Any
"""A :class:`~flowintegrations.model.datamodel.Property`: named, not imported, because the
data model imports this module (no two modules import each other)."""

_DataModel = Any
"""A :class:`~flowintegrations.model.datamodel.DataModel`, named for the same reason."""

__all__ = [
    "ExampleCheck",
    "model_example_problems",
    "property_example_problems",
]


class ExampleCheck(Protocol):
    """Checks the ``example`` of one property (not of its nested properties).

    ``path`` is where the example sits (``$.example``, ``$.properties[0].example``);
    ``additional`` is the ``additional_properties`` of the property's model, and
    ``definitions`` / ``enumerations`` resolve names; ``None`` means "not known here", and
    what is not known is checked for shape only. Yields one problem per violation, each
    with the JSON path of the offending value.
    """

    def __call__(
        self,
        prop: _Property,
        path: str,
        *,
        additional: bool | None = None,
        definitions: Mapping[str, _DataModel] | None = None,
        enumerations: Mapping[str, Sequence[str]] | None = None,
    ) -> Iterator[CatalogProblem]:
        """The problems of ``prop.example``."""
        ...


def property_example_problems(
    prop: _Property,
    path: str,
    *,
    additional: bool | None = None,
    definitions: Mapping[str, _DataModel] | None = None,
    enumerations: Mapping[str, Sequence[str]] | None = None,
    check: ExampleCheck | None = None,
) -> Iterator[CatalogProblem]:
    """The problems of ``prop``'s own example, found by ``check`` (default: the walker's)."""
    if prop.example is None:
        return
    if check is None:
        from flowintegrations.validation.walker import example_problems  # noqa: PLC0415

        check = example_problems
    yield from check(
        prop, path, additional=additional, definitions=definitions, enumerations=enumerations
    )


def model_example_problems(
    properties: tuple[_Property, ...],
    path: str,
    *,
    additional: bool | None = None,
    definitions: Mapping[str, _DataModel] | None = None,
    enumerations: Mapping[str, Sequence[str]] | None = None,
    check: ExampleCheck | None = None,
) -> Iterator[CatalogProblem]:
    """The problems of every example in ``properties`` (nested ones too), below ``path``."""
    for index, prop in enumerate(properties):
        here = f"{path}[{index}]"
        yield from property_example_problems(
            prop,
            f"{here}.example",
            additional=additional,
            definitions=definitions,
            enumerations=enumerations,
            check=check,
        )
        yield from model_example_problems(
            prop.properties,
            f"{here}.properties",
            additional=additional,
            definitions=definitions,
            enumerations=enumerations,
            check=check,
        )
