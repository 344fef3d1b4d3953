"""The wall clock a run has cost, over every call that trained it: killed, resumed or re-entered.

`metrics.json`'s `wall_seconds` is what equal-compute comparisons size their baselines by
(`tools/compare_ssl.py --equal_time`), so a run killed after 50 minutes and resumed for 10 must
report about 60, not 10. While a call runs, its count is written every `interval` seconds to
`<workdir>/.run_clock.json` (hidden: it is not progress a rerun resumes from, see
`kerasssl.run_folder`); the next call starts from it. A kill loses at most `interval` seconds
of the count, and the work redone since the last checkpoint is counted twice (at most an epoch
per kill), so a resumed run reports close to, and never much less than, what it cost.
"""

import json
import pathlib
import threading
import time

from kerasssl import files

CLOCK_FILE = ".run_clock.json"
METRICS_FILE = "metrics.json"


def recorded_seconds(workdir):
    """Seconds the run in `workdir` has cost so far (0 for a new run).

    A finished run's `wall_seconds` (re-entering it adds to them), else the count its killed
    calls left in the clock file.
    """
    workdir = pathlib.Path(workdir)
    for name, key in ((METRICS_FILE, "wall_seconds"), (CLOCK_FILE, "seconds")):
        path = workdir / name
        if path.is_file():
            try:
                return float(json.loads(path.read_text()).get(key, 0.0))
            except (ValueError, TypeError, AttributeError):
                return 0.0  # a file from another tool, or torn by hand: count from zero
    return 0.0


class RunClock:
    """Counts a run's seconds from `recorded_seconds(workdir)` on, saving the count as it goes.

    Use as a context manager around the call's work; `seconds()` is the total so far. The
    background thread only writes the clock file, so it costs nothing measurable.

    Args:
        workdir: the run folder (it must exist when the clock starts).
        interval: seconds between two writes of the count.
        since: the `time.perf_counter()` at which this call's work began (default: when the
            clock starts), so the seconds spent before the run folder existed count too.
    """

    def __init__(self, workdir, interval=30.0, since=None):
        self.workdir = pathlib.Path(workdir)
        self.interval = float(interval)
        self.earlier_seconds = recorded_seconds(self.workdir)
        self._since = since
        self._start = None
        self._stop = threading.Event()
        self._thread = None

    def seconds(self):
        elapsed = 0.0 if self._start is None else time.perf_counter() - self._start
        return self.earlier_seconds + elapsed

    def save(self):
        files.atomic_write_json(self.workdir / CLOCK_FILE, {"seconds": round(self.seconds(), 2)})

    def _save_until_stopped(self):
        while not self._stop.wait(self.interval):
            try:
                self.save()
            except OSError:
                pass  # a full or vanished disk: the run itself reports it, not this thread

    def __enter__(self):
        self._start = time.perf_counter() if self._since is None else self._since
        self._thread = threading.Thread(
            target=self._save_until_stopped, name="kerasssl-run-clock", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
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
