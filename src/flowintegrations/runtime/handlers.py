"""Handler functions: what shape they may have, and how the runtime reads that shape."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, get_type_hints

import attrs

from flowintegrations.errors import HandlerRegistrationError
from flowintegrations.runtime.context import Context

__all__ = ["Handler", "HandlerSpec", "call_handler", "handler_name"]

Handler = Callable[[Any], Any] | Callable[[Any, Context], Any]
"""A handler: ``fn(payload)`` or ``fn(payload, ctx)``, sync or async.

It returns the reply payload (a dict, or an attrs instance), or ``None`` for no reply; an
async handler returns an awaitable of that. When the payload parameter is annotated with
an attrs class, the validated request is structured into it.
"""


@attrs.frozen
class HandlerSpec:
    """A handler function and what its signature says about how to call it.

    ``inline``: a sync handler called on the event loop itself, not on a worker thread
    (``@app.handler(scenario, inline=True)``: for quick handlers that never block).
    """

    fn: Handler
    takes_context: bool
    is_async: bool
    request_type: type[Any] | None
    inline: bool = False

    @classmethod
    def of(cls, fn: object, *, inline: bool = False) -> HandlerSpec:
        """Read ``fn``'s signature; raises HandlerRegistrationError for a bad shape.

        ``inline=True`` is refused for an ``async def`` handler, which runs on the loop
        anyway.
        """
        if not callable(fn):
            msg = f"a handler must be callable, got {fn!r}"
            raise HandlerRegistrationError(msg)
        if inline and inspect.iscoroutinefunction(fn):
            msg = (
                f"handler {handler_name(fn)} is async: it runs on the event loop already, "
                "inline=True is for sync handlers"
            )
            raise HandlerRegistrationError(msg)
        try:
            params = list(inspect.signature(fn).parameters.values())
        except (TypeError, ValueError) as exc:
            msg = f"cannot read the signature of handler {handler_name(fn)}: {exc}"
            raise HandlerRegistrationError(msg) from exc
        positional = [
            p
            for p in params
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
        ]
        if len(positional) not in (1, 2):
            msg = (
                f"handler {handler_name(fn)} must take (payload) or (payload, ctx), "
                f"but takes {len(positional)} required positional parameters"
            )
            raise HandlerRegistrationError(msg)
        request_type = None
        try:
            hints = get_type_hints(fn)
        except Exception:  # noqa: BLE001 - unresolvable annotations: the payload stays a dict
            hints = {}
        hint = hints.get(positional[0].name)
        if isinstance(hint, type) and attrs.has(hint):
            request_type = hint
        return cls(
            fn=fn,
            takes_context=len(positional) == 2,
            is_async=inspect.iscoroutinefunction(fn),
            request_type=request_type,
            inline=inline,
        )


def call_handler(fn: Callable[..., Any], takes_context: bool, argument: Any, ctx: Any) -> Any:
    """Call a handler (or its traced wrapper) the way its signature asks: the one place.

    Returns what ``fn`` returns: the reply, or for an async handler an awaitable of it.
    """
    if takes_context:
        return fn(argument, ctx)
    return fn(argument)


def handler_name(fn: object) -> str:
    """The qualified name of a handler, for messages."""
    return getattr(fn, "__qualname__", None) or repr(fn)
