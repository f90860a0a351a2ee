"""A container registry through the OCI distribution API, standard library only: the release steps' one client.

Tags are read and moved registry-side, byte for byte: moving `latest` PUTs the very manifest a digest names under
the tag, so the tag then resolves to that digest (a rebuild or a re-wrapping index would give another). Credentials
are docker's own (`docker login`, as the workflow's login-action writes them to $DOCKER_CONFIG/config.json), traded
for a bearer token when the registry asks for one (GHCR does); a loopback registry is spoken to over http.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
TIMEOUT = 30.0


class RegistryError(RuntimeError):
    """A registry request that failed; the message is one line and never holds a credential."""


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are answered, never followed: a request may carry a token, which must not go to another host."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


OPENER = urllib.request.build_opener(NoRedirect)


@dataclass
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self, what: str) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            raise RegistryError(f"{what}: the answer is not JSON") from None


def call(method: str, url: str, headers: Mapping[str, str], what: str, data: bytes | None = None) -> Answer:
    """One HTTP request; any failure (status >= 300, network, timeout) is a RegistryError naming `what`."""
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers))
    try:
        with OPENER.open(request, timeout=TIMEOUT) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        raise RegistryError(f"{what}: HTTP {error.code}{explain(error.read(4_000))}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise RegistryError(f"{what}: {reason}") from None


def explain(body: bytes) -> str:
    """The message in an error answer: GitHub's `message`, or the distribution API's first error."""
    try:
        answer = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(answer, dict):
        return ""
    errors = answer.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    message = answer.get("message") or first.get("message") or first.get("code")
    return f" ({str(message)[:200]})" if message else ""


def next_link(headers: Mapping[str, str], url: str) -> str | None:
    """The `rel="next"` URL of a Link header, resolved against `url`; refused unless on the same origin."""
    for part in (headers.get("Link") or "").split(","):
        target, _, params = part.partition(";")
        if re.search(r'rel="?next"?', params) and target.strip().startswith("<"):
            link = urllib.parse.urljoin(url, target.strip()[1:-1])
            here, there = urllib.parse.urlsplit(url), urllib.parse.urlsplit(link)
            if (here.scheme, here.netloc) != (there.scheme, there.netloc):
                raise RegistryError(f"the next page is on another host ({there.netloc}): not followed")
            return link
    return None


def registry_base(host: str) -> str:
    """`http://HOST` for a loopback registry (127.0.0.0/8, ::1, localhost), `https://HOST` for any other."""
    name = urllib.parse.urlsplit(f"//{host}").hostname or ""
    try:
        loopback = ipaddress.ip_address(name).is_loopback
    except ValueError:
        loopback = name == "localhost"
    return f"{'http' if loopback else 'https'}://{host}"


def docker_credentials(host: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """`docker login`'s stored `user:password` for `host`, base64 as docker keeps it, or None."""
    config = Path(environ.get("DOCKER_CONFIG") or Path.home() / ".docker") / "config.json"
    try:
        auths = json.loads(config.read_text()).get("auths", {})
    except (OSError, ValueError):
        return None
    entry = auths.get(host) or auths.get(f"https://{host}") or {}
    return str(entry["auth"]) if isinstance(entry, dict) and entry.get("auth") else None


def challenge(header: str) -> tuple[str, dict[str, str]]:
    """A WWW-Authenticate header as (scheme, parameters): Bearer realm="…",service="…",scope="…"."""
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), dict(re.findall(r'(\w+)="([^"]*)"', rest))


class OciRegistry:
    """One repository of a registry: its tags, manifests by digest or tag, and deletion where it is allowed."""

    def __init__(self, repository: str, environ: Mapping[str, str] = os.environ) -> None:
        host, _, name = repository.partition("/")
        self.repository, self.host, self.name = repository, host, name
        self.url = f"{registry_base(host)}/v2/{name}"
        self.credentials = docker_credentials(host, environ)
        self.authorization: str | None = None
        self.untagged = 0  # the distribution API lists no untagged manifests

    def request(self, method: str, path: str, what: str, headers: Mapping[str, str] | None = None,
                data: bytes | None = None) -> Answer:  # fmt: skip
        """A request to the repository, authenticating once as the registry asks (Basic, or a bearer token)."""
        headers = dict(headers or {})
        if self.authorization:
            headers["Authorization"] = self.authorization
        try:
            return call(method, f"{self.url}{path}", headers, what, data)
        except RegistryError as error:
            if "HTTP 401" not in str(error) or self.authorization is not None:
                raise
        self.authorization = self.authenticate(what)
        return call(method, f"{self.url}{path}", {**headers, "Authorization": self.authorization}, what, data)

    def authenticate(self, what: str) -> str:
        """The Authorization header the registry's challenge asks for, from docker's stored credentials."""
        if not self.credentials:
            raise RegistryError(f"{what}: HTTP 401 and no `docker login` for {self.host}")
        probe = urllib.request.Request(f"{registry_base(self.host)}/v2/", method="GET")
        try:
            OPENER.open(probe, timeout=TIMEOUT).close()
            return f"Basic {self.credentials}"
        except urllib.error.HTTPError as error:
            scheme, params = challenge(error.headers.get("WWW-Authenticate", ""))
        except (urllib.error.URLError, OSError) as error:
            raise RegistryError(f"{what}: {getattr(error, 'reason', error)}") from None
        if scheme != "bearer" or "realm" not in params:
            return f"Basic {self.credentials}"
        query = urllib.parse.urlencode(
            {"service": params.get("service", self.host), "scope": f"repository:{self.name}:pull,push"}
        )
        answer = call("GET", f"{params['realm']}?{query}", {"Authorization": f"Basic {self.credentials}"}, what)
        token = answer.json(what)
        value = token.get("token") or token.get("access_token") if isinstance(token, dict) else None
        if not value:
            raise RegistryError(f"{what}: the registry's token service gave no token")
        return f"Bearer {value}"

    def tags(self) -> dict[str, str]:
        """Every tag with the digest it resolves to."""
        names: list[str] = []
        path: str | None = "/tags/list"
        what = f"listing the tags of {self.repository}"
        while path:
            answer = self.request("GET", path, what)
            listing = answer.json(what)
            page = listing.get("tags") if isinstance(listing, dict) else None
            names += [str(tag) for tag in page or []]
            link = next_link(answer.headers, f"{self.url}{path}")
            path = link.removeprefix(self.url) if link else None
        return {tag: self.digest(tag) for tag in sorted(set(names))}

    def digest(self, reference: str) -> str:
        what = f"resolving {self.repository}:{reference}"
        answer = self.request("HEAD", f"/manifests/{reference}", what, {"Accept": ", ".join(MANIFEST_TYPES)})
        digest = answer.headers.get("Docker-Content-Digest", "")
        if not digest.startswith("sha256:"):
            raise RegistryError(f"{what}: the registry answers no Docker-Content-Digest")
        return digest

    def manifest(self, reference: str) -> tuple[bytes, str]:
        """A manifest's exact bytes and media type."""
        what = f"reading the manifest {self.repository}@{reference}"
        answer = self.request("GET", f"/manifests/{reference}", what, {"Accept": ", ".join(MANIFEST_TYPES)})
        media_type = answer.headers.get("Content-Type", "").split(";")[0].strip()
        if media_type not in MANIFEST_TYPES:
            media_type = str(answer.json(what).get("mediaType", ""))
        return answer.body, media_type

    def tag(self, digest: str, tags: list[str]) -> None:
        """Point each tag at `digest`: the same manifest bytes, so the tag resolves to that very digest."""
        body, media_type = self.manifest(digest)
        for tag in tags:
            what = f"tagging {self.repository}@{digest} as {tag}"
            self.request("PUT", f"/manifests/{tag}", what, {"Content-Type": media_type}, body)
            if self.digest(tag) != digest:
                raise RegistryError(f"{what}: the tag resolves to another digest")

    def delete(self, digest: str) -> str:
        what = f"deleting {self.repository}@{digest}"
        try:
            self.request("DELETE", f"/manifests/{digest}", what)
        except RegistryError as error:
            if "HTTP 405" in str(error):
                raise RegistryError(f"{error}: the registry does not allow deletion (storage.delete.enabled)") from None
            raise
        return digest
