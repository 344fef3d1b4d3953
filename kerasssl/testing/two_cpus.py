"""Runs a script on two logical CPUs: the `MirroredStrategy` test of an algorithm, with no GPU.

Logical devices must be configured before TensorFlow runs any op, so the script runs in a
fresh Python process that configures them first and reports its result as JSON.
"""

import json
import subprocess
import sys
import textwrap

# Splits the first CPU into two logical devices, "/cpu:0" and "/cpu:1", before any op.
TWO_CPUS_SETUP = textwrap.dedent(
    """
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    """
)


def with_two_cpus(script):
    """`script` (dedented) after the set-up of two logical CPUs, as one program."""
    return TWO_CPUS_SETUP + textwrap.dedent(script)


def run_on_two_cpus(script, *args, timeout=300):
    """Runs `script` with two logical CPUs in a fresh process; returns its last line as JSON.

    Args:
        script: Python source; it may build `tf.distribute.MirroredStrategy(["/cpu:0",
            "/cpu:1"])` and must print its result as JSON on its last line of output.
        *args: strings the script reads as `sys.argv[1:]`.
        timeout: seconds before the run is stopped (`subprocess.TimeoutExpired`).

    Example:

        values = run_on_two_cpus('''
            import json, tensorflow as tf
            strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
            print(json.dumps(strategy.num_replicas_in_sync))
        ''')
        assert values == 2

    Raises `AssertionError` with the end of the script's stderr when it fails.
    """
    result = subprocess.run(
        [sys.executable, "-c", with_two_cpus(script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
