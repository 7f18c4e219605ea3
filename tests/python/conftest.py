"""Shared fixtures of the Python module's tests: the module from the build (build/python, or
ONNXQ_PYTHONPATH), the repository's Fashion-MNIST models and a reader over their data."""

import os
import pathlib
import sys

import numpy
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, os.environ.get("ONNXQ_PYTHONPATH", str(REPO / "build" / "python")))

MODELS = REPO / "data" / "fmnist" / "models"
IMAGES = pathlib.Path(__file__).resolve().parent / "data" / "fmnist_images"


class ArrayReader:
    """get_next() over the first `count` images of data/fmnist/calib_1000.npy, one sample [1,1,28,28]
    at a time (the shape vai_q_onnx tutorials feed)."""

    def __init__(self, count=64, input_name="input"):
        data = numpy.load(REPO / "data" / "fmnist" / "calib_1000.npy", mmap_mode="r")
        self.samples = numpy.ascontiguousarray(data[:count])
        self.input_name = input_name
        self.next = 0

    def get_next(self):
        if self.next >= len(self.samples):
            return None
        batch = {self.input_name: self.samples[self.next:self.next + 1]}
        self.next += 1
        return batch

    def rewind(self):
        self.next = 0


def input_name(model_path):
    import onnx
    model = onnx.load(str(model_path))
    initializers = {i.name for i in model.graph.initializer}
    return next(i.name for i in model.graph.input if i.name not in initializers)


@pytest.fixture
def mbv2():
    return MODELS / "mbv2_fmnist_bn.onnx"


@pytest.fixture
def reader(mbv2):
    return ArrayReader(64, input_name(mbv2))
