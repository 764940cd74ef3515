"""Batches on a Ray cluster (``--ray``): one Ray task per input, the pose model loaded once
per Ray worker process (the worker keeps its estimators between tasks), each finished
input's record streamed back to the driver, which keeps batch.json and summary.csv exactly
as a local run does. Inputs and OUT must be reachable by the same paths on every node
(a shared file system): see docs/scale.md."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from hamflex.errors import MissingExtraError
from hamflex.pipelines import batch
from hamflex.pipelines.batch import BatchInput, BatchSettings, InputRecord, RecordSource

RAY_INSTALL_HINT = "pip install 'hamflex[ray]'"


def _ray_task(item: BatchInput, settings: BatchSettings, out_dir: Path) -> tuple[str, InputRecord]:
    """One input in a Ray worker process; its estimators are opened on its first task."""
    batch.worker_join(settings)
    return batch.process_input(item, settings, out_dir)


def _connect(ray, address: str, jobs: int) -> None:
    """``local``: a cluster of this machine with ``jobs`` CPUs; ``auto``: the cluster this
    machine belongs to; else the head's address (``ray://host:10001`` or ``host:6379``)."""
    if ray.is_initialized():
        return
    if address == "local":
        ray.init(num_cpus=jobs, include_dashboard=False, log_to_driver=False)
    else:
        ray.init(address=address, log_to_driver=False)


def ray_records(address: str) -> RecordSource:
    """The batch's record source for ``run_batch`` on Ray at ``address``; without Ray
    installed, :class:`~hamflex.errors.MissingExtraError` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise MissingExtraError(f"--ray needs Ray, which is not installed: {RAY_INSTALL_HINT}") from None

    def records(todo: list[BatchInput], settings: BatchSettings, out_dir: Path,
                jobs: int) -> Iterator[tuple[str, InputRecord]]:
        _connect(ray, address, jobs)
        task = ray.remote(num_cpus=1)(_ray_task)
        pending = [task.remote(item, settings, out_dir.absolute()) for item in todo]
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                yield ray.get(done[0])
        finally:
            for reference in pending:  # Ctrl-C or an error: stop what has not finished
                ray.cancel(reference, force=True)

    return records
