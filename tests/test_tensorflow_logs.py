"""The stderr filter of the `kerasssl` command: TensorFlow's chatter out, everything else in."""

import os
import subprocess
import sys

import pytest

from kerasssl import tensorflow_logs

# Lines copied from a TensorFlow 2.21 run.
BANNER = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
ONEDNN = (
    b"I0000 00:00:1796101565.422057   10685 port.cc:153] oneDNN custom operations are on. You "
    b"may see slightly different numerical results due to floating-point round-off errors.\n"
)
CPU_GUARD = (
    b"I0000 00:00:1796101565.469921   10685 cpu_feature_guard.cc:227] This TensorFlow binary "
    b"is optimized to use available CPU instructions in performance-critical operations.\n"
)
THREADPOOL = (
    b"E0000 00:00:1796101608.244386   11587 node_def_util.cc:682] NodeDef mentions attribute "
    b"use_unbounded_threadpool which is not in the op definition: Op<name=MapDataset; ...>\n"
)
CPP_WARNING = b"W0000 00:00:1796101608.244386   11587 some_kernel.cc:12] a C++ warning\n"
CPP_ERROR = b"E0000 00:00:1796101608.244386   11587 some_kernel.cc:12] OOM when allocating\n"
PYTHON_WARNING = (
    b"W1201 05:08:29.666298 139664700578688 polymorphic_function.py:157] 5 out of the last 8 "
    b"calls triggered tf.function retracing.\n"
)
KEPT_ALWAYS = [
    b"Traceback (most recent call last):\n",
    b"kerasssl: error: --workdir is required\n",
    b"/x/noisy_student.py:122: UserWarning: classes [0] receive no pseudo-label\n",
    PYTHON_WARNING,
    CPP_ERROR,
]


@pytest.mark.parametrize("line", [BANNER, ONEDNN, CPU_GUARD, THREADPOOL, CPP_WARNING])
def test_default_level_drops_tensorflow_chatter(line):
    assert not tensorflow_logs.keep_line(line)


@pytest.mark.parametrize("line", KEPT_ALWAYS)
def test_errors_tracebacks_and_python_warnings_are_kept(line):
    assert tensorflow_logs.keep_line(line)


def test_lower_levels_keep_what_they_ask_for():
    assert tensorflow_logs.keep_line(CPP_WARNING, min_level=1)
    assert not tensorflow_logs.keep_line(ONEDNN, min_level=1)
    assert tensorflow_logs.keep_line(ONEDNN, min_level=0)
    assert not tensorflow_logs.keep_line(CPP_ERROR, min_level=3)


def _run(code, **environment):
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        env={**env, **environment},
        timeout=60,
        check=False,
    )


WRITE_AND_DIE = (
    "import os, sys\n"
    "from kerasssl import tensorflow_logs\n"
    "tensorflow_logs.filter_stderr()\n"
    "assert os.environ.get('TF_CPP_MIN_LOG_LEVEL') == '2'\n"
    f"os.write(2, {ONEDNN + THREADPOOL!r})\n"
    "sys.stderr.write('kept: the last words\\n')\n"
    "sys.stderr.flush()\n"
)


def test_filter_forwards_the_last_words_even_when_the_process_dies_abruptly():
    # os._exit skips atexit: the filter process still forwards what was written.
    result = _run(WRITE_AND_DIE + "os._exit(3)\n")
    assert result.returncode == 3
    assert result.stderr == b"kept: the last words\n"


def test_filter_at_normal_exit_and_the_switch_that_shows_everything():
    assert _run(WRITE_AND_DIE).stderr == b"kept: the last words\n"
    shown = _run(WRITE_AND_DIE.replace("== '2'", "!= '2'"), KERASSSL_TF_LOGS="1").stderr
    assert b"oneDNN" in shown and b"use_unbounded_threadpool" in shown
