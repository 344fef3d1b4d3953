"""The wall clock a run cost, over every call that trained it, killed ones included.

`metrics.json`'s `wall_seconds` is what equal-compute comparisons size their baselines by
(`kerasssl.equal_time`), so a run killed after 50 minutes and resumed for 10 must report about
60, not 10. While a call trains, its count is written every `interval` seconds to
`<workdir>/.run_clock.json` (hidden: it is not progress a rerun resumes from, see
`kerasssl.run_folder`), and the call that resumes the run starts from it. A kill loses at most
`interval` seconds of the count, and the work redone since the last checkpoint is counted twice
(at most an epoch per kill), so a resumed run reports close to what it cost.

Each count names the machines it was measured on (`machine()`: CPU model, cores, AMX), so a
run resumed on another machine, whose seconds add up figures of two speeds, can be told apart
(metrics.json `wall_machines`; `kerasssl.equal_time` refuses to size a budget from it).

A finished run keeps the seconds that finished it: calls that re-enter it (to read its metrics,
as the comparison tools do) add nothing, so a budget sized from it does not depend on how often
it was read. A run whose cost is unknown (a metrics.json from before `wall_seconds`, and no
clock file) gets no `wall_seconds` rather than the seconds of the last call.
"""

import functools
import json
import os
import pathlib
import threading
import time

from kerasssl import files

CLOCK_FILE = ".run_clock.json"
METRICS_FILE = "metrics.json"


@functools.cache
def machine():
    """This machine as far as its speed goes: CPU model, usable cores, AMX or not."""
    model, amx = "unknown CPU", False
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model == "unknown CPU":
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and " amx" in line:
                amx = True
    except OSError:
        pass  # not Linux: the model stays unknown, the cores still tell machines apart
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model}, {cores} cores, {'AMX' if amx else 'no AMX'}"


def _read(path, key, kind=float):
    """`key` of the JSON object in `path` as `kind`, or None (no file, no key, not JSON)."""
    try:
        value = json.loads(path.read_text()).get(key)
        return None if value is None else kind(value)
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def recorded(workdir):
    """(seconds the run in `workdir` has cost so far, whether it is finished, the machines
    those seconds were measured on), read from one place: a finished run's metrics.json, else
    the clock file its killed calls left.

    Seconds are None when unknown: a metrics.json without `wall_seconds` and no clock file.
    """
    workdir = pathlib.Path(workdir)
    for path, key, machines_key, finished in (
        (workdir / METRICS_FILE, "wall_seconds", "wall_machines", True),
        # Killed calls (also after `kerasssl evaluate` made a metrics.json without seconds).
        (workdir / CLOCK_FILE, "seconds", "machines", False),
    ):
        seconds = _read(path, key)
        if seconds is not None:
            return seconds, finished, _read(path, machines_key, list) or []
    return (None if (workdir / METRICS_FILE).exists() else 0.0), False, []


def recorded_seconds(workdir):
    """(seconds the run in `workdir` has cost so far, whether it is finished): see `recorded`."""
    seconds, finished, _ = recorded(workdir)
    return seconds, finished


def recorded_machines(workdir):
    """The machines the recorded seconds of `workdir` were measured on ([] if none known)."""
    return recorded(workdir)[2]


class RunClock:
    """Counts a run's seconds on from those already recorded, saving the count as it goes.

    Use as a context manager around one call's work; `seconds()` is the run's total so far
    (None when its cost is unknown). The background thread only writes the clock file.

    Args:
        workdir: the run folder (it must exist when the clock starts).
        resuming: whether the call continues a run of this folder (`RunFolder.resuming`); a
            new run counts from zero whatever files an earlier run left.
        interval: seconds between two writes of the count.
        since: the `time.perf_counter()` at which this call's work began (default: when the
            clock starts), so the seconds spent before the run folder existed count too.
    """

    def __init__(self, workdir, resuming=True, interval=30.0, since=None):
        self.workdir = pathlib.Path(workdir)
        self.interval = float(interval)
        self.earlier_seconds, self.finished, self.earlier_machines = (
            recorded(self.workdir) if resuming else (0.0, False, [])
        )
        self._since = since
        self._start = None
        self._stop = threading.Event()
        self._thread = None

    @property
    def counting(self):
        """False for a finished run (its count is final) or one whose cost is unknown."""
        return not self.finished and self.earlier_seconds is not None

    def seconds(self):
        if not self.counting:
            return self.earlier_seconds
        elapsed = 0.0 if self._start is None else time.perf_counter() - self._start
        return self.earlier_seconds + elapsed

    def machines(self):
        """The distinct machines of the count, this one last when this call counts."""
        if not self.counting:
            return list(self.earlier_machines)
        earlier = [name for name in self.earlier_machines if name != machine()]
        return earlier + [machine()]

    def save(self):
        count = {"seconds": round(self.seconds(), 2), "machines": self.machines()}
        files.atomic_write_json(self.workdir / CLOCK_FILE, count)

    def _save_until_stopped(self):
        while not self._stop.wait(self.interval):
            try:
                self.save()
            except OSError:
                pass  # a full or vanished disk: the run itself reports it, not this thread

    def __enter__(self):
        self._start = time.perf_counter() if self._since is None else self._since
        if self.counting:
            self._thread = threading.Thread(
                target=self._save_until_stopped, name="kerasssl-run-clock", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(self, *exc_info):
        if self._thread is None:
            return False
        self._stop.set()
        self._thread.join()
        # A failed call leaves its count for the call that resumes it (the caller deletes it
        # with the rest of a run that saved no progress); a finished run keeps its count in
        # metrics.json, so the clock file goes.
        if exc_info[0] is None:
            (self.workdir / CLOCK_FILE).unlink(missing_ok=True)
        elif self.workdir.is_dir():
            try:
                self.save()
            except OSError:
                pass
        return False
