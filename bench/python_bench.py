"""The Python module against the CLI, on the same model and data.

  python3 bench/python_bench.py speed MODEL DATA.npy [ROUNDS]
      Alternates `onnxq quantize MODEL out --calib-data DATA.npy -q` (build/onnxq) with a Python
      process that quantizes from a CalibrationDataReader yielding one sample [1, ...] per get_next(),
      as vai_q_onnx tutorials do, with the same options (the CLI's defaults: QDQ, MinMax, QUInt8
      activations, QInt8 weights). Prints each round's wall times: the CLI process, the Python process
      (start to exit), its part after `import numpy` (which any reader of arrays pays first), and the
      quantize_static call alone; then the medians and their ratios to the CLI.
  python3 bench/python_bench.py rss MODEL DATA.npy SAMPLES...
      Peak RSS of a Python process quantizing from a reader that yields SAMPLES samples, one per
      get_next() (the data's samples over and over).

Run from the repository root after a build (PYTHONPATH=build/python is set for the children).
"""

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

CHILD = r'''
import resource, sys, time
start = time.perf_counter()
import numpy
imported_numpy = time.perf_counter()
import onnxq
model, output, data, samples = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
x = numpy.load(data)

class Reader(onnxq.CalibrationDataReader):
    def __init__(self):
        self.n = 0
    def get_next(self):
        if self.n >= samples:
            return None
        i = self.n % len(x)
        self.n += 1
        return {"input": x[i:i + 1]}

called = time.perf_counter()
onnxq.quantize_static(model, output, Reader(), quant_format=onnxq.QuantFormat.QDQ,
                      calibrate_method=onnxq.CalibrationMethod.MinMax,
                      activation_type=onnxq.QuantType.QUInt8, weight_type=onnxq.QuantType.QInt8)
done = time.perf_counter()
# peak RSS (KiB), import numpy (s), import onnxq .. the end of quantize_static (s), quantize_static (s)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, imported_numpy - start, done - imported_numpy,
      done - called)
'''


def cpu_of_children():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command, env=None, cpu=None):
    """Runs `command`; returns its wall time and stdout, and appends its CPU time (user + system) to `cpu`."""
    start, cpu_start = time.perf_counter(), cpu_of_children()
    out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, env=env).stdout
    if cpu is not None:
        cpu.append(cpu_of_children() - cpu_start)
    return time.perf_counter() - start, out


def python_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.abspath("build/python")
    return env


def speed(model, data, rounds):
    import numpy
    samples = len(numpy.load(data, mmap_mode="r"))
    with tempfile.TemporaryDirectory() as scratch:
        cli, py, call, after_numpy, cli_cpu, py_cpu = [], [], [], [], [], []
        for r in range(rounds):
            t_cli, _ = timed(["build/onnxq", "quantize", model, os.path.join(scratch, "cli.onnx"), "--calib-data", data,
                              "-q"], cpu=cli_cpu)
            t_py, out = timed([sys.executable, "-c", CHILD, model, os.path.join(scratch, "py.onnx"), data,
                               str(samples)], python_env(), cpu=py_cpu)
            rss, t_numpy, t_after_numpy, t_call = out.split()
            cli.append(t_cli)
            py.append(t_py)
            after_numpy.append(float(t_after_numpy))
            call.append(float(t_call))
            print(f"round {r}: cli {t_cli:.3f} s | python process {t_py:.3f} s ({t_py / t_cli:.2f}x; import numpy "
                  f"{float(t_numpy):.3f} s, then import onnxq + read + quantize_static {float(t_after_numpy):.3f} s "
                  f"({float(t_after_numpy) / t_cli:.2f}x), quantize_static alone {float(t_call):.3f} s "
                  f"({float(t_call) / t_cli:.2f}x)), peak RSS {int(rss) / 1024:.0f} MiB; CPU cli {cli_cpu[-1]:.2f} s, "
                  f"python {py_cpu[-1]:.2f} s", flush=True)
        c = statistics.median(cli)
        print(f"median of {rounds} rounds, {samples} samples: cli {c:.3f} s; python process "
              f"{statistics.median(py):.3f} s ({statistics.median(py) / c:.2f}x); after import numpy "
              f"{statistics.median(after_numpy):.3f} s ({statistics.median(after_numpy) / c:.2f}x); quantize_static "
              f"{statistics.median(call):.3f} s ({statistics.median(call) / c:.2f}x); CPU time cli "
              f"{statistics.median(cli_cpu):.2f} s, python process {statistics.median(py_cpu):.2f} s "
              f"({statistics.median(py_cpu) / statistics.median(cli_cpu):.2f}x)")


def rss(model, data, counts):
    with tempfile.TemporaryDirectory() as scratch:
        for samples in counts:
            t, out = timed([sys.executable, "-c", CHILD, model, os.path.join(scratch, "py.onnx"), data, str(samples)],
                           python_env())
            print(f"{samples} samples: peak RSS {int(out.split()[0]) / 1024:.1f} MiB, {t:.1f} s", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "speed":
        speed(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 9)
    elif sys.argv[1] == "rss":
        rss(sys.argv[2], sys.argv[3], [int(n) for n in sys.argv[4:]])
    else:
        sys.exit(__doc__)
