"""Throughput of the pseudo-labeling job against bare `model.predict` on the same pool.

    .venv/bin/python tools/bench_labeling.py
    .venv/bin/python tools/bench_labeling.py --model=resnet_cifar_small --pool_size=16384

The job (`kerasssl.pseudo_labels.label_images`) adds softmax, sharding and atomic writes around
prediction; its target is to stay within 10% of `model.predict` (ratio >= 0.9). Both run
interleaved, best of `--repeats`, so a burst of load on a shared CPU hits both alike.
"""

import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

_MODEL = flags.DEFINE_string("model", "resnet_cifar_small", "Model preset (the teacher).")
_POOL = flags.DEFINE_integer("pool_size", 8192, "Unlabeled images (32x32x3 uint8, random).")
_BATCH = flags.DEFINE_integer("batch_size", 256, "Prediction batch size of both.")
_SHARD = flags.DEFINE_integer("shard_size", 4096, "Images per shard of the job.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Interleaved repeats; the best of each is kept.")


def main(argv):
    del argv
    import numpy as np

    from kerasssl.models import get_model
    from kerasssl.pseudo_labels import label_images

    model = get_model(_MODEL.value, num_classes=10, input_shape=(32, 32, 3))
    pool = np.random.default_rng(0).integers(0, 256, (_POOL.value, 32, 32, 3), dtype=np.uint8)
    model.predict(pool[:512].astype("float32"), batch_size=_BATCH.value, verbose=0)  # warm-up
    bare, job = [], []
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(_REPEATS.value):
            start = time.perf_counter()
            model.predict(pool.astype("float32"), batch_size=_BATCH.value, verbose=0)
            bare.append(time.perf_counter() - start)
            start = time.perf_counter()
            label_images(
                model,
                pool,
                os.path.join(folder, str(repeat)),
                shard_size=_SHARD.value,
                batch_size=_BATCH.value,
                verbose=0,
            )
            job.append(time.perf_counter() - start)
    bare_rate, job_rate = _POOL.value / min(bare), _POOL.value / min(job)
    load = os.getloadavg()[0]
    print(f"{_MODEL.value}, {_POOL.value} images, batch {_BATCH.value}, load {load:.2f}")
    print(f"  model.predict      {bare_rate:8.0f} img/s")
    print(f"  label_images job   {job_rate:8.0f} img/s")
    print(f"job / predict = {job_rate / bare_rate:.3f} (target >= 0.9)")


if __name__ == "__main__":
    app.run(main)
