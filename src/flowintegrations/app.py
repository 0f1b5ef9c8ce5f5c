"""The adapter runtime: :class:`App` registers handlers and runs the message loop.

One request's way through the loop::

    transport -> Record -> route by topic -> decode -> validate headers and request
    (output model) -> handler -> validate reply (input model) -> encode -> Record to the
    in topic (request headers copied, key = processInstanceUuid) -> broker ack -> offset
    done -> commit (batched)

Delivery is at-least-once without serialising the loop: replies are kept in flight, and
for each partition the committed offset only moves past records that are fully handled
(reply acknowledged, or dead-lettered). Records of one partition are handled in order, one
at a time; partitions are handled concurrently. The number of records fetched but not yet
done is bounded (``max_in_flight``): past it, fetching pauses.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import logging
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, NamedTuple, TypeVar, get_type_hints

import attrs
import cattrs

from flowintegrations.codec import JsonCodec
from flowintegrations.context import Context, MessageLogger
from flowintegrations.deadletter import dead_letter_record, error_class_name
from flowintegrations.errors import (
    CodecError,
    DeliveryError,
    FlowIntegrationsError,
    HandlerRegistrationError,
    TransportError,
    ValidationError,
)
from flowintegrations.model import Integration, Scenario
from flowintegrations.retry import Retry
from flowintegrations.transport import (
    Headers,
    InMemoryTransport,
    Record,
    Subscription,
    TopicPartition,
    Transport,
)
from flowintegrations.validation import Validator, decode_headers, scenario_validators
from flowintegrations.vocabulary import (
    ENVIRONMENT_VAR,
    PROCESS_INSTANCE_ID,
    PROCESS_INSTANCE_UUID,
    redact,
)

__all__ = ["App", "Handler"]

log = logging.getLogger("flowintegrations.app")

Handler = Callable[..., Any]
"""A handler: ``fn(payload)`` or ``fn(payload, ctx)``, sync or async, returning the reply."""

H = TypeVar("H", bound=Handler)

ENV_VAR = ENVIRONMENT_VAR  # the old name, kept for imports from here
_PROCESS_INSTANCE_ID = PROCESS_INSTANCE_ID
_PROCESS_INSTANCE_UUID = PROCESS_INSTANCE_UUID


class _HandlingError(Exception):
    """A request that could not be handled: where, why, after how many tries."""

    def __init__(self, stage: str, error: BaseException, attempts: int) -> None:
        super().__init__(stage, error)
        self.stage = stage
        self.error = error
        self.attempts = attempts


class _LeftForRedelivery(Exception):  # noqa: N818 - a signal, not an error
    """A stop cut a request's retries short: it is left uncommitted, to be handled again."""


@attrs.define(eq=False)
class _Route:
    """Everything the loop needs to handle one out topic, computed once at start."""

    integration: Integration
    scenario: Scenario
    in_topic: str | None
    request: Validator
    reply: Validator
    handler: Handler
    takes_context: bool
    is_async: bool
    request_type: type[Any] | None
    propagate_never: frozenset[str]
    secret: frozenset[str]
    mandatory: tuple[str, ...]


@attrs.define(eq=False)
class _Registration:
    integration: Integration
    scenario: Scenario
    handler: Handler
    takes_context: bool
    is_async: bool
    request_type: type[Any] | None


class _Partition:
    """The records of one assigned partition: waiting, in progress, and done-but-uncommitted."""

    __slots__ = (
        "committed",
        "done_upto",
        "held",
        "pending",
        "queue",
        "revoked",
        "task",
        "tp",
        "wakeup",
    )

    def __init__(self, tp: TopicPartition) -> None:
        self.tp = tp
        self.queue: deque[Record] = deque()
        # (last offset, records, completion) in offset order; completion None = done already.
        self.pending: deque[tuple[int, int, asyncio.Future[Any] | None]] = deque()
        self.done_upto: int | None = None  # next offset to read, after every done record
        self.held = 0  # records fetched and not done yet (queued or pending)
        self.committed: int | None = None
        self.revoked = False
        self.wakeup = asyncio.Event()
        self.task: asyncio.Task[None] | None = None


class App:
    """An adapter: the integrations it serves, their handlers, and the loop that runs them.

    ``transport=None`` runs on a fresh :class:`~flowintegrations.transport.InMemoryTransport`
    (which the app then owns and stops); a transport passed in is started if needed and
    left running for its owner. ``environment`` picks each scenario's topic binding and
    defaults to the ``FLOWINTEGRATIONS_ENV`` environment variable. Failing handlers are
    retried per ``retry``; what still fails goes to ``<topic><dead_letter_suffix>``.
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
        self._registrations: dict[tuple[str, str], _Registration] = {}
        self._routes: dict[str, _Route] = {}
        self._partitions: dict[TopicPartition, _Partition] = {}
        self._subscription: Subscription | None = None
        self._fetcher: asyncio.Task[None] | None = None
        self._committer: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._in_flight = 0
        self._paused: set[TopicPartition] = set()
        self._paused_all = False
        self._running = False
        self._stopping = False
        self._fatal: BaseException | None = None
        self._converter = cattrs.Converter()
        self._stopped: asyncio.Event | None = None
        self._revoking: asyncio.Lock | None = None

    def __repr__(self) -> str:
        ids = ", ".join(i.identifier for i in self.integrations)
        return (
            f"App({ids}, environment={self.environment!r}, group_id={self.group_id!r}, "
            f"handlers={len(self._registrations)})"
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
        return self._is_done(TopicPartition(record.topic, record.partition), record.offset)

    def use_transport(self, transport: Transport, *, owned: bool = True) -> None:
        """Run on ``transport`` instead; call before :meth:`start`.

        With ``owned=True`` the app stops the transport when it stops.
        """
        if self._running:
            msg = "cannot change the transport of a running app"
            raise RuntimeError(msg)
        self.transport = transport
        self._owns_transport = owned

    # Registration --------------------------------------------------------------------------

    def handler(self, scenario: Scenario | str) -> Callable[[H], H]:
        """Register the decorated function as the handler of ``scenario``.

        ``scenario`` is a :class:`~flowintegrations.Scenario` of one of the app's
        integrations, or its identifier (``"integration/scenario"`` when ambiguous). The
        function takes ``(payload)`` or ``(payload, ctx)``; when the payload parameter is
        annotated with an attrs class, the validated request is structured into it. It
        returns the reply payload (a dict, or an attrs instance), or ``None`` for no reply.
        Raises :class:`~flowintegrations.errors.HandlerRegistrationError` for an unknown
        scenario, a scenario registered twice, or a function of the wrong shape.
        """
        integration, found = self._find(scenario)

        def register(fn: H) -> H:
            key = (integration.identifier, found.identifier)
            if key in self._registrations:
                msg = (
                    f"scenario {found.identifier!r} of integration {integration.identifier!r} "
                    f"already has a handler: {_name(self._registrations[key].handler)}"
                )
                raise HandlerRegistrationError(msg)
            takes_context, request_type = _inspect_handler(fn)
            self._registrations[key] = _Registration(
                integration=integration,
                scenario=found,
                handler=fn,
                takes_context=takes_context,
                is_async=inspect.iscoroutinefunction(fn),
                request_type=request_type,
            )
            return fn

        return register

    def _find(self, scenario: Scenario | str) -> tuple[Integration, Scenario]:
        if isinstance(scenario, Scenario):
            for integration in self.integrations:
                if scenario in integration.scenarios:
                    return integration, scenario
            known = ", ".join(repr(i.identifier) for i in self.integrations) or "none"
            msg = (
                f"scenario {scenario.identifier!r} belongs to none of this app's integrations "
                f"({known}); pass its integration to App(...)"
            )
            raise HandlerRegistrationError(msg)
        wanted_integration, _, wanted = scenario.rpartition("/")
        matches = [
            (i, s)
            for i in self.integrations
            for s in i.scenarios
            if s.identifier == wanted and wanted_integration in ("", i.identifier)
        ]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            msg = f"no integration of this app has a scenario {scenario!r}"
        else:
            msg = f"scenario {scenario!r} is ambiguous; write it as 'integration/scenario'"
        raise HandlerRegistrationError(msg)

    @property
    def handlers(self) -> dict[tuple[str, str], Handler]:
        """The registered handlers by (integration identifier, scenario identifier)."""
        return {key: r.handler for key, r in self._registrations.items()}

    def routes(self) -> list[tuple[Integration, Scenario, str, str | None]]:
        """(integration, scenario, out topic, in topic) of every handler, for this environment."""
        result = []
        for reg in self._registrations.values():
            binding = reg.scenario.binding(self.environment)
            result.append((reg.integration, reg.scenario, binding.out_topic, binding.in_topic))
        return result

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

    async def start(self) -> None:
        """Start the transport if needed, check the topics, join the group, start the loop."""
        if self._running:
            return
        if not self._registrations:
            msg = "the app has no handlers: register one with @app.handler(scenario)"
            raise HandlerRegistrationError(msg)
        self._build_routes()
        await self.transport.start()
        produced = {r.in_topic for r in self._routes.values() if r.in_topic}
        produced |= {topic + self.dead_letter_suffix for topic in self._routes}
        await self.transport.ensure_topics(sorted(set(self._routes) | produced))
        self._executor = ThreadPoolExecutor(thread_name_prefix="flowintegrations-handler")
        self._stopped = asyncio.Event()
        self._revoking = asyncio.Lock()
        self._stopping = False
        self._fatal = None
        self._subscription = await self.transport.subscribe(
            sorted(self._routes), group_id=self.group_id, listener=self
        )
        self._running = True
        self._fetcher = asyncio.create_task(self._fetch_loop(), name="flowintegrations-fetch")
        self._committer = asyncio.create_task(self._commit_loop(), name="flowintegrations-commit")
        for route_topic, route in self._routes.items():
            binding_in = route.in_topic or "(no reply)"
            log.info(
                "listening on %s for %s/%s, replying on %s",
                route_topic,
                route.integration.identifier,
                route.scenario.identifier,
                binding_in,
                extra={"event": "listen", "topic": route_topic, "group_id": self.group_id},
            )

    def _build_routes(self) -> None:
        self._routes = {}
        for reg in self._registrations.values():
            binding = reg.scenario.binding(self.environment)
            if binding.out_topic in self._routes:
                other = self._routes[binding.out_topic].scenario.identifier
                msg = (
                    f"scenarios {other!r} and {reg.scenario.identifier!r} both read topic "
                    f"{binding.out_topic!r} in environment {self.environment!r}"
                )
                raise HandlerRegistrationError(msg)
            request, reply = scenario_validators(reg.integration, reg.scenario)
            self._routes[binding.out_topic] = _Route(
                integration=reg.integration,
                scenario=reg.scenario,
                in_topic=binding.in_topic,
                request=request,
                reply=reply,
                handler=reg.handler,
                takes_context=reg.takes_context,
                is_async=reg.is_async,
                request_type=reg.request_type,
                propagate_never=frozenset(h.name for h in reg.scenario.headers if not h.propagate),
                secret=reg.scenario.secret_headers,
                mandatory=tuple(h.name for h in reg.scenario.headers if h.mandatory),
            )

    async def stop(self) -> None:
        """Stop fetching, finish what was fetched (within ``shutdown_timeout``), commit, close.

        Records not finished in time are not committed: they will be delivered again.
        Idempotent.
        """
        if not self._running or self._stopping:
            return
        self._stopping = True
        try:
            await self._drain()
        finally:
            self._running = False
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
            if self._owns_transport:
                await self.transport.stop()
            if self._stopped is not None:
                self._stopped.set()
            log.info("stopped", extra={"event": "stop", "group_id": self.group_id})

    async def _drain(self) -> None:
        assert self._revoking is not None
        async with self._revoking:  # a revocation under way finishes before fetching stops
            await self._stop_fetching()
        parts = list(self._partitions.values())
        for part in parts:
            part.wakeup.set()  # an idle worker sees that the app is stopping, and returns
        await self._finish_in_progress(parts)
        if self._committer is not None:
            self._committer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._committer
        subscription = self._subscription
        if subscription is not None:
            with contextlib.suppress(FlowIntegrationsError):
                await self._commit(self._partitions.values())
            await subscription.close()
        self._partitions.clear()
        self._in_flight = 0

    async def _stop_fetching(self) -> None:
        if self._fetcher is not None:
            self._fetcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._fetcher

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
            assert self._stopped is not None
            await self._stopped.wait()
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)
            await self.stop()
        if self._fatal is not None:
            raise self._fatal

    # Rebalance listener ---------------------------------------------------------------------

    async def on_partitions_assigned(self, partitions: frozenset[TopicPartition]) -> None:
        """Start handling ``partitions`` (called by the subscription)."""
        for tp in partitions:
            if tp not in self._partitions:
                self._partitions[tp] = _Partition(tp)

    async def on_partitions_revoked(self, partitions: frozenset[TopicPartition]) -> None:
        """Finish the records of ``partitions`` in progress, commit them, forget the rest.

        A record being handled is finished and its sends awaited (within
        ``shutdown_timeout``) before the commit, so that the new owner does not handle it
        again; records not started yet are left to the new owner.
        """
        assert self._revoking is not None
        async with self._revoking:
            await self._revoke(partitions)

    async def _revoke(self, partitions: frozenset[TopicPartition]) -> None:
        revoked = [self._partitions[tp] for tp in partitions if tp in self._partitions]
        for part in revoked:
            part.revoked = True
            part.wakeup.set()
        # A revocation ends the transport's pause of a partition: forget ours too.
        self._paused -= partitions
        await self._finish_in_progress(revoked)
        with contextlib.suppress(FlowIntegrationsError):
            await self._commit(revoked)
        for part in revoked:
            self._in_flight -= len(part.queue) + sum(count for _, count, _ in part.pending)
            del self._partitions[part.tp]
            log.info(
                "partition %s[%d] revoked",
                part.tp.topic,
                part.tp.partition,
                extra={"event": "revoke", "topic": part.tp.topic, "partition": part.tp.partition},
            )

    async def _finish_in_progress(self, parts: list[_Partition]) -> None:
        """Let the workers of ``parts`` finish their work and its sends.

        Workers of revoked partitions stop after their current record, and on a stop after
        what they fetched; they and the unacknowledged sends are waited for within
        ``shutdown_timeout``, late workers cancelled.
        """
        deadline = time.monotonic() + self.shutdown_timeout
        workers = [p.task for p in parts if p.task is not None and not p.task.done()]
        if workers:
            _, unfinished = await asyncio.wait(workers, timeout=self.shutdown_timeout)
            for task in unfinished:
                task.cancel()
        # The completion is the last item of every pending entry.
        completions = [e[-1] for p in parts for e in p.pending if e[-1] is not None]
        if completions:
            await asyncio.wait(completions, timeout=max(0.0, deadline - time.monotonic()))

    # The loop -------------------------------------------------------------------------------

    async def _fetch_loop(self) -> None:
        subscription = self._subscription
        assert subscription is not None
        try:
            while True:
                self._apply_backpressure(subscription)
                # Paused, the wait is short: it is how soon the loop sees the room to resume.
                timeout = _PAUSED_POLL if self._paused else 0.2
                records = await subscription.getmany(max_records=self.max_batch, timeout=timeout)
                if not records:
                    continue
                self._in_flight += len(records)
                # A batch holds runs of records of one partition: look each partition up
                # once per run, and wake its worker once per batch.
                touched: set[_Partition] = set()
                topic: str | None = None
                partition: int | None = None
                part: _Partition | None = None
                for record in records:
                    if part is None or record.partition != partition or record.topic != topic:
                        topic, partition = record.topic, record.partition
                        part = self._partition_of(TopicPartition(topic, partition or 0))
                        touched.add(part)
                    part.queue.append(record)
                    part.held += 1
                for part in touched:
                    if part.task is None or part.task.done():
                        part.task = asyncio.create_task(self._partition_worker(part))
                    else:
                        part.wakeup.set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("the fetch loop failed; stopping", extra={"event": "fatal"})
            self._fail(exc)

    def _partition_of(self, tp: TopicPartition) -> _Partition:
        part = self._partitions.get(tp)
        if part is None:  # assigned without a callback (transport quirk)
            part = self._partitions[tp] = _Partition(tp)
        return part

    def _apply_backpressure(self, subscription: Subscription) -> None:
        """Pause what holds too much, resume what has room again.

        In all, at most ``max_in_flight`` records are held (fetched, not done): past it every
        partition pauses, until half of it is done. Each partition also has its share of it:
        a partition past its share pauses alone (until half of its share is done), so a
        partition the broker hands out in large chunks cannot take the whole budget and
        leave the other partitions' workers idle.
        """
        partitions = self._partitions
        if self._paused or self._in_flight >= self.max_in_flight:
            # Done records only leave the count when their partition advances: do it now,
            # not at the next commit, or the loop idles until then.
            for part in list(partitions.values()):
                self._advance(part)
        if not self._paused_all and self._in_flight >= self.max_in_flight:
            self._paused_all = True
        elif self._paused_all and self._in_flight <= self.max_in_flight // 2:
            self._paused_all = False
        assignment = subscription.assignment()
        if self._paused_all:
            wanted = set(assignment)
        else:
            share = max(self.max_batch, self.max_in_flight // max(1, len(partitions)))
            paused = self._paused
            wanted = {
                part.tp
                for part in partitions.values()
                if part.held >= share or (part.held > share // 2 and part.tp in paused)
            }
            wanted &= assignment
        now_paused = self._paused & assignment
        if wanted - now_paused:
            subscription.pause(wanted - now_paused)
        if now_paused - wanted:
            subscription.resume(now_paused - wanted)
        self._paused = wanted

    def _fail(self, exc: BaseException) -> None:
        if self._fatal is None:
            self._fatal = exc
        if self._stopped is not None:
            self._stopped.set()

    async def _partition_worker(self, part: _Partition) -> None:
        queue = part.queue
        while not part.revoked:
            if not queue:
                if self._stopping:
                    return
                part.wakeup.clear()
                await part.wakeup.wait()
                continue
            route = self._routes.get(queue[0].topic)
            if route is None:  # not ours (cannot happen with a well-behaved transport)
                record = queue.popleft()
                part.pending.append((record.offset or 0, 1, None))
                continue
            # The records stay queued until handled, so a revocation counts them right.
            batch = list(itertools.islice(queue, self.max_batch))
            try:
                await self._handle_batch(part, route, batch)
            except asyncio.CancelledError:
                raise
            except _LeftForRedelivery:
                return  # the record stays queued: never handled, so never committed
            except TransportError as exc:
                log.exception("a send failed; stopping", extra={"event": "fatal"})
                self._fail(exc)
                return

    @staticmethod
    def _handled(part: _Partition, completion: asyncio.Future[Any] | None, count: int = 1) -> None:
        """The ``count`` records at the head of ``part``'s queue are handled.

        They are committed once ``completion`` (the delivery of what they sent) is done.
        """
        queue = part.queue
        for _ in range(count - 1):
            queue.popleft()
        record = queue.popleft()
        part.pending.append((record.offset or 0, count, completion))

    async def _handle_batch(self, part: _Partition, route: _Route, batch: list[Record]) -> None:
        """Handle ``batch`` (the head of ``part``'s queue) in order, record by record.

        Consecutive acceptable requests form a run whose sync handlers are called in one
        hop to a worker thread; a rejected request is dead-lettered in its place.
        """
        index = 0
        while index < len(batch) and not part.revoked:
            run: list[_Prepared] = []
            rejected: _Rejected | None = None
            while index < len(batch):
                prepared = self._prepare(route, batch[index])
                index += 1
                if isinstance(prepared, _Rejected):
                    rejected = prepared
                    break
                run.append(prepared)
            if run:
                await self._handle_run(part, route, run)
            if rejected is not None and not part.revoked:
                record, failure, headers, checked = rejected
                if headers is None and checked:
                    headers = _text_headers(record)
                secrets = _secrets(route, headers)
                completion = await self._dead_letter(route, record, failure, secrets, headers)
                self._handled(part, completion)

    def _prepare(self, route: _Route, record: Record) -> _Prepared | _Rejected:
        """Check a request before its handler runs: headers, JSON, request model, type."""
        # The decoded headers are only built when something reads them: a context, a
        # retry, a dead letter.
        headers: dict[str, str] | None = None
        try:
            if route.takes_context:
                headers = _decode_headers(record.headers, route)
            else:
                _check_headers(record.headers, route)
        except ValidationError as exc:
            return _Rejected(record, _HandlingError("headers", exc, 0), None, checked=False)
        try:
            payload = self.codec.decode(record.value)
        except CodecError as exc:
            return _Rejected(record, _HandlingError("decode", exc, 0), headers)
        try:
            route.request.validate(payload)
        except ValidationError as exc:
            return _Rejected(record, _HandlingError("request", exc, 0), headers)
        argument = payload
        if route.request_type is not None:
            try:
                argument = self._converter.structure(payload, route.request_type)
            except Exception as exc:  # noqa: BLE001 - any structuring failure is a bad request
                return _Rejected(record, _HandlingError("request", exc, 0), headers)
        ctx = None
        if headers is not None:
            ctx = self._context(route, record, headers, 1)
        return (record, headers, argument, ctx)

    async def _handle_run(self, part: _Partition, route: _Route, run: list[_Prepared]) -> None:
        """Call the handler for each request of ``run`` in order and send the replies."""
        if route.is_async:
            await self._handle_async_run(part, route, run)
            return
        loop = asyncio.get_running_loop()
        done = 0
        while done < len(run):
            # One hop to a worker thread for as many handler calls as fit in a time slice:
            # the loop never runs a sync handler, and a cheap one costs no thread hop.
            values, failed = await loop.run_in_executor(
                self._executor, self._call_sync_run, route, run, done
            )
            if part.revoked:
                return
            if values:
                replies = [
                    self._reply_record(route, run[done + index][0], value)
                    for index, value in enumerate(values)
                    if value is not None and route.in_topic is not None
                ]
                completion = await self._produce_batch(replies) if replies else None
                done += len(values)
                self._handled(part, completion, len(values))
            if failed is not None:
                record, headers, argument, _ = run[done]
                done += 1
                completion = await self._finish(route, record, argument, headers, failed)
                self._handled(part, completion)

    async def _handle_async_run(
        self, part: _Partition, route: _Route, run: list[_Prepared]
    ) -> None:
        """Await the handler for each request of ``run`` in order; send replies in batches.

        Replies are collected and produced together once a time slice has passed (or the
        run ends, or a request fails), so a slow handler does not hold replies back long.
        """
        loop = asyncio.get_running_loop()
        replies: list[Record] = []
        count = 0  # requests answered since the last batch was sent
        deadline = loop.time() + _SYNC_SLICE
        for record, headers, argument, ctx in run:
            if part.revoked:
                return
            value, failed = await self._try_async(route, argument, ctx)
            if failed is None:
                count += 1
                if value is not None and route.in_topic is not None:
                    replies.append(self._reply_record(route, record, value))
                if loop.time() < deadline:
                    continue
            if count:
                completion = await self._produce_batch(replies) if replies else None
                self._handled(part, completion, count)
                replies, count = [], 0
            if failed is not None:
                completion = await self._finish(route, record, argument, headers, failed)
                self._handled(part, completion)
            deadline = loop.time() + _SYNC_SLICE
        if count and not part.revoked:
            completion = await self._produce_batch(replies) if replies else None
            self._handled(part, completion, count)

    async def _try_async(
        self, route: _Route, argument: Any, ctx: Context | None
    ) -> tuple[bytes | None, tuple[str, Exception] | None]:
        """The first try of an async handler: (encoded reply, None) or (None, (stage, error))."""
        stage = "handler"
        try:
            result = await _call(route, argument, ctx)
            stage = "reply"
            return self._encode_reply(route, result), None
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a handler may raise anything
            return None, (stage, exc)

    def _call_sync_run(
        self, route: _Route, run: list[_Prepared], start: int
    ) -> tuple[list[bytes | None], tuple[str, Exception] | None]:
        """On a worker thread: the encoded replies of ``run[start:]`` (first tries).

        Stops at the first failure, returned with its stage, so that handlers are called in
        order and a failing request is retried before the next one is handled; stops too
        after a time slice, so a slow handler does not hold a long batch.
        """
        values: list[bytes | None] = []
        deadline = time.monotonic() + _SYNC_SLICE
        handler = route.handler
        for index in range(start, len(run)):
            argument, ctx = run[index][2], run[index][3]
            stage = "handler"
            try:
                result = handler(argument, ctx) if route.takes_context else handler(argument)
                stage = "reply"
                values.append(self._encode_reply(route, result))
            except Exception as exc:  # noqa: BLE001 - a handler may raise anything
                return values, (stage, exc)
            if time.monotonic() >= deadline:
                break
        return values, None

    async def _finish(
        self,
        route: _Route,
        record: Record,
        argument: Any,
        headers: dict[str, str] | None,
        failed: tuple[str, Exception] | None,
    ) -> asyncio.Future[Any] | None:
        """Call the handler with retries (after a ``failed`` first try); send the outcome."""
        if headers is None:
            headers = _text_headers(record)
        try:
            reply = await self._call_with_retries(route, record, argument, headers, failed)
        except _HandlingError as failure:
            secrets = _secrets(route, headers)
            return await self._dead_letter(route, record, failure, secrets, headers)
        return await self._send_reply(route, record, reply)

    async def _produce_batch(self, records: list[Record]) -> asyncio.Future[Any]:
        """Produce ``records``; one future of their delivery (one per record if need be)."""
        produce_batch = getattr(self.transport, "produce_batch", None)
        if produce_batch is not None:
            completion: asyncio.Future[Any] = await produce_batch(records)
            return completion
        futures = [await self.transport.produce(record) for record in records]
        return futures[0] if len(futures) == 1 else asyncio.gather(*futures)

    async def _send_reply(
        self, route: _Route, record: Record, reply: bytes | None
    ) -> asyncio.Future[Any] | None:
        if reply is None or route.in_topic is None:
            return None
        return await self.transport.produce(self._reply_record(route, record, reply))

    async def _call_with_retries(
        self,
        route: _Route,
        record: Record,
        argument: Any,
        headers: dict[str, str],
        failed: tuple[str, Exception] | None = None,
    ) -> bytes | None:
        """The encoded, validated reply (None: no reply); raises _HandlingError past the tries.

        ``failed`` is the (stage, error) of a first try already made.
        """
        attempt = 1
        while True:
            if failed is not None:
                stage, error = failed
                failed = None
            else:
                ctx = (
                    self._context(route, record, headers, attempt) if route.takes_context else None
                )
                stage = "handler"
                try:
                    if route.is_async:
                        result = await _call(route, argument, ctx)
                    else:
                        loop = asyncio.get_running_loop()
                        result = await loop.run_in_executor(
                            self._executor, _call_sync, route, argument, ctx
                        )
                    stage = "reply"
                    return self._encode_reply(route, result)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - a handler may raise anything
                    error = exc
            if not self.retry.should_retry(error, attempt):
                raise _HandlingError(stage, error, attempt) from None
            if self._stopping:
                # Tries are left, but the app is stopping: dead-lettering now would give up
                # on a request that may well succeed, so it is left uncommitted instead and
                # whoever reads the partition next handles it again.
                log.warning(
                    "%s failed (try %d of %d) while stopping; left for redelivery: %s",
                    route.scenario.identifier,
                    attempt,
                    self.retry.attempts,
                    redact(str(error), (headers[n] for n in route.secret if n in headers)),
                    extra=_extra(route, record, headers, "redeliver"),
                )
                raise _LeftForRedelivery from None
            delay = self.retry.delay(attempt)
            log.warning(
                "%s failed (try %d of %d), retrying in %.2fs: %s",
                route.scenario.identifier,
                attempt,
                self.retry.attempts,
                delay,
                redact(str(error), (headers[n] for n in route.secret if n in headers)),
                extra=_extra(route, record, headers, "retry"),
            )
            await asyncio.sleep(delay)
            attempt += 1

    def _encode_reply(self, route: _Route, result: Any) -> bytes | None:
        if result is None:
            return None
        if attrs.has(type(result)):
            result = self._converter.unstructure(result)
        route.reply.validate(result)
        return self.codec.encode(result)

    def _context(
        self, route: _Route, record: Record, headers: dict[str, str], attempt: int
    ) -> Context:
        pid = headers.get(_PROCESS_INSTANCE_ID)
        return Context(
            headers=headers,
            process_instance_id=pid,
            integration=route.integration,
            scenario=route.scenario,
            environment=self.environment,
            topic=record.topic,
            partition=record.partition or 0,
            offset=record.offset or 0,
            key=record.key,
            attempt=attempt,
            logger=MessageLogger(
                logging.getLogger("flowintegrations.handler"),
                {_PROCESS_INSTANCE_ID: pid, "scenario": route.scenario.identifier},
            ),
        )

    def _reply_record(self, route: _Route, request: Record, value: bytes) -> Record:
        headers = request.headers
        never = route.propagate_never
        if never:
            headers = tuple([h for h in headers if h[0] not in never])
        key = request.header(_PROCESS_INSTANCE_UUID)
        assert route.in_topic is not None
        return Record(
            topic=route.in_topic,
            key=key if key is not None else request.key,
            value=value,
            headers=headers,
        )

    async def _dead_letter(
        self,
        route: _Route,
        record: Record,
        failure: _HandlingError,
        secrets: Iterable[str],
        headers: dict[str, str] | None = None,
    ) -> asyncio.Future[Any]:
        secrets = tuple(secrets)
        error = failure.error
        log.error(
            "%s: %s failed at %s after %d tries, dead-lettered: %s",
            route.scenario.identifier,
            f"{record.topic}[{record.partition}]@{record.offset}",
            failure.stage,
            failure.attempts,
            redact(f"{error_class_name(error)}: {error}", secrets),
            extra=_extra(route, record, headers or {}, "dead_letter"),
        )
        dead = dead_letter_record(
            record,
            suffix=self.dead_letter_suffix,
            stage=failure.stage,
            error=error,
            attempts=failure.attempts,
            secrets=secrets,
        )
        sent = await self.transport.produce(dead)
        if route.scenario.error_reply and route.in_topic is not None and headers is not None:
            message = redact(str(error), secrets)
            error_reply = self._reply_record(route, record, self.codec.encode({"error": message}))
            reply_sent = await self.transport.produce(error_reply)
            return _both(sent, reply_sent)
        return sent

    def _is_done(self, tp: TopicPartition, offset: int) -> bool:
        """Whether the record at ``offset`` of ``tp`` is fully handled (for TestClient)."""
        part = self._partitions.get(tp)
        if part is None:
            return False
        self._advance(part)
        return part.done_upto is not None and part.done_upto > offset

    # Commits --------------------------------------------------------------------------------

    async def _commit_loop(self) -> None:
        while True:
            await asyncio.sleep(self.commit_interval)
            try:
                await self._commit(list(self._partitions.values()))
            except FlowIntegrationsError:
                log.warning("commit failed; will retry", exc_info=True, extra={"event": "commit"})

    def _advance(self, part: _Partition) -> None:
        pending = part.pending
        while pending:
            offset, count, completion = pending[0]
            if completion is not None:
                if not completion.done():
                    break
                error = completion.exception() if not completion.cancelled() else None
                if completion.cancelled() or error is not None:
                    self._fail(error or DeliveryError("a send was cancelled"))
                    break
            pending.popleft()
            part.done_upto = offset + 1
            part.held -= count
            self._in_flight -= count

    async def _commit(self, partitions: Iterable[_Partition]) -> None:
        partitions = list(partitions)
        offsets = {}
        for part in partitions:
            self._advance(part)
            if part.done_upto is not None and part.done_upto != part.committed:
                offsets[part.tp] = part.done_upto
        if offsets and self._subscription is not None:
            await self._subscription.commit(offsets)
            for part in partitions:
                if part.tp in offsets:
                    part.committed = offsets[part.tp]


_PAUSED_POLL = 0.005
"""Seconds a paused fetch loop waits before it looks again whether it may resume."""

_SYNC_SLICE = 0.005
"""Seconds of sync handler calls one hop to a worker thread may take before replying."""

_Prepared = tuple[Record, "dict[str, str] | None", Any, "Context | None"]
"""A request ready for its handler: (record, decoded headers or None, argument, context)."""


class _Rejected(NamedTuple):
    """A request refused before its handler ran, and why."""

    record: Record
    failure: _HandlingError
    headers: dict[str, str] | None
    checked: bool = True  # the headers passed the checks (decode them when needed)


def _decode_headers(raw: Headers, route: _Route) -> dict[str, str]:
    """Header values as text; the checks of ``decode_headers`` on the happy path, faster."""
    try:
        decoded = {name: value.decode() for name, value in raw}
    except (UnicodeDecodeError, AttributeError):
        return decode_headers(raw, route.scenario.headers)  # raises, naming every problem
    for name in route.mandatory:
        if name not in decoded:
            return decode_headers(raw, route.scenario.headers)
    return decoded


def _check_headers(raw: Headers, route: _Route) -> None:
    """Raise what ``decode_headers`` raises, without building the decoded mapping.

    A NUL byte cannot be part of a multi-byte UTF-8 sequence, so the values joined by NUL
    decode if and only if every value does: one decode instead of one per header.
    """
    names: tuple[str, ...] = ()
    if raw:
        try:
            names, values = zip(*raw, strict=True)
            b"\x00".join(values).decode()
        except (UnicodeDecodeError, TypeError, ValueError):
            decode_headers(raw, route.scenario.headers)  # raises, naming every problem
            return
    for name in route.mandatory:
        if name not in names:
            decode_headers(raw, route.scenario.headers)


def _text_headers(record: Record) -> dict[str, str]:
    """The headers of a record whose headers passed the checks, decoded."""
    return decode_headers(record.headers)


def _secrets(route: _Route, headers: dict[str, str] | None) -> tuple[str, ...]:
    if not headers or not route.secret:
        return ()
    return tuple(headers[name] for name in route.secret if name in headers)


def _both(first: asyncio.Future[Any], second: asyncio.Future[Any]) -> asyncio.Future[Any]:
    both: asyncio.Future[Any] = asyncio.gather(first, second)
    return both


async def _call(route: _Route, argument: Any, ctx: Context | None) -> Any:
    if route.takes_context:
        return await route.handler(argument, ctx)
    return await route.handler(argument)


def _call_sync(route: _Route, argument: Any, ctx: Context | None) -> Any:
    if route.takes_context:
        return route.handler(argument, ctx)
    return route.handler(argument)


def _inspect_handler(fn: object) -> tuple[bool, type[Any] | None]:
    """(takes a context, attrs class of the payload) for a handler; raises for a bad shape."""
    if not callable(fn):
        msg = f"a handler must be callable, got {fn!r}"
        raise HandlerRegistrationError(msg)
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError) as exc:
        msg = f"cannot read the signature of handler {_name(fn)}: {exc}"
        raise HandlerRegistrationError(msg) from exc
    positional = [
        p
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if len(positional) not in (1, 2):
        msg = (
            f"handler {_name(fn)} must take (payload) or (payload, ctx), "
            f"but takes {len(positional)} required positional parameters"
        )
        raise HandlerRegistrationError(msg)
    request_type = None
    try:
        hints = get_type_hints(fn)
    except Exception:  # noqa: BLE001 - unresolvable annotations: treat the payload as a dict
        hints = {}
    hint = hints.get(positional[0].name)
    if isinstance(hint, type) and attrs.has(hint):
        request_type = hint
    return len(positional) == 2, request_type


def _name(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


def _extra(route: _Route, record: Record, headers: dict[str, str], event: str) -> dict[str, Any]:
    pid = headers.get(_PROCESS_INSTANCE_ID)
    if pid is None:  # the headers were not decoded (some were invalid): read the raw one
        raw = record.header(_PROCESS_INSTANCE_ID)
        pid = None if raw is None else raw.decode("utf-8", "replace")
    return {
        "event": event,
        _PROCESS_INSTANCE_ID: pid,
        "scenario": route.scenario.identifier,
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
    }
