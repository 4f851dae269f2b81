"""The durable inbox between the webhooks and the router.

A webhook hands its message to :meth:`Dispatcher.process`, which records it (many webhooks share
one commit, so a burst costs few disk syncs) and returns as soon as it is safely stored; the
platform gets its 200 at once. The message is then answered in the background: messages of one
chat strictly one after another, replies sent in that order, the database work in worker
threads. A message recorded but not answered when the process stopped is answered at the next
start, and never twice (the router claims it in the same transaction as its answer).

The replies are outbox rows written in that same transaction, leased to this process, which
sends them at once and then records how it went. So a crash after the commit loses no reply:
the outbox sender sends what is left when the lease ends (a send in flight at the crash may
arrive twice, nothing else). A reply the platform refused for a passing reason (5xx, flood
control, the network) stays in the outbox, which retries it with its backoff and rate limits,
and the next replies of that chat wait behind it there, so a chat's replies arrive in order.

A message whose answer fails (a bug, a value the database refuses) is tried again at once, a
moment later, before the next message of its chat (so that the chat's order holds); after
``WLCC_ANSWER_ATTEMPTS`` failures it is set aside with its error (``wlcc inbox failed``), so it
neither blocks its chat nor fails again at every start. One webhook whose message cannot be
stored does not fail the others recorded in the same commit.

Under load the answers are worked out in batches, one thread hand-off for many messages (each in
its own transaction), and acknowledgements go first: an answer starts once no webhook has been
waiting to be stored for ``ACK_QUIET`` (or after ``ANSWER_PATIENCE``, so answers never stop).
The platforms' webhook calls have deadlines (they retry, and Telegram slows its deliveries, when
answers are slow); replies can trail a burst by a second or two, at the pace the machine allows.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta

from anyio import CapacityLimiter, to_thread
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from handlers.router import Answer, Router
from storage.db import retry_briefly
from storage.inbound import NewInbound, record_many, unprocessed
from wlcc.formatting import utcnow
from wlcc.messages import Inbound, Outbound, SendReport, inbound_from_dict, inbound_to_dict

log = logging.getLogger(__name__)

# Sends the replies to a message in order, none after the deadline (the event loop's clock);
# reports how far it got.
Sender = Callable[[Inbound, list[Outbound], float | None], Awaitable[SendReport]]
BATCH_LIMIT = 256  # webhooks stored in one commit
ANSWER_BATCH_LIMIT = 4  # messages worked out in one thread hand-off
ANSWER_PATIENCE = 0.05  # seconds an answer waits for pending acknowledgements, at most
ACK_QUIET = 0.002  # seconds without a webhook waiting before an answer starts
WORKER_IN_HAND = 1000  # a worker reads no more messages while this many wait for their answer
RETRY_DELAYS = (0.1, 0.5, 2.0)  # seconds before answering a failed message again
LEASE_MARGIN = 20.0  # seconds before a lease ends when no reply piece starts any more
SETTLE_EVERY = 0.05  # seconds: how the direct sends went is recorded in batches this often


class UnstorableMessage(ValueError):
    """The database refused this one message (a value it cannot hold); the webhook says so
    with a 4xx instead of asking the platform to retry for ever."""


def _outage(exc: BaseException) -> bool:
    """Whether a database error is the database being unavailable (not one row's fault)."""
    return isinstance(exc, OperationalError | InterfaceError | DisconnectionError | PoolTimeout)


@dataclass(slots=True)
class _Work:
    inbound_id: int
    inbound: Inbound
    done: asyncio.Future[Answer | None]


class KeyedLocks:
    """One asyncio lock per key, forgotten when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


class Dispatcher:
    """``answer_here=False``: the app only records; a ``wlcc worker`` process answers (it polls
    with :meth:`run_worker`), so answering never slows the webhooks down."""

    def __init__(self, router: Router, *, answer_here: bool = True) -> None:
        self.router = router
        self.answer_here = answer_here
        self.locks = KeyedLocks()
        self._senders: dict[str, Sender] = {}
        self._wake_outbox: Callable[[], None] | None = None
        self.retry_delays: tuple[float, ...] = RETRY_DELAYS
        # How the direct sends went, recorded in batches: one commit for many messages, made
        # before the next batch of answers (so a chat's next turn sees its replies settled).
        self._settles: list[tuple[Inbound, Answer, SendReport]] = []
        self._settles_lock = threading.Lock()
        # Held while a batch is recorded: a thread about to answer waits for another's commit.
        self._settling = threading.Lock()
        self._settle_waiting = asyncio.Event()
        self._settler: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[tuple[Inbound, Sender, asyncio.Future[bool]]] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writing = 0  # messages taken from the queue whose batch is being recorded
        self._in_hand: set[int] = set()  # inbound ids being answered
        self._seen_id = 0  # the highest inbound id taken from the database by recover()
        self._idle = asyncio.Event()
        self._idle.set()
        # Database work runs in threads; SQLite has one writer anyway, so one thread answers
        # (more only add lock contention). On PostgreSQL a second thread overlaps the network
        # round trips; more only fight over the GIL with the webhooks (measured: 8 threads
        # halved the webhook throughput and raised its p99 tenfold).
        self._limiter: CapacityLimiter | None = None
        self._slots: asyncio.Semaphore | None = None  # batches being worked out at once
        self._work: list[_Work] = []  # messages waiting for a batch
        self._work_waiting = asyncio.Event()
        self._batcher: asyncio.Task[None] | None = None
        # Recording has a thread of its own so acknowledgements never queue behind answers,
        # and answers hold back while webhooks wait for it (set: none waiting).
        self._record_limiter: CapacityLimiter | None = None
        self._acks_done = threading.Event()
        self._acks_done_at = 0.0  # time.monotonic() when _acks_done was last set
        self._acks_done.set()

    # --- life cycle ---
    async def start(
        self,
        senders: Mapping[str, Sender] | None = None,
        wake_outbox: Callable[[], None] | None = None,
    ) -> None:
        """Start recording; answer what an earlier run recorded but did not answer.
        ``wake_outbox`` tells this process's outbox sender that replies wait for it."""
        self._senders = dict(senders or {})
        self._wake_outbox = wake_outbox
        self._loop = asyncio.get_running_loop()
        threads = 1 if self.router.db.is_sqlite else 2
        self._limiter = CapacityLimiter(threads)
        self._slots = asyncio.Semaphore(threads)
        self._record_limiter = CapacityLimiter(1)
        self._queue = asyncio.Queue()
        self._writer = asyncio.create_task(self._write_batches(), name="inbox-writer")
        self._batcher = asyncio.create_task(self._answer_batches(), name="inbox-answerer")
        self._settler = asyncio.create_task(self._settle_batches(), name="inbox-settler")
        if self.answer_here:
            left = await self.recover(older_than=timedelta(0))
            if left:
                log.warning("answering %d message(s) an earlier run recorded but did not", left)

    async def stop(self, grace: float = 10.0) -> None:
        """Finish what is in hand (within ``grace`` seconds); the rest waits for a restart."""
        with suppress(TimeoutError):
            await asyncio.wait_for(self.idle(), grace)
        for loop_task in (self._writer, self._batcher, self._settler):
            if loop_task is not None:
                loop_task.cancel()
                with suppress(asyncio.CancelledError):
                    await loop_task
        self._writer = self._batcher = self._settler = None
        if self._settles:  # what was sent must not be sent again when the lease ends
            await to_thread.run_sync(self._flush_settles)
        for task in list(self._tasks):
            task.cancel()

    async def idle(self) -> None:
        """Wait until every message handed in so far is answered (tests, shutdown)."""
        while True:
            await self._idle.wait()
            if self._queue is None or self._queue.empty():
                return
            await asyncio.sleep(0)

    async def recover(self, older_than: timedelta, after_id: int = 0) -> int:
        """Answer messages recorded more than ``older_than`` ago but never processed (with an
        id above ``after_id``)."""
        rows = await to_thread.run_sync(self._unprocessed, older_than, after_id)
        rows = [(i, m) for i, m in rows if i not in self._in_hand]
        for inbound_id, inbound in rows:
            self._seen_id = max(self._seen_id, inbound_id)
            self._schedule(inbound_id, inbound, self._senders.get(inbound.channel))
        return len(rows)

    async def run_worker(
        self, stop: asyncio.Event, poll: float = 0.05, full_scan_every: float = 5.0
    ) -> None:
        """Answer what the app records, until ``stop`` is set (``wlcc worker``).

        Each poll reads only messages newer than the last one taken; now and then a full scan
        also finds one whose id was taken before a newer one was committed (PostgreSQL hands
        out ids before commit). Reading pauses while ``WORKER_IN_HAND`` messages are in hand.
        """
        loop = asyncio.get_running_loop()
        last_full_scan = -full_scan_every
        while not stop.is_set():
            found = 0
            if len(self._in_hand) < WORKER_IN_HAND:
                full = loop.time() - last_full_scan >= full_scan_every
                found = await self.recover(timedelta(0), after_id=0 if full else self._seen_id)
                if full:
                    last_full_scan = loop.time()
            if not found:
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), poll)
        await self.stop()

    def _unprocessed(self, older_than: timedelta, after_id: int = 0) -> list[tuple[int, Inbound]]:
        with self.router.db.transaction() as session:
            found = []
            for row in unprocessed(session, utcnow() - older_than, after_id=after_id):
                if row.id is not None and row.payload:
                    found.append((row.id, inbound_from_dict(row.payload)))
            return found

    # --- the webhooks' side ---
    async def process(self, inbound: Inbound, send: Sender) -> bool:
        """Record the message durably and have it answered; False for a platform retry.

        Without :meth:`start` (a bare router, e.g. in the simulator) it answers inline.
        """
        if self._queue is None:
            replies = await to_thread.run_sync(self.router.handle, inbound)
            if replies:
                await send(inbound, replies, None)  # no inbox, no retry: the simulator's way
            return replies is not None
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._idle.clear()
        self._acks_done.clear()
        self._queue.put_nowait((inbound, send, future))
        return await future

    async def _write_batches(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            while len(batch) < BATCH_LIMIT and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            items = [
                NewInbound(m.channel, m.platform_id, m.kind, m.received_at, inbound_to_dict(m))
                for m, _, _ in batch
            ]
            self._writing = len(batch)
            try:
                ids = await self._record_batch(items)
            finally:
                if self._queue.empty():
                    self._acks_done_at = time.monotonic()
                    self._acks_done.set()
            self._writing = 0
            for (inbound, send, future), inbound_id in zip(batch, ids, strict=True):
                if isinstance(inbound_id, BaseException):
                    if not future.done():
                        future.set_exception(inbound_id)
                    continue
                if inbound_id is not None and self.answer_here:
                    self._schedule(inbound_id, inbound, send)
                if not future.done():
                    future.set_result(inbound_id is not None)
            self._maybe_idle()

    async def _record_batch(self, items: list[NewInbound]) -> list[int | BaseException | None]:
        """Record a batch in one commit; if the database refuses it for one bad row (not an
        outage), record them one by one, so that only that one fails."""
        try:
            found = await to_thread.run_sync(self._record, items, limiter=self._record_limiter)
            return list(found)
        except Exception as exc:
            if _outage(exc):  # the database is down: the platforms will retry
                log.error("could not record %d inbound message(s): %s", len(items), exc)
                return [exc] * len(items)
            if len(items) == 1:
                log.warning("an inbound %s message could not be stored: %s", items[0].channel, exc)
                return [UnstorableMessage(f"the message could not be stored: {type(exc).__name__}")]
        results: list[int | BaseException | None] = []
        for item in items:
            results += await self._record_batch([item])
        return results

    def _record(self, items: list[NewInbound]) -> list[int | None]:
        with self.router.db.transaction() as session:
            return record_many(session, items)

    # --- answering ---
    def _schedule(self, inbound_id: int, inbound: Inbound, send: Sender | None) -> None:
        self._idle.clear()
        self._in_hand.add(inbound_id)
        task = asyncio.create_task(self._answer(inbound_id, inbound, send))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._maybe_idle()

    def _maybe_idle(self) -> None:
        queued = self._queue is not None and not self._queue.empty()
        if not self._tasks and not queued and not self._writing and not self._settles:
            self._idle.set()

    async def _answer(self, inbound_id: int, inbound: Inbound, send: Sender | None) -> None:
        async with self.locks.hold(inbound.speaker_address):
            try:
                answer = await self._answer_with_retries(inbound_id, inbound)
            finally:
                self._in_hand.discard(inbound_id)  # processed, set aside, or for a later run
            if answer is not None and answer.fetch_media:
                self._wake()  # the sender downloads the complaint's photo before its link expires
            if answer is not None and answer.replies:
                try:
                    await self._deliver(inbound, answer, send)
                except Exception:  # the outbox sends the replies when their lease ends
                    log.exception("sending the replies to a %s message failed", inbound.channel)

    async def _answer_with_retries(self, inbound_id: int, inbound: Inbound) -> Answer | None:
        """The router's answer; a failure is counted and tried again after a moment, until it
        is set aside (None then, as for a message answered already)."""
        while True:
            try:
                return await self._work_out(inbound_id, inbound)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("answering a %s message failed", inbound.channel)
                error = f"{type(exc).__name__}: {exc}"
            try:
                failures = await to_thread.run_sync(self.router.note_failure, inbound_id, error)
            except Exception:  # the database is away: a later run answers it
                log.exception("could not record the failure of inbound message %d", inbound_id)
                return None
            if not failures:
                return None
            if failures >= self.router.config.answer_attempts:
                log.error(
                    "inbound %s message %d set aside after %d failed answers: %s",
                    inbound.channel,
                    inbound_id,
                    failures,
                    error[:200],
                )
                return None
            await asyncio.sleep(self.retry_delays[min(failures, len(self.retry_delays)) - 1])

    async def _deliver(self, inbound: Inbound, answer: Answer, send: Sender | None) -> None:
        """Send the replies leased to us at once, then record how it went; what is left (a
        passing failure, or replies waiting behind an earlier one) is the outbox sender's."""
        if answer.planned.lease is None:
            self._wake()  # an earlier reply of this chat is still waiting in the outbox
            return
        if send is None:
            log.warning("no %s channel here: the outbox sends the replies", inbound.channel)
            return
        # No piece starts near the end of the lease, which began when the turn was committed.
        assert answer.planned.lease is not None
        lease = self.router.config.reply_lease.total_seconds()
        left = (answer.planned.lease - utcnow()).total_seconds()
        until = asyncio.get_running_loop().time() + left - min(LEASE_MARGIN, lease / 3)
        report = await send(inbound, answer.replies, until)
        with self._settles_lock:
            self._settles.append((inbound, answer, report))
        self._idle.clear()
        self._settle_waiting.set()

    async def _settle_batches(self) -> None:
        """Record how the direct sends went, a batch at a time (the answering threads also
        do it before each batch of answers)."""
        while True:
            await self._settle_waiting.wait()
            self._settle_waiting.clear()
            await asyncio.sleep(SETTLE_EVERY)
            await to_thread.run_sync(self._flush_settles, limiter=self._limiter)
            self._maybe_idle()

    def _flush_settles(self) -> None:
        """In a worker thread: record the sends reported so far, in one transaction."""
        with self._settling:
            with self._settles_lock:
                items, self._settles = self._settles, []
            if not items:
                return
            what = f"recording how {len(items)} message(s)' replies went"
            try:
                left = retry_briefly(lambda: self.router.settle_many(items), what)
            except Exception:  # the rows keep their lease: the outbox sends them when it ends
                log.exception("%s failed", what)
                return
        if left:
            log.info("%d reply(ies) left to the outbox", left)
            if self._loop is not None:
                with suppress(RuntimeError):  # the loop is closed: the process is stopping
                    self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        if self._wake_outbox is not None:
            self._wake_outbox()

    async def _work_out(self, inbound_id: int, inbound: Inbound) -> Answer | None:
        """The router's answer, worked out in the next batch."""
        done: asyncio.Future[Answer | None] = asyncio.get_running_loop().create_future()
        self._work.append(_Work(inbound_id, inbound, done))
        self._work_waiting.set()
        return await done

    async def _answer_batches(self) -> None:
        """Hand the waiting messages to the threads in batches, as threads come free."""
        assert self._slots is not None
        while True:
            await self._work_waiting.wait()
            await self._slots.acquire()
            batch, self._work = self._work[:ANSWER_BATCH_LIMIT], self._work[ANSWER_BATCH_LIMIT:]
            if not self._work:
                self._work_waiting.clear()
            if not batch:
                self._slots.release()
                continue
            task = asyncio.create_task(self._run_batch(batch))
            self._tasks.add(task)
            task.add_done_callback(self._done)

    async def _run_batch(self, batch: list[_Work]) -> None:
        assert self._slots is not None
        loop = asyncio.get_running_loop()
        try:
            await to_thread.run_sync(self._process_many, batch, loop, limiter=self._limiter)
        except asyncio.CancelledError:  # stopping: the messages are answered at the next start
            for work in batch:
                work.done.cancel()
            raise
        except Exception as exc:
            for work in batch:
                if not work.done.done():
                    work.done.set_exception(exc)
        finally:
            self._slots.release()

    def _process_many(self, batch: list[_Work], loop: asyncio.AbstractEventLoop) -> None:
        """In a worker thread: each message in its own transaction, one after another, each
        answer handed back as soon as it is ready (its replies need not wait for the batch)."""
        for i, work in enumerate(batch):
            self._wait_for_quiet()  # acknowledgements go first
            if i == 0:
                self._flush_settles()  # a chat's next turn sees its last replies settled
            result: Answer | BaseException | None
            try:
                result = self.router.answer(work.inbound_id, work.inbound)
            except Exception as exc:
                result = exc
            try:
                loop.call_soon_threadsafe(_settle, work.done, result)
            except RuntimeError:  # the loop is closed: the process is stopping
                return

    def _wait_for_quiet(self) -> None:
        """In the answering thread: until no webhook has waited for ``ACK_QUIET`` seconds, or
        ``ANSWER_PATIENCE`` seconds have passed."""
        deadline = time.monotonic() + ANSWER_PATIENCE
        while (remaining := deadline - time.monotonic()) > 0:
            if not self._acks_done.wait(remaining):
                return
            quiet_for = time.monotonic() - self._acks_done_at
            if quiet_for >= ACK_QUIET:
                return
            time.sleep(min(ACK_QUIET - quiet_for, remaining))


def _settle(done: asyncio.Future[Answer | None], result: Answer | BaseException | None) -> None:
    if done.done():  # cancelled meanwhile (stopping)
        return
    if isinstance(result, BaseException):
        done.set_exception(result)
    else:
        done.set_result(result)
