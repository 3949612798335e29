import os

import pytest

from restorekit.errors import InputError, NgasError
from restorekit.sources.fetch import Product, SizeMismatchError, fetch_products
from restorekit.sources.ngas import HttpNgas, LocalNgas, check_file_id
from restorekit.testing.ngas_server import NgasServer


@pytest.fixture
def store_dir(tmp_path):
    source = tmp_path / "ngas"
    source.mkdir()
    for i in range(5):
        (source / f"file{i}.tgz").write_bytes(os.urandom(300_000 + i))
    return source


def _products(directory):
    return [Product(p.name, p.stat().st_size) for p in sorted(directory.iterdir())]


def test_http_fetch_from_a_loopback_server(store_dir, tmp_path):
    dest = tmp_path / "products"
    with NgasServer(store_dir) as server:
        report = fetch_products(HttpNgas(server.url), _products(store_dir), dest, jobs=3)
    assert sorted(report.fetched) == sorted(p.name for p in store_dir.iterdir())
    for p in store_dir.iterdir():
        assert (dest / p.name).read_bytes() == p.read_bytes()
    assert not list(dest.glob("*.part"))


def test_a_cut_transfer_is_retried_and_resumed(store_dir, tmp_path):
    dest = tmp_path / "products"
    products = _products(store_dir)[:1]
    with NgasServer(store_dir, fail_after=100_000, cut_transfers=1) as server:
        report = fetch_products(HttpNgas(server.url), products, dest, sleep=lambda s: None)
        ranges = [r for _, r in server.requests]
    assert ranges == [None, "bytes=100000-"]
    assert (dest / products[0].name).read_bytes() == (store_dir / products[0].name).read_bytes()
    assert report.bytes == products[0].size


def test_an_interrupted_run_resumes_from_its_part_file(store_dir, tmp_path):
    dest = tmp_path / "products"
    dest.mkdir()
    first = _products(store_dir)[0]
    data = (store_dir / first.name).read_bytes()
    (dest / (first.name + ".part")).write_bytes(data[:123_456])
    (dest / "file1.tgz").write_bytes((store_dir / "file1.tgz").read_bytes())
    with NgasServer(store_dir) as server:
        report = fetch_products(HttpNgas(server.url), _products(store_dir), dest)
        requested = dict(server.requests)
    assert report.resumed == [first.name]
    assert report.present == ["file1.tgz"]
    assert "file1.tgz" not in requested
    assert requested[first.name] == "bytes=123456-"
    assert (dest / first.name).read_bytes() == data
    assert report.bytes == sum(p.size for p in _products(store_dir)) - 123_456 - len(
        (store_dir / "file1.tgz").read_bytes()
    )


def test_server_without_ranges_restarts_the_file(store_dir, tmp_path):
    dest = tmp_path / "products"
    dest.mkdir()
    first = _products(store_dir)[0]
    data = (store_dir / first.name).read_bytes()
    (dest / (first.name + ".part")).write_bytes(data[:1000])
    with NgasServer(store_dir, ranges=False) as server:
        fetch_products(HttpNgas(server.url), [first], dest)
    assert (dest / first.name).read_bytes() == data


def test_size_mismatch_leaves_no_final_file(store_dir, tmp_path):
    dest = tmp_path / "products"
    wrong = Product("file0.tgz", 5)
    with pytest.raises(NgasError, match="1 of 1 products could not be fetched") as info:
        fetch_products(LocalNgas(store_dir), [wrong], dest)
    assert "archive records 5" in str(info.value)
    assert not (dest / "file0.tgz").exists() and not (dest / "file0.tgz.part").exists()
    assert issubclass(SizeMismatchError, NgasError)


@pytest.mark.parametrize(
    "name", ["../evil", "a/b", "..", ".hidden", "x\0y", "", "a\\b", "line\nbreak", "x" * 300]
)
def test_hostile_names_are_refused(name, tmp_path, store_dir):
    with pytest.raises(InputError):
        check_file_id(name)
    with pytest.raises(InputError):
        fetch_products(LocalNgas(store_dir), [Product(name, 1)], tmp_path / "d")
    assert not (tmp_path / "evil").exists()


def test_missing_file_and_unreachable_server(store_dir, tmp_path):
    with pytest.raises(NgasError, match="not in the NGAS store"):
        fetch_products(LocalNgas(store_dir), [Product("nope.tgz", 1)], tmp_path / "d")
    with pytest.raises(NgasError, match="cannot be reached"):
        fetch_products(
            HttpNgas("http://127.0.0.1:9", timeout=2),
            [Product("f", 1)],
            tmp_path / "d",
            retries=1,
            sleep=lambda s: None,
        )
    with NgasServer(store_dir) as server:
        with pytest.raises(NgasError, match="HTTP 404"):
            HttpNgas(server.url).read_bytes("nope.tgz")


def test_the_loopback_ngas_adds_the_latency_asked_for(tmp_path):
    import time

    from restorekit.sources.ngas import HttpNgas
    from restorekit.testing.ngas_server import NgasServer

    (tmp_path / "a.txt").write_bytes(b"x" * 10)
    with NgasServer(tmp_path, latency=0.2) as server:
        started = time.perf_counter()
        assert HttpNgas(server.url).read_bytes("a.txt") == b"x" * 10
        assert time.perf_counter() - started >= 0.2


def test_requests_share_a_kept_connection_and_survive_its_loss(tmp_path, monkeypatch):
    import http.server
    import threading

    from restorekit.sources.fetch import read_document
    from restorekit.sources.ngas import HttpNgas, NgasError
    from restorekit.testing.ngas_server import NgasServer

    for n in range(5):
        (tmp_path / f"d{n}.xml").write_bytes(b"<x/>" * (n + 1))
    (tmp_path / "big.tgz").write_bytes(b"y" * 300_000)
    with NgasServer(tmp_path) as server:
        store = HttpNgas(server.url)
        for _ in range(3):
            for n in range(5):
                assert store.read_bytes(f"d{n}.xml") == b"<x/>" * (n + 1)
        assert len(server.requests) == 15 and len(server.clients) == 1
        # A reply left half-read gives its connection up: the next reply is never mixed in.
        with pytest.raises(NgasError, match="larger than"):
            read_document(store, "big.tgz", cap=1000)
        assert store.read_bytes("d0.xml") == b"<x/>"
        with pytest.raises(NgasError, match="HTTP 404"):
            store.read_bytes("nothere.xml")
        assert store.read_bytes("d1.xml") == b"<x/>" * 2

    class Hangs(http.server.BaseHTTPRequestHandler):
        """HTTP/1.1 without a word of closing, then closes: an NGAS dropping idle
        connections."""

        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            self.close_connection = True

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hangs)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        store = HttpNgas(f"http://127.0.0.1:{httpd.server_address[1]}")
        assert [store.read_bytes("a") for _ in range(3)] == [b"ok"] * 3
    finally:
        httpd.shutdown()
    # Through a proxy, requests go the urllib way, which honours it.
    monkeypatch.setenv("http_proxy", "http://proxy.invalid:3128")
    assert not HttpNgas("http://ngas.example:7777")._keep_alive
    monkeypatch.setenv("no_proxy", "ngas.example")
    assert HttpNgas("http://ngas.example:7777")._keep_alive
