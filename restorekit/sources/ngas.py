"""Where products come from: a local directory of NGAS files, or an NGAS server over HTTP.

:func:`open_store` picks one from a single setting: an explicit ``DIR_OR_URL``, then the
``RESTOREKIT_NGAS`` environment variable, then the demo archive's store. Every file id is
checked before use so that no name from the archive can leave its directory.
"""

from __future__ import annotations

import http.client
import os
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from restorekit.errors import ConfigurationError, InputError, NgasError
from restorekit.sources.archive import mask_url_text

ENV_NGAS = "RESTOREKIT_NGAS"
ENV_REDIRECTS = "RESTOREKIT_NGAS_REDIRECT_HOSTS"
ENV_TIMEOUT = "RESTOREKIT_NGAS_TIMEOUT"
"""Seconds an NGAS request may wait for data (default 60)."""


def seconds_setting(variable: str, default: float) -> float:
    """A number of seconds from the environment variable ``variable`` (else ``default``)."""
    text = os.environ.get(variable)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1e12:  # nor NaN, nor infinite
        raise ConfigurationError(f"{variable}={text!r} is not a number of seconds above 0")
    return value


CHUNK = 1 << 20


class TransientNgasError(NgasError):
    """A failure worth retrying (timeout, connection reset, HTTP 5xx)."""


class NgasUnreachableError(TransientNgasError):
    """No connection to NGAS at all (refused, no route, name unknown, timed out): the
    store, not one file, is failing."""


class NgasStore(Protocol):
    """A source of product files by NGAS file id."""

    location: str

    def read_bytes(self, file_id: str) -> bytes: ...

    def stream(self, file_id: str, offset: int = 0) -> tuple[Iterator[bytes], int | None, bool]:
        """Chunks from ``offset``; the total size if known; whether ``offset`` was honoured."""
        ...


_NOT_PLAIN = re.compile(r"[/\\\x00-\x1f]")
"""A separator, NUL or other control character."""


def check_file_id(file_id: object) -> str:
    """Return ``file_id`` if it is a plain file name, else raise.

    Raises
    ------
    InputError
        For separators, ``..``, hidden names, control characters or overlong names.
    """
    if (
        not isinstance(file_id, str)
        or not file_id
        or file_id in (".", "..")
        or file_id.startswith(".")
        or _NOT_PLAIN.search(file_id)
        or len(file_id.encode()) > 255
    ):
        raise InputError(
            f"NGAS file id {file_id!r} is not a plain file name; the archive entry is refused"
        )
    return file_id


class LocalNgas:
    """A directory holding one file per NGAS file id."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self.location = str(self.directory)
        if not self.directory.is_dir():
            raise ConfigurationError(
                f"NGAS store {self.location!r} is not a directory; give a directory or an "
                "http(s):// NGAS URL"
            )

    def _path(self, file_id: str) -> Path:
        return self.directory / check_file_id(file_id)

    def _missing(self, file_id: str) -> NgasError:
        return NgasError(
            f"{file_id} is not in the NGAS store {self.location}",
            file_id=file_id,
            path=self.location,
        )

    def read_bytes(self, file_id: str) -> bytes:
        try:
            return self._path(file_id).read_bytes()
        except FileNotFoundError:
            raise self._missing(file_id) from None

    def stream(self, file_id: str, offset: int = 0) -> tuple[Iterator[bytes], int | None, bool]:
        path = self._path(file_id)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise self._missing(file_id) from None

        def chunks() -> Iterator[bytes]:
            with path.open("rb") as handle:
                handle.seek(offset)
                while block := handle.read(CHUNK):
                    yield block

        return chunks(), size, True


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to the NGAS host itself, or to hosts allowed by name."""

    def __init__(self, host: str, allowed: frozenset[str]) -> None:
        self.host, self.allowed = host, allowed

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        target = urllib.parse.urlsplit(newurl).hostname or ""
        if target != self.host and target not in self.allowed:
            raise NgasError(
                f"NGAS redirected to another host ({target}); allow it with "
                f"{ENV_REDIRECTS}={target} if that is expected"
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _looks_like_html(name: str, content_type: str, first: bytes) -> bool:
    if name.lower().endswith((".html", ".htm")):
        return False
    head = first[:64].lstrip().lower()
    return "text/html" in content_type.lower() or head.startswith((b"<!doctype html", b"<html"))


class HttpNgas:
    """An NGAS server: ``GET <base>/RETRIEVE?file_id=<id>``.

    Each request has a ``timeout`` (seconds without data); replies are checked: a ``206`` must
    start where it was asked to, an HTML page is an error page, not a product, and redirects
    go only to the same host (or hosts named in ``$RESTOREKIT_NGAS_REDIRECT_HOSTS``).
    """

    def __init__(self, base_url: str, *, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.location = mask_url_text(self.base_url)
        self.timeout = timeout
        parts = urllib.parse.urlsplit(self.base_url)
        try:
            parts.port  # noqa: B018 (raises on a malformed port)
        except ValueError:
            raise ConfigurationError(
                f"NGAS URL {self.location!r} has a malformed port; write http://host:7777"
            ) from None
        if not parts.hostname:
            raise ConfigurationError(f"NGAS URL {self.location!r} names no host")
        allowed = frozenset(
            h.strip() for h in os.environ.get(ENV_REDIRECTS, "").split(",") if h.strip()
        )
        self._opener = urllib.request.build_opener(_SameHostRedirects(parts.hostname, allowed))
        self._parts = parts
        self._host: str = parts.hostname
        # Connections kept open between requests, one per thread (a survey makes hundreds of
        # thousands of small requests); not through a proxy, which urllib alone honours.
        proxied = parts.scheme in urllib.request.getproxies() and not urllib.request.proxy_bypass(
            parts.hostname
        )
        self._keep_alive = not proxied
        self._local = threading.local()

    def url(self, file_id: str) -> str:
        query = urllib.parse.urlencode({"file_id": check_file_id(file_id)})
        return f"{self.base_url}/RETRIEVE?{query}"

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's open connection (and whether it served a request before)."""
        kept = getattr(self._local, "kept", None)
        if kept is not None and kept[0] == os.getpid():
            return kept[1], True
        factory = (
            http.client.HTTPSConnection
            if self._parts.scheme == "https"
            else http.client.HTTPConnection
        )
        connection = factory(self._host, self._parts.port, timeout=self.timeout)
        self._local.kept = (os.getpid(), connection)
        return connection, False

    def _drop_connection(self) -> None:
        kept = getattr(self._local, "kept", None)
        self._local.kept = None
        if kept is not None and kept[0] == os.getpid():
            kept[1].close()

    def _open(self, file_id: str, offset: int = 0):
        if self._keep_alive:
            response = self._open_kept(file_id, offset)
            if response is not None:
                return response
        return self._open_urllib(file_id, offset)

    def _open_kept(self, file_id: str, offset: int):
        """The reply on this thread's kept connection; ``None`` for a redirect, which the
        urllib path follows (to allowed hosts only)."""
        path = urllib.parse.urlsplit(self.url(file_id))
        target = f"{path.path}?{path.query}"
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        for _ in range(2):
            connection, reused = self._connection()
            try:
                connection.request("GET", target, headers=headers)
                response = connection.getresponse()
                break
            except (OSError, http.client.HTTPException) as exc:
                self._drop_connection()
                if reused:
                    continue  # the server closed a connection idle between requests
                raise self._unreachable(exc) from None
        if response.status < 300:
            return _Kept(response, self)
        response.read()  # the connection stays usable
        if response.will_close:
            self._drop_connection()
        if response.status < 400:
            return None
        raise self._refusal(file_id, response.status)

    def _open_urllib(self, file_id: str, offset: int = 0):
        request = urllib.request.Request(self.url(file_id))
        if offset:
            request.add_header("Range", f"bytes={offset}-")
        try:
            return self._opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            raise self._refusal(file_id, exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            raise self._unreachable(getattr(exc, "reason", exc)) from None

    def _refusal(self, file_id: str, status: int) -> NgasError:
        """The error for an HTTP error status: 404 says the file is not there, 5xx may pass."""
        if status == 404:
            return NgasError(
                f"{file_id} is not in NGAS at {self.location} (HTTP 404)",
                file_id=file_id,
                url=self.location,
            )
        error = TransientNgasError if status >= 500 else NgasError
        return error(f"NGAS at {self.location} refused {file_id}: HTTP {status}")

    def _unreachable(self, reason: object) -> NgasUnreachableError:
        return NgasUnreachableError(
            f"NGAS at {self.location} cannot be reached ({reason}); check the URL and the network"
        )

    def read_bytes(self, file_id: str) -> bytes:
        chunks, _, _ = self.stream(file_id)
        return b"".join(chunks)

    def stream(self, file_id: str, offset: int = 0) -> tuple[Iterator[bytes], int | None, bool]:
        response = self._open(file_id, offset)
        partial = response.status == 206
        if partial and not _range_starts_at(response.headers.get("Content-Range"), offset):
            # A 206 for another range than asked: start the file again from its first byte.
            response.close()
            response, partial, offset = self._open(file_id, 0), False, 0
        length = response.headers.get("Content-Length")
        total = None
        if length is not None and length.isdigit():
            total = int(length) + (offset if partial else 0)
        content_type = response.headers.get("Content-Type", "")

        def chunks() -> Iterator[bytes]:
            with response:
                first = True
                try:
                    while block := response.read1(CHUNK):
                        if first and _looks_like_html(file_id, content_type, block):
                            raise NgasError(
                                f"NGAS answered {file_id} with an HTML page, not the file "
                                "(an error page?); nothing was kept"
                            )
                        first = False
                        yield block
                except (OSError, http.client.HTTPException) as exc:
                    raise TransientNgasError(
                        f"transfer of {file_id} from NGAS was cut ({type(exc).__name__})"
                    ) from None

        return chunks(), total, partial


class _Kept:
    """A reply on a kept connection: the connection is given up unless the reply is read to
    its end (a half-read reply would be mistaken for the next one)."""

    def __init__(self, response: http.client.HTTPResponse, store: HttpNgas) -> None:
        self.response, self.store = response, store
        self.status, self.headers = response.status, response.headers

    def read1(self, size: int) -> bytes:
        return self.response.read1(size)

    def close(self) -> None:
        complete = self.response.isclosed() or self.response.length == 0
        if not complete or self.response.will_close:
            self.store._drop_connection()
        self.response.close()

    def __enter__(self) -> _Kept:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _range_starts_at(content_range: str | None, offset: int) -> bool:
    """``Content-Range: bytes START-END/TOTAL`` with START == offset."""
    if not content_range or not content_range.startswith("bytes "):
        return False
    start = content_range[6:].split("-", 1)[0].strip()
    return start.isdigit() and int(start) == offset


def open_store(setting: str | None = None) -> NgasStore:
    """The NGAS store named by ``setting``, ``$RESTOREKIT_NGAS``, or the demo archive's."""
    value = setting or os.environ.get(ENV_NGAS)
    if not value or value == "demo":
        from restorekit.demo import demo_archive

        return LocalNgas(demo_archive().ngas)
    if value.startswith(("http://", "https://")):
        return HttpNgas(value, timeout=seconds_setting(ENV_TIMEOUT, 60.0))
    if "://" in value:
        raise ConfigurationError(
            f"NGAS location {mask_url_text(value)!r} is neither a directory nor an http(s) URL"
        )
    return LocalNgas(value)
