"""A gunicorn worker warming its index keeps telling the master it lives, and stops once warm."""

from __future__ import annotations

import time

from searchapp.server import heartbeat


class Beats:
    """What gunicorn's master sees of a worker: each notify() touches its heartbeat file."""

    def __init__(self):
        self.times: list[float] = []

    def notify(self) -> None:
        self.times.append(time.monotonic())


def test_a_warm_up_longer_than_the_timeout_keeps_the_worker_alive_and_then_stops():
    worker = Beats()
    started = time.monotonic()
    with heartbeat(worker, 0.05):
        # Warming for ten beats' time: the master must hear from the worker well within each timeout.
        time.sleep(0.5)
    ended = time.monotonic()
    assert len(worker.times) >= 3
    gaps = [b - a for a, b in zip([started, *worker.times], [*worker.times, ended])]
    assert max(gaps) < 0.4
    after = len(worker.times)
    time.sleep(0.2)
    assert len(worker.times) == after
