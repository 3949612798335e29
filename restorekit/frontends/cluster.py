"""Batch notebooks on a Dask cluster: a running scheduler (``tcp://host:port``), or a named
``dask-jobqueue`` cluster from the site settings (``dask_clusters``), started and scaled for
the batch and closed after it.

Each run is one task; records land in the records directory as locally (it must be shared
with the workers). A worker that dies takes its task elsewhere: the scheduler reschedules it,
and restorekit allows one such retry (``allowed-failures``, for clusters it starts) before the
run is marked failed. ``dask``, ``distributed`` and ``dask-jobqueue`` are the ``dask`` extra.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

from restorekit.errors import ConfigurationError, SchedulerError

log = logging.getLogger("restorekit.cluster")
CONNECT = 20
"""Seconds to wait for a Dask scheduler to answer."""
WORKERS = 300
"""Seconds to wait for the first worker (a batch system may queue the worker jobs)."""


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ConfigurationError(
            "--cluster needs Dask: pip install 'restorekit[dask]' (dask, distributed, "
            "dask-jobqueue)"
        ) from None
    return distributed


def worker_address() -> str | None:
    """The address of the Dask worker running this code, or ``None`` outside one."""
    try:
        from distributed import get_worker
    except ImportError:
        return None
    try:
        return get_worker().address
    except ValueError:
        return None


def _jobqueue_cluster(name: str, clusters: dict):
    spec = dict(clusters[name])
    kind = spec.pop("class", "SLURMCluster")
    workers = int(spec.pop("workers", 2))
    try:
        import dask_jobqueue
    except ImportError:
        raise ConfigurationError(
            f"cluster {name!r} is a dask-jobqueue {kind}: pip install 'restorekit[dask]'"
        ) from None
    factory = getattr(dask_jobqueue, kind, None)
    if factory is None:
        raise ConfigurationError(
            f"dask_clusters.{name}.class {kind!r} is not a dask-jobqueue cluster (e.g. "
            "SLURMCluster, HTCondorCluster, PBSCluster)"
        )
    cluster = factory(**spec)
    cluster.scale(workers)
    return cluster


@contextlib.contextmanager
def client_for(address: str, clusters: dict | None = None) -> Iterator:
    """A Dask client for ``address`` (``tcp://...``) or a named cluster of the settings."""
    distributed = _distributed()
    clusters = clusters or {}
    cluster = None
    if "://" not in address:
        if address not in clusters:
            known = ", ".join(sorted(clusters)) or "none in the site settings (dask_clusters)"
            raise ConfigurationError(
                f"--cluster {address!r} is neither a scheduler address (tcp://host:8786) nor a "
                f"named cluster; named clusters: {known}"
            )
        import dask

        with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
            cluster = _jobqueue_cluster(address, clusters)
    try:
        client = distributed.Client(cluster if cluster is not None else address, timeout=CONNECT)
    except OSError as exc:
        raise ConfigurationError(f"cannot reach the Dask scheduler {address!r} ({exc})") from None
    try:
        try:
            client.wait_for_workers(1, timeout=WORKERS)
        except (TimeoutError, distributed.TimeoutError, OSError) as exc:
            where = "its workers' job logs" if cluster is not None else "the scheduler"
            raise SchedulerError(
                f"no Dask worker joined {address!r} in {WORKERS} s ({type(exc).__name__}); "
                f"see {where}"
            ) from None
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_on_cluster(client, task: Callable, calls: list[tuple], on_done: Callable) -> list:
    """Submit ``task(*call)`` for each call; ``on_done`` after each completes. The results in
    the order of ``calls``; a task lost with its workers comes back as its exception."""
    distributed = _distributed()
    futures = [client.submit(task, *call, pure=False) for call in calls]
    index = {f.key: i for i, f in enumerate(futures)}
    results: list = [None] * len(calls)
    for future in distributed.as_completed(futures):
        try:
            results[index[future.key]] = future.result()
        except Exception as exc:  # the worker died again, or the task could not run
            results[index[future.key]] = exc
        on_done()
    return results
