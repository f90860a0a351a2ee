"""Waitress, run so that SIGTERM lets the requests in flight finish before the process exits 0."""

from __future__ import annotations

import logging
import signal
import sys
import time
from types import FrameType

import waitress
from flask import Flask
from waitress import wasyncore
from waitress.server import TcpWSGIServer

from cryptopredict.core.settings import ServerOptions

_POLL_SECONDS = 0.05
_IDLE_SECONDS = 0.25
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})  # "listen on every interface": not an address to browse to


def serve(app: Flask, options: ServerOptions) -> None:
    """Serve until SIGTERM or SIGINT, then stop listening, finish what is in flight and return."""
    logging.basicConfig()  # as waitress.serve does: its own warnings go to stderr
    # Waitress warns on every request that finds all threads busy: under load that is a log line per request,
    # which costs throughput and says nothing a latency graph does not.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    server = waitress.create_server(
        app, host=options.host, port=options.port, threads=options.threads, ident="crypto-predict"
    )
    if not isinstance(server, TcpWSGIServer):  # one host and port always make one; the drain relies on it
        raise TypeError(f"expected one listening socket, got {type(server).__name__}")
    stopping: list[int] = []  # a plain list: a handler must not take locks (threading.Event does), since a second
    # signal can arrive while the first handler holds one, and the main thread would wait on itself forever

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)
        server.pull_trigger()  # one os.write, no lock: wakes the poll loop now rather than at its next timeout

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    access_log = app.extensions.get("access_log")
    if access_log is not None:
        access_log.start_batching()
    print(f"api: listening on {clickable_url(str(server.effective_host), int(server.effective_port))}", flush=True)
    while not stopping:
        wasyncore.loop(
            timeout=server.adj.asyncore_loop_timeout, map=server._map, use_poll=server.adj.asyncore_use_poll, count=1
        )
    drain(server, options.shutdown_grace_seconds)
    if access_log is not None:
        access_log.flush()  # the lines of the requests finished while draining
    print("api: stopped", flush=True)


def clickable_url(host: str, port: int) -> str:
    """A URL a browser can open: a wildcard address is not one, so name the loopback and say what is bound."""
    if host in WILDCARD_HOSTS:
        return f"http://127.0.0.1:{port}/ (listening on all interfaces)"
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def drain(server: TcpWSGIServer, grace_seconds: float) -> None:
    """Refuse new connections, close idle ones, and keep serving busy ones until done or out of time."""
    accept_waiting_connections(server)
    wasyncore.dispatcher.close(server)  # the listening socket only; the trigger and the connections stay
    in_flight = sum(1 for c in server.active_channels.values() if c.requests or c.total_outbufs_len)
    print(f"api: stopping: finishing {in_flight} request(s) in flight (up to {grace_seconds:g} s)", flush=True)
    deadline = time.monotonic() + grace_seconds
    while server.active_channels and time.monotonic() < deadline:
        quiet_since = time.time() - _IDLE_SECONDS
        for channel in list(server.active_channels.values()):
            # Nothing queued, nothing to send and quiet for a moment: an idle keep-alive. The moment matters: a
            # connection accepted just now may have its request still on the way.
            if not channel.requests and not channel.total_outbufs_len and channel.last_activity < quiet_since:
                channel.will_close = True
        wasyncore.loop(timeout=_POLL_SECONDS, map=server._map, use_poll=server.adj.asyncore_use_poll, count=1)
    cut = len(server.active_channels)
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
    wasyncore.close_all(server._map)
    if cut:
        print(f"api: {cut} connection(s) cut at the {grace_seconds:g} s deadline", file=sys.stderr, flush=True)


def accept_waiting_connections(server: TcpWSGIServer) -> None:
    """Take in the connections already queued on the listening socket; closing it would reset them unanswered."""
    while True:
        before = len(server.active_channels)
        server.handle_accept()  # accepts one, or returns when none is waiting (the socket is non-blocking)
        if len(server.active_channels) == before:
            return
