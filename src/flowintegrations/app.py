"""The adapter: :class:`App` holds the options, the handler registry and the lifecycle.

The work is done elsewhere: the handling pipeline
(:class:`~flowintegrations.runtime.Pipeline`) turns a request into an outcome, and the
delivery loop (:class:`~flowintegrations.runtime.DeliveryLoop`) feeds it from the
transport and sends what it answers, at least once. ``docs/architecture.md`` shows the way
a message takes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from flowintegrations.codec import JsonCodec
from flowintegrations.errors import (
    HandlerRegistrationError,
    ScenarioNotFoundError,
    TransportError,
)
from flowintegrations.model import Integration, Scenario, find_scenario
from flowintegrations.retry import Retry
from flowintegrations.runtime import DeliveryLoop, Pipeline, Route, TopicRoute
from flowintegrations.runtime.deferred import (
    Deferrals,
    DeferredReply,
    MemoryReplyLedger,
    ReplyLedger,
)
from flowintegrations.runtime.handlers import Handler, HandlerSpec, handler_name
from flowintegrations.runtime.heap import frozen_heap
from flowintegrations.runtime.sending import Sender
from flowintegrations.runtime.transactional import Transactions
from flowintegrations.transport import (
    InMemoryTransport,
    Record,
    Subscription,
    SupportsTransactions,
    TopicPartition,
    Transport,
)
from flowintegrations.vocabulary import ENVIRONMENT_VAR

if TYPE_CHECKING:
    from flowintegrations.runtime.telemetry import Instrumentation

__all__ = ["App", "Handler"]

log = logging.getLogger("flowintegrations.app")

H = TypeVar("H", bound=Handler)

ENV_VAR = ENVIRONMENT_VAR
"""The old name of :data:`flowintegrations.vocabulary.ENVIRONMENT_VAR`."""


class App:
    """An adapter: the integrations it serves, their handlers, and the loop that runs them.

    ``transport=None`` runs on a fresh :class:`~flowintegrations.transport.InMemoryTransport`
    (which the app then owns and stops); a transport passed in is started if needed and
    left running for its owner. ``environment`` picks each scenario's topic binding and
    defaults to the ``FLOWINTEGRATIONS_ENV`` environment variable. Failing handlers are
    retried per ``retry``; what still fails goes to ``<topic><dead_letter_suffix>``.
    ``telemetry`` (e.g. :class:`flowintegrations.observability.Telemetry`) is told of every
    request, try, send and commit: traces and metrics; ``None`` (the default) is off.

    ``defer_secret`` signs the tokens of deferred replies (``ctx.defer()``; default: the
    ``FLOWINTEGRATIONS_DEFER_SECRET`` environment variable; a sequence: the first signs,
    all verify); ``reply_ledger`` remembers which were answered (default: in memory, for
    this app only). :meth:`reply_later` answers a deferred reply; :meth:`send` feeds a
    process waiting in a message receive task. ``docs/long-running.md`` tells the story.

    ``exactly_once=True`` (on a transport with transactions: Kafka) handles each batch of
    requests in a transaction that also commits their offsets, so that the engine, reading
    committed records only, sees every reply exactly once even across crashes; handlers'
    own side effects are not covered (``docs/reliability.md``). Other transports refuse it
    at :meth:`start` with :class:`~flowintegrations.errors.TransportError`.

    While :meth:`serve` (or :meth:`run`) serves, the objects made at start-up are left out
    of the collector's full collections (``gc.freeze()``, undone when it returns), which
    saves their walk every ten thousand requests or so; ``freeze_heap=False`` leaves the
    collector alone (:mod:`flowintegrations.runtime.heap`).

    Lifecycle: :meth:`start` joins the consumer group and starts the loop; :meth:`stop`
    finishes what was fetched, commits and leaves the group, and stops the transport if
    the app owns it. Stopping ends a *run*, not the app: a stopped app starts again (a new
    member of its group), provided its transport is still open; a transport the app owns
    was stopped with it, so :meth:`start` then raises
    :class:`~flowintegrations.errors.TransportClosedError` (give it another with
    :meth:`use_transport`). Transports and :class:`~flowintegrations.EngineClient` are
    different: their ``stop()`` is final.
    """

    def __init__(
        self,
        *integrations: Integration,
        transport: Transport | None = None,
        environment: str | None = None,
        group_id: str | None = None,
        retry: Retry = Retry(),  # noqa: B008 - Retry is a frozen value
        dead_letter_suffix: str = ".DLT",
        max_in_flight: int = 10_000,
        max_batch: int = 500,
        commit_interval: float = 0.5,
        shutdown_timeout: float = 30.0,
        codec: JsonCodec | None = None,
        defer_secret: str | bytes | Sequence[str | bytes] | None = None,
        reply_ledger: ReplyLedger | None = None,
        telemetry: Instrumentation | None = None,
        exactly_once: bool = False,
        freeze_heap: bool = True,
    ) -> None:
        ids = [i.identifier for i in integrations]
        if len(set(ids)) != len(ids):
            msg = f"integrations with the same identifier given twice: {ids!r}"
            raise HandlerRegistrationError(msg)
        if not dead_letter_suffix:
            msg = "dead_letter_suffix must not be empty: dead letters need their own topic"
            raise ValueError(msg)
        self.integrations: tuple[Integration, ...] = integrations
        self._owns_transport = transport is None
        self.transport: Transport = transport if transport is not None else InMemoryTransport()
        self.environment = environment if environment is not None else os.environ.get(ENV_VAR)
        self.group_id = group_id or "flowintegrations." + "+".join(sorted(ids) or ["app"])
        self.retry = retry
        self.dead_letter_suffix = dead_letter_suffix
        self.max_in_flight = max_in_flight
        self.max_batch = max_batch
        self.commit_interval = commit_interval
        self.shutdown_timeout = shutdown_timeout
        self.codec = codec or JsonCodec()
        self.deferrals = Deferrals.configure(defer_secret, os.environ)
        self.reply_ledger: ReplyLedger = reply_ledger or MemoryReplyLedger()
        self.exactly_once = exactly_once
        self.freeze_heap = freeze_heap
        self._sender: Sender | None = None
        self._event_loop: asyncio.AbstractEventLoop | None = None
        self.telemetry = telemetry
        self._specs: dict[tuple[str, str], tuple[Integration, Scenario, HandlerSpec]] = {}
        self._pipeline: Pipeline | None = None
        self._loop: DeliveryLoop | None = None
        self._running = False
        self._stopping = False
        self._fatal: BaseException | None = None
        self._stopped: asyncio.Event | None = None

    def __repr__(self) -> str:
        ids = ", ".join(i.identifier for i in self.integrations)
        return (
            f"App({ids}, environment={self.environment!r}, group_id={self.group_id!r}, "
            f"handlers={len(self._specs)})"
        )

    @property
    def owns_transport(self) -> bool:
        """Whether the app stops its transport when it stops (it made it, or was given it)."""
        return self._owns_transport

    def assignment(self) -> frozenset[TopicPartition]:
        """The partitions this app's consumer-group member holds now (empty when stopped)."""
        subscription = self._subscription
        if subscription is None or not self._running:
            return frozenset()
        return subscription.assignment()

    def is_handled(self, record: Record) -> bool:
        """Whether this app fully handled the consumed ``record``: replied or dead-lettered.

        Fully handled means what it sent was acknowledged, so its offset may be committed.
        """
        if record.partition is None or record.offset is None:
            msg = f"{record!r} was not consumed: it has no partition and offset"
            raise ValueError(msg)
        loop = self._loop
        tp = TopicPartition(record.topic, record.partition)
        return loop is not None and loop.is_done(tp, record.offset)

    def use_transport(self, transport: Transport, *, owned: bool = True) -> None:
        """Run on ``transport`` instead; call before :meth:`start`.

        With ``owned=True`` the app stops the transport when it stops.
        """
        if self._running:
            msg = "cannot change the transport of a running app"
            raise RuntimeError(msg)
        self.transport = transport
        self._owns_transport = owned
        self._sender = None

    # Registration --------------------------------------------------------------------------

    def handler(self, scenario: Scenario | str, *, inline: bool = False) -> Callable[[H], H]:
        """Register the decorated function as the handler of ``scenario``.

        Where it runs: an ``async def`` handler on the event loop (the fast path); a
        ``def`` handler on a worker thread, so that a blocking call stalls no other
        partition; a ``def`` handler with ``inline=True`` on the event loop, like an
        async one, for a quick handler that never blocks (it saves the hop to a thread,
        and gives up the protection; ``reply_later_sync`` refuses to run in it: await
        :meth:`reply_later` from an async handler instead). docs/performance.md says
        what each costs.

        ``scenario`` is a :class:`~flowintegrations.Scenario` of one of the app's
        integrations, or its identifier (``"integration/scenario"`` when ambiguous). The
        function takes ``(payload)`` or ``(payload, ctx)``; when the payload parameter is
        annotated with an attrs class, the validated request is structured into it. It
        returns the reply payload (a dict, or an attrs instance), or ``None`` for no reply.
        Raises :class:`~flowintegrations.errors.HandlerRegistrationError` for an unknown
        scenario, a scenario with no request side (no out topic: see :meth:`send`), a
        scenario registered twice, a function of the wrong shape, or ``inline=True`` for
        an async function.
        """
        try:
            integration, found = find_scenario(self.integrations, scenario, owner="this app")
        except ScenarioNotFoundError as exc:
            raise HandlerRegistrationError(str(exc)) from None
        if found.topics and all(b.out_topic is None for b in found.topics):
            msg = (
                f"scenario {found.identifier!r} has no out topic: the engine sends nothing to "
                "handle; feed its in topic with app.send()"
            )
            raise HandlerRegistrationError(msg)

        def register(fn: H) -> H:
            key = (integration.identifier, found.identifier)
            if key in self._specs:
                msg = (
                    f"scenario {found.identifier!r} of integration {integration.identifier!r} "
                    f"already has a handler: {handler_name(self._specs[key][2].fn)}"
                )
                raise HandlerRegistrationError(msg)
            self._specs[key] = (integration, found, HandlerSpec.of(fn, inline=inline))
            self._pipeline = None
            return fn

        return register

    @property
    def handlers(self) -> dict[tuple[str, str], Handler]:
        """The registered handlers by (integration identifier, scenario identifier)."""
        return {key: spec.fn for key, (_, _, spec) in self._specs.items()}

    def routes(self) -> list[tuple[Integration, Scenario, str, str | None]]:
        """(integration, scenario, out topic, in topic) of every handler, for this environment."""
        result = []
        for integration, scenario, _ in self._specs.values():
            binding = scenario.binding(self.environment)
            if binding.out_topic is None:  # start() refuses it: nothing would be read
                continue
            result.append((integration, scenario, binding.out_topic, binding.in_topic))
        return result

    @property
    def pipeline(self) -> Pipeline:
        """The handling pipeline of the registered handlers (the same one the loop uses).

        Raises :class:`~flowintegrations.errors.HandlerRegistrationError` when no handler
        is registered.
        """
        if not self._specs:
            msg = "the app has no handlers: register one with @app.handler(scenario)"
            raise HandlerRegistrationError(msg)
        if self._pipeline is None:
            self._pipeline = Pipeline(
                (Route.build(i, s, spec) for i, s, spec in self._specs.values()),
                retry=self.retry,
                codec=self.codec,
                environment=self.environment,
                deferrals=self.deferrals,
            )
        return self._pipeline

    def _topic_routes(self, pipeline: Pipeline) -> dict[str, TopicRoute]:
        """Each out topic of this environment and the route that reads it."""
        topic_routes: dict[str, TopicRoute] = {}
        for route in pipeline.routes:
            out_topic = route.scenario.topic("out", self.environment)
            in_topic = route.scenario.binding(self.environment).in_topic
            if out_topic in topic_routes:
                other = topic_routes[out_topic].route.scenario.identifier
                msg = (
                    f"scenarios {other!r} and {route.scenario.identifier!r} both read topic "
                    f"{out_topic!r} in environment {self.environment!r}"
                )
                raise HandlerRegistrationError(msg)
            topic_routes[out_topic] = TopicRoute(route, in_topic)
        return topic_routes

    # Messages the adapter starts -------------------------------------------------------------

    @property
    def sender(self) -> Sender:
        """What sends deferred answers and receive-task messages on the app's transport."""
        if self._sender is None or self._sender.transport is not self.transport:
            self._sender = Sender(
                self.integrations,
                self.transport,
                environment=self.environment,
                codec=self.codec,
                deferrals=self.deferrals,
                ledger=self.reply_ledger,
            )
        return self._sender

    async def reply_later(
        self, deferred: DeferredReply, payload: Any, *, error: str | BaseException | None = None
    ) -> Record:
        """Answer a request whose handler deferred; return the reply record once acknowledged.

        ``deferred`` comes from ``ctx.defer()``, maybe through ``DeferredReply.loads`` in
        another process (an app with the same integrations and secret). ``payload`` is
        validated against the scenario's input model and sent with the original
        correlation headers and key, as the immediate reply would have been; ``error``
        (with ``payload=None``) sends the FLOWX error reply ``{"error": message}``. It
        does not need the app to be running: it starts the transport if needed.

        Raises :class:`~flowintegrations.errors.ScenarioNotFoundError` for a scenario this
        app does not have, :class:`~flowintegrations.errors.InvalidDeferredReplyError` for
        a token not signed with this app's secret (or altered),
        :class:`~flowintegrations.ValidationError` for a payload that breaks the input
        model, and :class:`~flowintegrations.errors.DeferredReplyUsedError` when the token
        was answered already (refused, per the app's ``reply_ledger``).
        """
        return await self.sender.reply_later(deferred, payload, error=error)

    def reply_later_sync(
        self,
        deferred: DeferredReply,
        payload: Any,
        *,
        error: str | BaseException | None = None,
        timeout: float = 30.0,
    ) -> Record:
        """:meth:`reply_later` for synchronous code: a script, a sync web endpoint, a thread.

        While the app runs, the answer is sent from the app's event loop (call this from
        another thread; from the loop itself, await :meth:`reply_later`), waiting at most
        ``timeout`` seconds. When it is not running, it runs in a new event loop, once:
        meant for a script that answers and exits.
        """
        event_loop = self._event_loop
        coroutine = self.reply_later(deferred, payload, error=error)
        if event_loop is None:
            return asyncio.run(coroutine)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is event_loop:
            coroutine.close()
            msg = (
                "reply_later_sync() called from the app's event loop (an async or inline "
                "handler), where waiting for it would deadlock: await app.reply_later() there"
            )
            raise RuntimeError(msg)
        return asyncio.run_coroutine_threadsafe(coroutine, event_loop).result(timeout)

    async def send(
        self,
        scenario: Scenario | str,
        payload: Any,
        *,
        process_instance_id: int | str,
        headers: Mapping[str, str | bytes] | None = None,
    ) -> Record:
        """Feed a process waiting in a message receive task; return the record acknowledged.

        ``payload`` is validated against ``scenario``'s input model and put on its in topic
        with ``processInstanceId`` and ``headers`` (the correlation headers the engine
        expects, e.g. ``processInstanceUuid``, ``fxContext``, ``Fx-Organization-Id``). The
        scenario may have an in topic only (no request side). Raises
        :class:`~flowintegrations.errors.ScenarioNotFoundError` for an unknown scenario,
        :class:`~flowintegrations.CatalogError` when it has no in topic here, and
        :class:`~flowintegrations.ValidationError` for a payload or headers that break
        the scenario.
        """
        return await self.sender.send(
            scenario, payload, process_instance_id=process_instance_id, headers=headers
        )

    # Lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> App:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def _subscription(self) -> Subscription | None:
        loop = self._loop
        return None if loop is None else loop.subscription

    async def start(self) -> None:
        """Start the transport if needed, check the topics, join the group, start the loop."""
        if self._running:
            return
        pipeline = self.pipeline
        topic_routes = self._topic_routes(pipeline)
        await self.transport.start()
        produced = {r.in_topic for r in topic_routes.values() if r.in_topic}
        produced |= {topic + self.dead_letter_suffix for topic in topic_routes}
        await self.transport.ensure_topics(sorted(set(topic_routes) | produced))
        transactions = None
        if self.exactly_once:
            if not isinstance(self.transport, SupportsTransactions):
                msg = (
                    f"exactly_once=True needs a transport with transactions (KafkaTransport); "
                    f"{type(self.transport).__name__} has none"
                )
                raise TransportError(msg)
            transactions = Transactions(self.transport, self.group_id)
        pipeline.start()
        self._stopped = asyncio.Event()
        self._stopping = False
        self._fatal = None
        loop = DeliveryLoop(
            pipeline,
            self.transport,
            topic_routes,
            dead_letter_suffix=self.dead_letter_suffix,
            max_in_flight=self.max_in_flight,
            max_batch=self.max_batch,
            commit_interval=self.commit_interval,
            shutdown_timeout=self.shutdown_timeout,
            on_fatal=self._fail,
            transactions=transactions,
            telemetry=self.telemetry,
            group_id=self.group_id,
        )
        subscription = await self.transport.subscribe(
            sorted(topic_routes), group_id=self.group_id, listener=loop
        )
        self._loop = loop
        self._running = True
        self._event_loop = asyncio.get_running_loop()
        loop.run(subscription)
        for topic, topic_route in topic_routes.items():
            route = topic_route.route
            log.info(
                "listening on %s for %s/%s, replying on %s",
                topic,
                route.integration.identifier,
                route.scenario.identifier,
                topic_route.in_topic or "(no reply)",
                extra={"event": "listen", "topic": topic, "group_id": self.group_id},
            )

    async def stop(self) -> None:
        """Stop fetching, finish what was fetched (within ``shutdown_timeout``), commit, close.

        Records not finished in time are not committed: they will be delivered again; a
        handler failing now with tries left leaves its request for redelivery. Idempotent.
        """
        if not self._running or self._stopping:
            return
        self._stopping = True
        pipeline = self._pipeline
        if pipeline is not None:
            pipeline.stop()  # a failure with tries left is now left for redelivery
        try:
            if self._loop is not None:
                await self._loop.drain()
        finally:
            self._running = False
            self._event_loop = None
            if pipeline is not None:
                pipeline.close()
            if self._owns_transport:
                await self.transport.stop()
            if self._stopped is not None:
                self._stopped.set()
            log.info("stopped", extra={"event": "stop", "group_id": self.group_id})

    def run(self) -> None:
        """Run until SIGTERM or SIGINT, then stop gracefully. Blocks; returns when stopped."""
        asyncio.run(self.serve())

    async def serve(self) -> None:
        """Start, run until a signal or :meth:`stop`, then stop (the async form of :meth:`run`)."""
        await self.start()
        loop = asyncio.get_running_loop()
        installed = []
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, lambda: asyncio.ensure_future(self.stop()))
                installed.append(signum)
        try:
            with frozen_heap(self.freeze_heap):
                assert self._stopped is not None
                await self._stopped.wait()
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)
            await self.stop()
        if self._fatal is not None:
            raise self._fatal

    def _fail(self, exc: BaseException) -> None:
        if self._fatal is None:
            self._fatal = exc
        if self._stopped is not None:
            self._stopped.set()
