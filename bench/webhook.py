"""Webhook benchmark: the real app against a bare FastAPI endpoint, on loopback only.

It starts, each in its own process on a free 127.0.0.1 port:

* a fast fake Telegram Bot API (``bench/fake_telegram.py``) that answers ``sendMessage``;
* the real app as production runs it (``wlcc db upgrade`` then ``wlcc serve --no-migrate``: one
  uvicorn worker) on SQLite in a temporary directory, scheduler off, Telegram pointed at the fake;
* a bare FastAPI app with a trivial JSON POST endpoint (``bench/bare.py``), served by uvicorn too.

Then an async httpx client posts real-shaped Telegram text updates (unique ``update_id``, many
different private chats, the secret header set) to both, in two phases:

(a) maximum throughput: N updates with a fixed number in flight, repeated (3 times by default,
    replies settled in between) for the app and the bare endpoint alike; the median run counts,
    as one run of a second or two on a shared machine is noisy;
(b) a fixed offered rate (200 messages/s by default) for a few seconds, latency measured from
    each message's scheduled time (so a server that falls behind cannot hide it).

It prints throughput, p50/p99 latency, the app/bare throughput ratio, p99 at the fixed rate, the
number of ``sendMessage`` calls the fake received, and PASS/FAIL against the targets (app
throughput >= 50% of bare; p99 < 50 ms at 200 messages/s). It asserts nothing: it is a
measurement, bounded in count and time. Run: ``make bench`` or ``python -m bench.webhook --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.scratch import scratch_database

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"  # the Bot API docs' example token
SECRET = "bench_secret-0123456789abcdef"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TARGET_RATIO = 0.50
TARGET_P99_MS = 50.0
LOOPBACK = "127.0.0.1"
# Settings of the contract and the WLCC_ knobs: never inherited from the caller's environment.
_SETTING_PREFIXES = ("DATABASE_URL", "TELEGRAM_", "TWILIO_", "PUBLIC_BASE_URL", "WLCC_")
_TEXTS = ("MENU", "menu", "Menu", "BANTUAN")


# --- processes ---


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    name: str
    cmd: list[str]
    port: int
    ready_path: str
    env: dict[str, str]
    cwd: Path
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(  # noqa: S603 (our own interpreter and modules)
            self.cmd,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a --app-prefix wrapper included
        )
        log.close()

    def wait_ready(self, timeout: float = 30.0) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}"
                )
            try:
                if httpx.get(self.url + self.ready_path, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f}s:\n{self.tail()}")

    def stop(self) -> None:
        """Ctrl-C to the server's own process group (uvicorn and profilers exit cleanly)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        group = self.proc.pid  # start_new_session: the group id is the leader's pid
        try:
            os.killpg(group, signal.SIGINT)
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(group, signal.SIGKILL)
            self.proc.wait(timeout=5)
        except ProcessLookupError:
            pass

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of a process (Linux /proc; None elsewhere)."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SETTING_PREFIXES)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


# --- load ---


def update_body(update_id: int, user_id: int, text: str) -> bytes:
    """A Telegram text update from a private chat, as the Bot API delivers it."""
    name = f"Ibu {user_id % 10_000}"
    user = {"id": user_id, "is_bot": False, "first_name": name, "language_code": "id"}
    update = {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "from": user,
            "chat": {"id": user_id, "first_name": name, "type": "private"},
            "date": int(time.time()),
            "text": text,
        },
    }
    return json.dumps(update).encode()


class Updates:
    """Unique update ids, round-robin over many chats so per-speaker locks rarely collide."""

    def __init__(self, chats: int) -> None:
        self.users = [7_100_000_000 + i for i in range(chats)]
        self._ids = itertools.count(500_000_001)

    def introductions(self) -> list[bytes]:
        return [update_body(next(self._ids), user, "halo") for user in self.users]

    def batch(self, count: int) -> list[bytes]:
        return [
            update_body(next(self._ids), self.users[i % len(self.users)], _TEXTS[i % len(_TEXTS)])
            for i in range(count)
        ]


@dataclass
class Phase:
    name: str
    planned: int
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    cpu: float | None = None  # CPU seconds the server process used during the phase

    @property
    def cpu_ms_per_request(self) -> float | None:
        return self.cpu / self.ok * 1000 if self.cpu is not None and self.ok else None

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.ok / self.elapsed if self.elapsed > 0 else 0.0

    def pct(self, q: float) -> float:
        """Nearest-rank percentile in milliseconds (nan without data)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
        return ordered[index] * 1000

    def record_error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 3:
            self.error_samples.append(what)


async def _post(client: httpx.AsyncClient, body: bytes, phase: Phase, since: float) -> None:
    try:
        response = await client.post("/webhooks/telegram", content=body)
    except httpx.HTTPError as exc:
        phase.record_error(type(exc).__name__)
        return
    if response.status_code != 200:
        phase.record_error(f"HTTP {response.status_code}")
        return
    phase.latencies.append(time.perf_counter() - since)


async def closed_loop(
    clients: Sequence[httpx.AsyncClient], name: str, bodies: Sequence[bytes], limit: float
) -> Phase:
    """One request in flight per client until all are sent or ``limit`` seconds pass."""
    phase = Phase(name, len(bodies))
    todo: Iterator[bytes] = iter(bodies)
    start = time.perf_counter()
    deadline = start + limit

    async def worker(client: httpx.AsyncClient) -> None:
        for body in todo:
            if time.perf_counter() > deadline:
                phase.record_error("not sent: time limit")
                continue
            await _post(client, body, phase, time.perf_counter())

    await asyncio.gather(*(worker(client) for client in clients))
    phase.elapsed = time.perf_counter() - start
    return phase


async def open_loop(
    clients: Sequence[httpx.AsyncClient],
    name: str,
    bodies: Sequence[bytes],
    rate: float,
    grace: float,
) -> Phase:
    """Send at a fixed rate whatever the answers; latency counts from the scheduled time."""
    phase = Phase(name, len(bodies))
    start = time.perf_counter() + 0.05
    tasks = []
    for i, body in enumerate(bodies):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        client = clients[i % len(clients)]
        tasks.append(asyncio.ensure_future(_post(client, body, phase, due)))
    _done, pending = await asyncio.wait(tasks, timeout=grace)
    for task in pending:
        task.cancel()
        phase.record_error("no answer within the grace period")
    phase.elapsed = time.perf_counter() - start
    return phase


async def sent_messages(fake_url: str) -> int:
    async with httpx.AsyncClient(base_url=fake_url, timeout=5.0) as client:
        calls: dict[str, int] = (await client.get("/_stats")).json()
    return calls.get("sendMessage", 0)


async def settled_messages(fake_url: str, quiet: float = 1.0, limit: float = 120.0) -> int:
    """The fake's sendMessage count once it stops growing: webhooks answer 200 as soon as a
    message is recorded and the reply follows, so replies can trail the last request."""
    deadline = time.monotonic() + limit
    count = await sent_messages(fake_url)
    while time.monotonic() < deadline:
        await asyncio.sleep(quiet)
        now = await sent_messages(fake_url)
        if now == count:
            break
        count = now
    return count


@dataclass
class TargetResult:
    label: str
    warmup: Phase
    throughput: Phase
    rate: Phase
    throughput_runs: list[float] = field(default_factory=list)  # req/s of every repeat
    send_during_measure: int | None = None
    drain_seconds: float | None = None  # until the last reply after the last request


async def measure(
    label: str,
    url: str,
    updates: Updates,
    args: argparse.Namespace,
    fake_url: str | None,
    pid: int | None,
) -> TargetResult:
    # One client per request in flight: httpx's shared connection pool slows down sharply with
    # many concurrent requests on one client, which would measure the client, not the server.
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=url,
                    headers={SECRET_HEADER: SECRET, "Content-Type": "application/json"},
                    timeout=httpx.Timeout(args.request_timeout),
                )
            )
            for _ in range(args.concurrency)
        ]
        # Warm-up: every chat introduces itself (first contact), then a short burst.
        warmup = await closed_loop(clients, "warm-up", updates.introductions(), args.phase_limit)
        await closed_loop(clients, "warm-up", updates.batch(200), 30)
        before = await settled_messages(fake_url) if fake_url else 0
        runs: list[Phase] = []
        for _ in range(args.repeat):
            if runs and fake_url:
                await settled_messages(fake_url)  # each run starts with every reply sent
            cpu_before = cpu_seconds(pid)
            run = await closed_loop(
                clients, "max throughput", updates.batch(args.requests), args.phase_limit
            )
            cpu_after = cpu_seconds(pid)
            if cpu_before is not None and cpu_after is not None:
                run.cpu = cpu_after - cpu_before
            runs.append(run)
        # The median run (for an even count, the lower of the middle two).
        throughput = sorted(runs, key=lambda r: r.rps)[(len(runs) - 1) // 2]
        rate = await open_loop(
            clients,
            f"{args.rate:g} msg/s",
            updates.batch(round(args.rate * args.duration)),
            args.rate,
            args.request_timeout + 5,
        )
        drain_started = time.monotonic()
        after = await settled_messages(fake_url) if fake_url else 0
        drain = time.monotonic() - drain_started
    result = TargetResult(label, warmup, throughput, rate, [r.rps for r in runs])
    if fake_url:
        result.send_during_measure = after - before
        result.drain_seconds = drain
    return result


# --- report ---


def _row(label: str, phase: Phase) -> str:
    return (
        f"  {label:<5} {phase.name:<15} {phase.ok:>6}/{phase.planned:<6} {phase.errors:>6}"
        f" {phase.rps:>9.1f} {phase.pct(50):>8.1f} {phase.pct(99):>8.1f} {phase.pct(100):>8.1f}"
    )


def report(bare: TargetResult, app: TargetResult, args: argparse.Namespace) -> bool:
    print()
    print(
        f"WLCC webhook benchmark: {args.requests} updates at {args.concurrency} in flight"
        f" ({args.repeat} runs, median shown), then {args.rate:g} msg/s for {args.duration:g}s;"
        f" {args.chats} chats; loopback; 1 uvicorn worker each; app on SQLite"
    )
    print(
        f"  {'':<5} {'phase':<15} {'ok/planned':>13} {'errors':>6} {'req/s':>9}"
        f" {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    )
    for result in (bare, app):
        for phase in (result.throughput, result.rate):
            print(_row(result.label, phase))
    for result in (bare, app):
        runs = ", ".join(f"{rps:.0f}" for rps in result.throughput_runs)
        print(f"  {result.label:<5} max throughput of every run, req/s: {runs}")
    for result in (bare, app):
        for phase in (result.warmup, result.throughput, result.rate):
            for sample in phase.error_samples:
                print(f"  ! {result.label} {phase.name}: {sample}")

    ratio = app.throughput.rps / bare.throughput.rps if bare.throughput.rps else 0.0
    p99 = app.rate.pct(99)
    measured = app.throughput.planned * len(app.throughput_runs) + app.rate.planned
    sends = app.send_during_measure
    ratio_ok = ratio >= TARGET_RATIO and app.throughput.errors == 0
    p99_ok = p99 < TARGET_P99_MS and app.rate.errors == 0
    sends_ok = sends == measured
    print()
    print(
        f"  throughput: app {app.throughput.rps:.1f} req/s, bare {bare.throughput.rps:.1f} req/s;"
        f" ratio app/bare {ratio:.2f} (target >= {TARGET_RATIO:.2f})"
        f"  {'PASS' if ratio_ok else 'FAIL'}"
    )
    print(
        f"  p99 at {args.rate:g} msg/s: app {p99:.1f} ms, bare {bare.rate.pct(99):.1f} ms"
        f" (target < {TARGET_P99_MS:.0f} ms)  {'PASS' if p99_ok else 'FAIL'}"
    )
    print(
        f"  sendMessage calls received by the fake for the measured updates: {sends} for"
        f" {measured} (one reply each; the last came {app.drain_seconds or 0:.1f} s after the"
        f" last request)  {'OK' if sends_ok else 'MISMATCH'}"
    )
    app_cpu, bare_cpu = app.throughput.cpu_ms_per_request, bare.throughput.cpu_ms_per_request
    if app_cpu is not None and bare_cpu is not None:
        print(
            f"  server CPU per request in (a): app {app_cpu:.2f} ms, bare {bare_cpu:.2f} ms"
            f" (x{app_cpu / bare_cpu:.1f}; less sensitive to other load than req/s)"
        )
    verdict = ratio_ok and p99_ok
    print(f"  overall: {'PASS' if verdict else 'FAIL'}")
    return verdict


# --- main ---


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.webhook", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--requests", type=int, default=2000, help="updates in phase (a)")
    parser.add_argument("--concurrency", type=int, default=32, help="in flight in phase (a)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of phase (a) per target; the median counts"
    )
    parser.add_argument("--rate", type=float, default=200.0, help="messages/s in phase (b)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of phase (b)")
    parser.add_argument("--chats", type=int, default=200, help="distinct private chats")
    parser.add_argument("--request-timeout", type=float, default=10.0)
    parser.add_argument("--phase-limit", type=float, default=90.0, help="seconds per phase")
    parser.add_argument(
        "--app-prefix",
        default="",
        help="command put before the app's, e.g. 'py-spy record -o app.svg --' to profile it",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, db)")
    parser.add_argument(
        "--database-url",
        help="run the app on this PostgreSQL server (in a schema of its own, dropped after)",
    )
    parser.add_argument(
        "--inbox-worker",
        action="store_true",
        help="WLCC_INBOX_WORKER: the app only records, a `wlcc worker` process answers",
    )
    args = parser.parse_args(argv)
    if not (1 <= args.requests <= 100_000 and 1 <= args.concurrency <= 512):
        parser.error("--requests must be 1..100000 and --concurrency 1..512")
    if not 1 <= args.repeat <= 9:
        parser.error("--repeat must be 1..9")
    if not (0 < args.rate <= 5000 and 0 < args.duration <= 60 and 1 <= args.chats <= 100_000):
        parser.error("--rate must be in (0, 5000], --duration in (0, 60], --chats 1..100000")
    return args


def _run(coro: Coroutine[Any, Any, TargetResult]) -> TargetResult:
    runner: Callable[[Coroutine[Any, Any, TargetResult]], TargetResult] = asyncio.run
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        pass
    return runner(coro)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="wlcc-bench-"))
    try:
        with scratch_database(args.database_url, tmp, keep=args.keep) as database_url:
            return run(args, tmp, database_url)
    finally:
        if args.keep:
            print(f"kept {tmp} (app.log, bare.log, fake.log, bench.db)")
        else:
            for path in sorted(tmp.rglob("*"), reverse=True):
                path.rmdir() if path.is_dir() else path.unlink()
            tmp.rmdir()


def run(args: argparse.Namespace, tmp: Path, database_url: str) -> int:
    py = sys.executable
    fake_port, bare_port, app_port = free_port(), free_port(), free_port()
    app_env = clean_env(
        DATABASE_URL=database_url,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        TELEGRAM_API_BASE_URL=f"http://{LOOPBACK}:{fake_port}/bot",
        WLCC_SCHEDULER_ENABLED="false",
        WLCC_INBOX_WORKER="true" if args.inbox_worker else "false",
    )
    fake = Server(
        "fake Bot API",
        [py, "-m", "bench.fake_telegram", "--port", str(fake_port)],
        fake_port,
        "/_stats",
        clean_env(),
        tmp,
        tmp / "fake.log",
    )
    bare = Server(
        "bare FastAPI",
        [py, "-m", "uvicorn", "bench.bare:app", "--host", LOOPBACK, "--port", str(bare_port)],
        bare_port,
        "/healthz",
        clean_env(),
        tmp,
        tmp / "bare.log",
    )
    app_cmd = [py, "-m", "cli.main", "serve", "--no-migrate", "--host", LOOPBACK]
    app = Server(
        "app",
        [*shlex.split(args.app_prefix), *app_cmd, "--port", str(app_port)],
        app_port,
        "/healthz",
        app_env,
        tmp,
        tmp / "app.log",
    )
    servers = [fake, bare, app]
    print(f"temp dir {tmp}; fake Bot API :{fake_port}, bare :{bare_port}, app :{app_port}")
    worker: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(  # noqa: S603 (wlcc db upgrade, our own CLI)
            [py, "-m", "cli.main", "db", "upgrade"],
            cwd=tmp,
            env=app_env,
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        if args.inbox_worker:
            worker = subprocess.Popen(  # noqa: S603 (our own CLI)
                [py, "-m", "cli.main", "worker"],
                cwd=tmp,
                env=app_env,
                stdin=subprocess.DEVNULL,
                stdout=(tmp / "worker.log").open("w"),
                stderr=subprocess.STDOUT,
            )
        for server in servers:
            server.start()
        for server in servers:
            server.wait_ready()
        print("measuring the bare endpoint...", flush=True)
        bare_pid = bare.proc.pid if bare.proc else None
        bare_result = _run(measure("bare", bare.url, Updates(args.chats), args, None, bare_pid))
        print("measuring the app...", flush=True)
        app_pid = app.proc.pid if app.proc and not args.app_prefix else None
        app_result = _run(measure("app", app.url, Updates(args.chats), args, fake.url, app_pid))
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"benchmark could not run: {exc}", file=sys.stderr)
        return 2
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=15)
        for server in reversed(servers):
            server.stop()
    report(bare_result, app_result, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
