"""A small NGAS look-alike over HTTP on loopback, serving a directory.

``GET /RETRIEVE?file_id=<id>`` answers with the file, honouring ``Range: bytes=N-``. For tests,
benchmarks and for serving the demo store; not for production use.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from restorekit.errors import InputError
from restorekit.sources.ngas import check_file_id


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops connections a concurrent survey opens

    def handle_error(self, request, client_address) -> None:
        # A client that hangs up mid-transfer is normal here (interrupted fetches).
        pass


class NgasServer:
    """``with NgasServer(directory) as server: server.url`` serves until the block ends.

    ``fail_after`` cuts each of the first ``cut_transfers`` transfers after that many bytes,
    to exercise resuming; ``latency`` (seconds) is waited before each answer, as a distant
    NGAS makes a client wait.
    """

    def __init__(
        self,
        directory: Path | str,
        *,
        port: int = 0,
        ranges: bool = True,
        fail_after: int | None = None,
        cut_transfers: int = 0,
        latency: float = 0.0,
    ) -> None:
        self.directory = Path(directory)
        self.latency = latency
        self.ranges = ranges
        self.fail_after = fail_after
        self.cuts_left = cut_transfers
        self.requests: list[tuple[str, str | None]] = []
        self.clients: set[tuple] = set()
        """The client addresses seen: one per connection."""
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # connections kept open between requests
            # Headers and body leave in two writes: without this, a kept connection waits
            # for the client's delayed ACK (about 40 ms) on every reply.
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server._handle(self)

        self.httpd = _QuietServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> NgasServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        parsed = urllib.parse.urlparse(request.path)
        file_id = urllib.parse.parse_qs(parsed.query).get("file_id", [""])[0]
        with self._lock:
            self.requests.append((file_id, request.headers.get("Range")))
            self.clients.add(request.client_address)
        if self.latency:
            time.sleep(self.latency)
        try:
            path = self.directory / check_file_id(file_id)
        except InputError:
            request.send_error(400, "bad file_id")
            return
        if parsed.path != "/RETRIEVE" or not path.is_file():
            request.send_error(404, "no such file")
            return
        size = path.stat().st_size
        offset = 0
        header = request.headers.get("Range", "")
        if self.ranges and header.startswith("bytes=") and header.endswith("-"):
            offset = min(int(header[6:-1] or 0), size)
        with self._lock:
            cut = self.fail_after if self.cuts_left > 0 else None
            if cut is not None:
                self.cuts_left -= 1
        request.send_response(206 if offset else 200)
        request.send_header("Content-Type", "application/octet-stream")
        request.send_header("Content-Length", str(size - offset))
        if offset:
            request.send_header("Content-Range", f"bytes {offset}-{size - 1}/{size}")
        request.end_headers()
        sent = 0
        with path.open("rb") as handle:
            handle.seek(offset)
            while block := handle.read(1 << 20):
                if cut is not None and sent + len(block) > cut:
                    request.wfile.write(block[: max(0, cut - sent)])
                    request.wfile.flush()
                    request.close_connection = True
                    return
                request.wfile.write(block)
                sent += len(block)
