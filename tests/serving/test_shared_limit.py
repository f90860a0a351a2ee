"""One rate limit for every replica, counted in Redis: two real servers, a real redis-server, an outage and a return.

The test starts redis-server on a free loopback port (no persistence: a restart forgets every count) and two api.py
processes (Waitress) counting in it, sends requests to them in turn, and stops each process by its PID.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import redis

from tests.fakes.loopback import free_port
from tests.servers import running_api

pytestmark = pytest.mark.slow

LIMIT = 10  # per minute; a fixed window starts at a client's first request, so the test never straddles one


class RedisServer:
    """redis-server on 127.0.0.1:`port`, started and stopped by this test (by its PID)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is missing: make test installs it (apt-get install redis-server)"
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                assert self.process.poll() is None, "redis-server exited"
                assert time.monotonic() < deadline, "redis-server did not come up"
                time.sleep(0.05)

    def stop(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=10)
        self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=0.5)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(free_port())
    server.start()
    try:
        yield server
    finally:
        if server.process is not None:
            server.stop()


def status(base: str) -> int:
    """The status of one prediction request (a 429 or a 5xx is an answer, not an exception)."""
    try:
        with urllib.request.urlopen(f"{base}/bitcoin?date=2024-12-01", timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def alternate(bases: list[str], count: int) -> list[int]:
    """`count` requests, sent to each server in turn."""
    return [status(bases[i % len(bases)]) for i in range(count)]


def test_two_replicas_count_against_one_limit_in_redis_and_survive_its_outage(
    trained_model_dir: Path, redis_server: RedisServer
) -> None:
    env = {"RATE_LIMIT": f"{LIMIT}/minute", "RATE_LIMIT_STORAGE_URI": redis_server.uri, "ACCESS_LOG": "off"}
    with ExitStack() as servers:
        bases = [servers.enter_context(running_api(trained_model_dir, **env)) for _ in range(2)]

        # One limit across both: the 11th request is refused, whichever replica gets it.
        assert alternate(bases, LIMIT + 2) == [200] * LIMIT + [429] * 2
        assert [status(base) for base in bases] == [429, 429]
        counts = [int(redis_server.client().get(key) or 0) for key in redis_server.client().keys("LIMITS*")]
        assert counts == [LIMIT + 4]  # every request counted once, in one shared counter (refusals count too)

        # Redis stops: no 5xx; each replica counts in its own memory from zero, with the same limit.
        redis_server.stop()
        during = alternate(bases, 2 * LIMIT + 2)
        assert all(code < 500 for code in during), during
        assert during == [200] * (2 * LIMIT) + [429] * 2

        # Redis is back (empty): each replica returns to it at its next check (1, 2, 4... s after the last).
        redis_server.start()
        deadline = time.monotonic() + 90
        back = set()
        while len(back) < len(bases):
            assert time.monotonic() < deadline, "the replicas did not return to Redis"
            for base in bases:
                code = status(base)
                assert code < 500
                if code == 200:  # their own counters are spent: a 200 comes from Redis' fresh count
                    back.add(base)
            time.sleep(0.25)
        redis_server.client().flushall()
        assert alternate(bases, LIMIT + 1) == [200] * LIMIT + [429]
