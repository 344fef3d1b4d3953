"""Keeps TensorFlow's C++ start-up chatter out of the `kerasssl` command's stderr.

TensorFlow's C++ code logs straight to file descriptor 2, where Python cannot intercept it.
`TF_CPP_MIN_LOG_LEVEL` (read once, when TensorFlow loads, so it must be set before) hides most
INFO and WARNING lines, but not all of them in TensorFlow 2.21:

- `I0000 ... port.cc:153] oneDNN custom operations are on ...` is logged through absl, which
  ignores `TF_CPP_MIN_LOG_LEVEL` (even at 3), preceded by absl's
  `WARNING: All log messages before absl::InitializeLog() is called are written to STDERR`;
- `E0000 ... node_def_util.cc] NodeDef mentions attribute use_unbounded_threadpool ...` is logged
  at ERROR level by every `model.predict` on arrays while op determinism is on (as `config.seed`
  turns it on): a slip of a tf.data graph rewrite inside TensorFlow that changes nothing in the
  run, so raising the level to 3 to hide it would hide real errors too.

So the command sends its stderr through a small filter process that drops exactly these lines
(C++ lines below the log level, absl's banner, the use_unbounded_threadpool slip) and forwards
everything else unchanged: errors, tracebacks, Python warnings. A process rather than a thread,
so that nothing is lost when the command dies (a segfault's trace, `os._exit`, `kill -9`): the
filter reads until the last writer is gone.

`KERASSSL_TF_LOGS=1` shows everything; `TF_CPP_MIN_LOG_LEVEL=0` or `1` shows TensorFlow's INFO
or WARNING lines (the default here is 2: errors only).
"""

import atexit
import os
import re
import subprocess
import sys

DEFAULT_LEVEL = 2  # TensorFlow's levels: 0 all, 1 no INFO, 2 no WARNING, 3 no ERROR.
SHOW_ALL_VARIABLE = "KERASSSL_TF_LOGS"

# absl's C++ format, `<severity><MMDD> <time> <thread> <file>.cc:<line>] <message>`; Python's absl
# logging uses the same prefix with a `.py` file, and is left alone.
_CPP_LINE = re.compile(rb"^([IWEF])\d{4} [\d:.]+\s+\d+ \S+\.(?:cc|cpp|h):\d+\] ")
_SEVERITY = {b"I": 0, b"W": 1, b"E": 2, b"F": 3}
_ABSL_BANNER = b"WARNING: All log messages before absl::InitializeLog() is called"
_HARMLESS_ERRORS = (b"NodeDef mentions attribute use_unbounded_threadpool",)


def keep_line(line: bytes, min_level: int = DEFAULT_LEVEL) -> bool:
    """False for the TensorFlow lines the command hides at `min_level` (see module docstring)."""
    if line.startswith(_ABSL_BANNER):
        return False
    match = _CPP_LINE.match(line)
    if match is None:
        return True
    if any(message in line for message in _HARMLESS_ERRORS):
        return False
    return _SEVERITY[match.group(1)] >= min_level


def filter_stderr():
    """Sets `TF_CPP_MIN_LOG_LEVEL` and filters this process's stderr; call before TensorFlow loads.

    Returns the filter's `subprocess.Popen`, or None when the user asked for every line
    (`KERASSSL_TF_LOGS=1` or `TF_CPP_MIN_LOG_LEVEL=0`) or stderr cannot be redirected.
    """
    if os.environ.get(SHOW_ALL_VARIABLE, "") not in ("", "0"):
        return None
    level = os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", str(DEFAULT_LEVEL))
    if not level.isdigit() or int(level) == 0:
        return None
    try:
        terminal_stderr = os.dup(2)
    except OSError:  # No stderr at all: nothing to keep clean.
        return None
    read_end, write_end = os.pipe()
    try:
        # This file run as a script, isolated (-I -S): it needs only the standard library, so
        # nothing in the environment or on the path can stop it from starting and leave the
        # command's stderr going nowhere.
        process = subprocess.Popen(
            [sys.executable, "-I", "-S", os.path.abspath(__file__), level],
            stdin=read_end,
            stdout=terminal_stderr,
            stderr=terminal_stderr,
            # Its own session: a Ctrl-C meant for the command must not kill the filter before
            # it has forwarded the command's last words.
            start_new_session=True,
        )
    except OSError:
        for descriptor in (read_end, write_end, terminal_stderr):
            os.close(descriptor)
        return None
    os.close(read_end)
    sys.stderr.flush()
    os.dup2(write_end, 2)
    os.close(write_end)
    atexit.register(_restore_stderr, terminal_stderr, process)
    return process


def _restore_stderr(terminal_stderr, process):
    # Closing our end of the pipe lets the filter finish; waiting for it keeps the shell prompt
    # from appearing before the command's last lines.
    sys.stderr.flush()
    os.dup2(terminal_stderr, 2)
    os.close(terminal_stderr)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:  # A child process still holds the pipe; let it be.
        pass


def _forward(min_level, source, destination):
    for line in source:
        if keep_line(line, min_level):
            destination.write(line)
            destination.flush()


if __name__ == "__main__":
    _forward(int(sys.argv[1]), sys.stdin.buffer, sys.stdout.buffer)
