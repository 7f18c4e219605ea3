"""The PEP 517 build backend of `pip install .` (pyproject.toml): a wheel of the onnxq package for the
interpreter that runs it, built by CMake, with nothing but the standard library, so it works offline.

CMake builds the library and python/'s module in build-pip-<SOABI>/ (beside build/, so that ccache
reuses the objects of scripts/setup.sh's build), then installs the package, with the ONNX Runtime
library beside the module, into a staging folder that the wheel is zipped from. ONNX Runtime comes from
ONNXRUNTIME_ROOT or .cache/onnxruntime (scripts/setup.sh fetches it). ONNXQ_CMAKE_ARGS adds CMake
arguments; ONNXQ_JOBS sets the build's parallel jobs (default: the cores).
"""

import base64
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = "onnxq"
VERSION = "0.1.0"


def _tag():
    python = f"cp{sys.version_info.major}{sys.version_info.minor}"
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return f"{python}-{python}-{platform}"


def _build_package():
    """Builds the module and returns the staging folder holding the package folder onnxq/."""
    build_dir = os.path.join(ROOT, "build-pip-" + (sysconfig.get_config_var("SOABI") or "python"))
    ort = os.environ.get("ONNXRUNTIME_ROOT", os.path.join(ROOT, ".cache", "onnxruntime"))
    configure = ["cmake", "-S", ROOT, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release", "-DONNXQ_BUILD_TESTS=OFF",
                 "-DONNXQ_BUILD_BENCH=OFF", "-DONNXRUNTIME_ROOT=" + ort, "-DPython3_EXECUTABLE=" + sys.executable]
    if shutil.which("ccache"):
        configure.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
    configure += shlex.split(os.environ.get("ONNXQ_CMAKE_ARGS", ""))
    out = sys.stderr  # pip shows the build's output with -v, and on failure
    subprocess.check_call(configure, stdout=out)
    jobs = os.environ.get("ONNXQ_JOBS", str(os.cpu_count() or 1))
    subprocess.check_call(["cmake", "--build", build_dir, "--target", "_onnxq", "-j" + jobs], stdout=out)
    staging = os.path.join(build_dir, "wheel-staging")
    shutil.rmtree(staging, ignore_errors=True)
    subprocess.check_call(["cmake", "--install", build_dir, "--component", "python", "--prefix", staging], stdout=out)
    return staging


def _metadata():
    return f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\nSummary: Native post-training " \
           "quantization of ONNX models, with vai_q_onnx's quantize_static\nRequires-Python: >=3.8\n"


def _record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}\n"


def get_requires_for_build_wheel(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    dist_info = f"{NAME}-{VERSION}.dist-info"
    os.makedirs(os.path.join(metadata_directory, dist_info), exist_ok=True)
    with open(os.path.join(metadata_directory, dist_info, "METADATA"), "w", encoding="utf-8") as f:
        f.write(_metadata())
    return dist_info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    staging = _build_package()
    wheel_name = f"{NAME}-{VERSION}-{_tag()}.whl"
    dist_info = f"{NAME}-{VERSION}.dist-info"
    record = ""
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w", zipfile.ZIP_DEFLATED) as wheel:
        package = os.path.join(staging, NAME)
        for name in sorted(os.listdir(package)):
            with open(os.path.join(package, name), "rb") as f:
                data = f.read()
            info = zipfile.ZipInfo(f"{NAME}/{name}")
            info.external_attr = (os.stat(os.path.join(package, name)).st_mode & 0o777) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(info, data)
            record += _record_line(f"{NAME}/{name}", data)
        files = {
            "METADATA": _metadata(),
            "WHEEL": f"Wheel-Version: 1.0\nGenerator: onnxq build_backend\nRoot-Is-Purelib: false\nTag: {_tag()}\n",
        }
        for name, text in files.items():
            wheel.writestr(f"{dist_info}/{name}", text)
            record += _record_line(f"{dist_info}/{name}", text.encode())
        record += f"{dist_info}/RECORD,,\n"
        wheel.writestr(f"{dist_info}/RECORD", record)
    return wheel_name
