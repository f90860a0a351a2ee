"""A fake Render web service for the release rehearsal: a deploy hook, and the service URL it keeps serving.

Usage: python3 -m tests.fakes.render --image REPOSITORY[:TAG] --hook-port PORT --service-port PORT --key KEY
                                      [--health-timeout 60]

As Render's image-backed services do:
  POST /deploy/srv-rehearsal?key=KEY[&imgURL=IMAGE]  answers 200 with a deploy id, or 401 for a wrong key, or
      400 when imgURL names another image than the service's (everything but the tag or digest must match). The
      deploy then pulls the image (through DOCKER_HOST), runs it on a port of its own, and waits for /health; only
      a healthy container takes the traffic and the previous one is stopped. One that never becomes healthy is
      removed, and the previous one keeps serving.
  http://127.0.0.1:SERVICE_PORT/...  forwards each GET to the container that is live (503 before the first).
For the rehearsal's faults, on the hook's port:
  POST /_control {"hook_status": 503}   the hook answers that status (null: normal again);
  POST /_control {"break_deploys": true} deploys start the container without its model, so it never gets healthy;
  GET /_status  the live image and digest, and every deploy with its result.
Stops the containers it started on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from release.common import docker, repository_of

# The release steps' rule for what must match and their docker call, and the benchmarks' free port.
from tests.fakes.loopback import LoopbackServer, QuietHandler, forward, free_port, send_answer, send_json

SERVICE_ID = "srv-rehearsal"


class FakeRender:
    """The service's state: which container is live, the deploys so far, and the injected faults."""

    def __init__(self, image: str, key: str, health_timeout: float) -> None:
        self.image = image
        self.key = key
        self.health_timeout = health_timeout
        self.lock = threading.Lock()
        self.live: dict[str, Any] | None = None  # image, digest, container, port
        self.deploys: list[dict[str, Any]] = []
        self.hook_status: int | None = None
        self.break_deploys = False

    def accept(self, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        """The hook's answer; a deploy it accepts runs in the background, as Render's do."""
        if self.hook_status is not None:
            return self.hook_status, {"message": "injected failure"}
        if query.get("key", [""])[0] != self.key:
            return 401, {"message": "unauthorized"}
        image = query.get("imgURL", [self.image])[0]
        if repository_of(image) != repository_of(self.image):
            return 400, {"message": f"imgURL {image} does not match the service's image {self.image}"}
        with self.lock:
            deploy = {"id": f"dep-{len(self.deploys) + 1}", "image": image, "result": "started"}
            self.deploys.append(deploy)
        threading.Thread(target=self.run_deploy, args=(deploy, self.break_deploys), daemon=True).start()
        return 200, {"deploy": {"id": deploy["id"]}}

    def run_deploy(self, deploy: dict[str, Any], broken: bool) -> None:
        image = deploy["image"]
        pulled = docker("pull", "--quiet", image, check=False)
        if pulled.returncode != 0:
            deploy["result"] = f"failed: pull: {pulled.stderr.strip()[-200:]}"
            return
        digest = docker("image", "inspect", "--format", "{{index .RepoDigests 0}}", image, check=False).stdout.strip()
        port = free_port()
        env = ["-e", f"PORT={port}", "-e", "HOST=127.0.0.1"]
        if broken:
            env += ["-e", "MODEL_DIR=/nonexistent"]
        started = docker("run", "-d", "--network", "host", *env, image, check=False)
        if started.returncode != 0:
            deploy["result"] = f"failed: run: {started.stderr.strip()[-200:]}"
            return
        container = started.stdout.strip()
        if not self.wait_healthy(port):
            docker("rm", "-f", container, check=False)
            deploy["result"] = "failed: health check never passed; the previous deploy keeps serving"
            return
        with self.lock:
            previous, self.live = self.live, {"image": image, "digest": digest, "container": container, "port": port}
        if previous:
            docker("rm", "-f", previous["container"], check=False)
        deploy["result"] = "live"
        deploy["digest"] = digest

    def wait_healthy(self, port: int) -> bool:
        deadline = time.monotonic() + self.health_timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    if response.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.5)
        return False

    def status(self) -> dict[str, Any]:
        with self.lock:
            return {"live": self.live, "deploys": list(self.deploys)}

    def stop(self) -> None:
        with self.lock:
            if self.live:
                docker("rm", "-f", self.live["container"], check=False)
                self.live = None


def make_hook_handler(render: FakeRender) -> type[BaseHTTPRequestHandler]:
    class Hook(QuietHandler):
        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if parts.path == "/_control":
                control = json.loads(body or b"{}")
                if "hook_status" in control:
                    render.hook_status = control["hook_status"]
                if "break_deploys" in control:
                    render.break_deploys = bool(control["break_deploys"])
                return send_json(self, 200, {"hook_status": render.hook_status, "break_deploys": render.break_deploys})
            if parts.path != f"/deploy/{SERVICE_ID}":
                return send_json(self, 404, {"message": "not found"})
            send_json(self, *render.accept(parse_qs(parts.query)))

        def do_GET(self) -> None:
            if urlsplit(self.path).path == "/_status":
                return send_json(self, 200, render.status())
            send_json(self, 404, {"message": "not found"})

    return Hook


def make_service_handler(render: FakeRender) -> type[BaseHTTPRequestHandler]:
    class Service(QuietHandler):
        def do_GET(self) -> None:
            live = render.live
            if live is None:
                return send_json(self, 503, {"message": "no deploy is live yet"})
            try:
                answer, payload = forward(live["port"], "GET", self.path, 10)
            except OSError as error:
                return send_json(self, 502, {"message": f"the live container did not answer: {error}"})
            kept = [(name, answer.getheader(name)) for name in ("Content-Type", "Cache-Control", "ETag")]
            send_answer(self, answer.status, [(name, value) for name, value in kept if value], payload)

    return Service


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", required=True, help="the service's image URL, e.g. 127.0.0.1:5000/o/r:latest")
    parser.add_argument("--key", required=True)
    parser.add_argument("--hook-port", type=int, required=True)
    parser.add_argument("--service-port", type=int, required=True)
    parser.add_argument("--health-timeout", type=float, default=60.0)
    args = parser.parse_args()
    render = FakeRender(args.image, args.key, args.health_timeout)
    servers = [
        LoopbackServer(make_hook_handler(render), args.hook_port),
        LoopbackServer(make_service_handler(render), args.service_port),
    ]
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    print(f"fake render: hook on {args.hook_port}, service on {args.service_port}", file=sys.stderr, flush=True)
    stopping.wait()
    for server in servers:
        server.close()
    render.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
