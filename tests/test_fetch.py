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
