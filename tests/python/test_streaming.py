"""Streaming from Python: Ctrl-C stops a long calibration cleanly, and memory does not grow with the
number of samples a reader yields."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import MODELS, REPO

PYTHONPATH = os.environ.get("ONNXQ_PYTHONPATH", str(REPO / "build" / "python"))

# A reader of `samples` copies of one image, counting its batches into `marker` as it goes; prints
# the peak RSS (KiB) when done, "interrupted" on KeyboardInterrupt.
SCRIPT = textwrap.dedent('''
    import resource, sys
    sys.path.insert(0, sys.argv[1])
    import numpy, onnxq
    model, output, samples, marker = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]

    class Repeat(onnxq.CalibrationDataReader):
        def __init__(self):
            self.n = 0
            self.x = numpy.random.default_rng(0).standard_normal((1, 1, 28, 28), dtype=numpy.float32)
        def get_next(self):
            if self.n >= samples:
                return None
            self.n += 1
            if self.n == 200:
                open(marker, "w").close()
            return {"input": self.x}

    try:
        onnxq.quantize_static(model, output, Repeat(), calibrate_method=onnxq.CalibrationMethod.MinMax)
    except KeyboardInterrupt:
        print("interrupted")
        sys.exit(3)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
''')


def run(tmp_path, samples, model=MODELS / "resnet_fmnist.onnx", interrupt=False):
    script = tmp_path / "stream.py"
    script.write_text(SCRIPT)
    marker = tmp_path / "started"
    output = tmp_path / "out.onnx"
    # Ctrl-C's default action even when this process was started with SIGINT ignored (a background job
    # of a script): Python then installs no KeyboardInterrupt handler at all.
    process = subprocess.Popen([sys.executable, str(script), PYTHONPATH, str(model), str(output), str(samples),
                                str(marker)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    if interrupt:
        deadline = time.monotonic() + 60
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:  # a timeout: never leave the child running
            process.kill()
            process.wait()
    return process.returncode, out, err, output


def test_ctrl_c_stops_cleanly_and_writes_nothing(tmp_path):
    code, out, err, output = run(tmp_path, 10**9, interrupt=True)
    assert code == 3, err
    assert out.strip() == "interrupted"
    assert not output.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["started", "stream.py"]  # no temporary left


def test_peak_memory_does_not_grow_with_the_samples(tmp_path):
    code, few, err, _ = run(tmp_path, 1000)
    assert code == 0, err
    code, many, err, _ = run(tmp_path, 10000)
    assert code == 0, err
    few_kib, many_kib = int(few.split()[-1]), int(many.split()[-1])
    # Ten times the samples: the same peak, within 10 % (allocator noise), never 10 x 3 KiB per sample.
    assert many_kib < few_kib * 1.1, (few_kib, many_kib)
