"""The deploy job's release steps against Render: deploy (its deploy hook) and verify (its /model)."""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

from release.common import DEPLOY_HOOK_URL, SERVICE_URL, ReleaseError


def trigger_deploy(image: str, hook_url: str, attempts: int, wait_seconds: float) -> str:
    """POST Render's deploy hook with `imgURL` = the image by digest; retried on 5xx and network errors."""
    if "@sha256:" not in image:
        raise ReleaseError(f"{image} does not name a digest: Render would deploy whatever the tag points at then")
    if not hook_url:
        raise ReleaseError(f"{DEPLOY_HOOK_URL} is not set: nothing was deployed")
    separator = "&" if urllib.parse.urlsplit(hook_url).query else "?"
    url = f"{hook_url}{separator}imgURL={urllib.parse.quote(image, safe='')}"
    answers = []
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=30) as response:
                body = response.read(2_000).decode(errors="replace")
            deploy = json.loads(body).get("deploy", {}).get("id", "") if body.startswith("{") else ""
            print(f"release: Render accepted the deploy of {image}{f' ({deploy})' if deploy else ''}", file=sys.stderr)
            return deploy
        except urllib.error.HTTPError as error:
            answers.append(f"HTTP {error.code}")
            if error.code < 500:
                break  # a wrong key or image URL is not fixed by asking again
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            answers.append(f"no answer ({type(reason).__name__})")  # the reason could quote the URL and its key
        if attempt < attempts:
            time.sleep(wait_seconds)
    raise ReleaseError(
        f"Render's deploy hook refused the deploy ({', '.join(answers)}): nothing was deployed, the previous "
        "deployment keeps serving"
    )


def fetch_model_version(url: str, timeout: float) -> str:
    """The `model_version` a service's /model reports, or what went wrong, in a few words."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/model", timeout=timeout) as response:
            return str(json.loads(response.read()).get("model_version", ""))
    except urllib.error.HTTPError as error:
        return f"(HTTP {error.code})"
    except (urllib.error.URLError, TimeoutError, ConnectionError, ValueError) as error:
        return f"({type(getattr(error, 'reason', error)).__name__})"


def wait_for_version(
    url: str,
    expected: str,
    timeout: float,
    interval: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    read: Callable[[str, float], str] = fetch_model_version,
) -> float:
    """Poll `url`/model until it reports `expected`; the seconds it took. Never longer than `timeout`: each
    request's own timeout is cut to what is left."""
    if not url:
        raise ReleaseError(f"{SERVICE_URL} is not set: cannot tell whether the deploy went live")
    began = clock()
    served = ""
    while True:
        left = timeout - (clock() - began)
        if left <= 0:
            break
        served = read(url, min(10.0, left))
        if served == expected:
            return clock() - began
        print(f"release: {url} serves {served or '(no version)'}, waiting for {expected}", file=sys.stderr)
        left = timeout - (clock() - began)
        if left <= 0:
            break
        sleep(min(interval, left))
    raise ReleaseError(
        f"{url} did not report model {expected} within {timeout:.0f} s (last: {served or 'no version'}); the "
        "previous deployment keeps serving: check the deploy in Render's dashboard"
    )
