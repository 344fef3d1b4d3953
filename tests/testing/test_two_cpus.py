import pytest

from kerasssl import testing


def test_the_script_sees_two_logical_cpus_and_its_arguments():
    values = testing.run_on_two_cpus(
        """
        import json, sys
        import tensorflow as tf
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        print("not the result")
        print(json.dumps([strategy.num_replicas_in_sync, sys.argv[1:]]))
        """,
        "an argument",
    )
    assert values == [2, ["an argument"]]


def test_a_failing_script_is_an_assertion_with_its_error():
    with pytest.raises(AssertionError, match="ZeroDivisionError"):
        testing.run_on_two_cpus("1 / 0")
