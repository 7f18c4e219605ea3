"""The drop-in: a vai_q_onnx tutorial's quantization script, run with only `import vai_q_onnx` replaced
by `import onnxq as vai_q_onnx`: its CalibrationDataReader subclass over a folder of images, the CPU
configuration and the NPU configuration."""

import math
import os
import pathlib

import numpy
import onnx
from onnx import numpy_helper
import pytest

import onnxq
from conftest import IMAGES, MODELS

# The tutorial's script, as its users have it (images decoded to numpy; cv2 / PIL replaced by np.load).
TUTORIAL = '''
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper
import vai_q_onnx


class ImageDataReader(vai_q_onnx.CalibrationDataReader):
    def __init__(self, calibration_image_folder, input_name):
        self.enum_data = None
        self.input_name = input_name
        self.data_list = self._preprocess_images(calibration_image_folder)

    def _preprocess_images(self, image_folder):
        data_list = []
        for class_folder in sorted(os.listdir(image_folder)):
            for name in sorted(os.listdir(os.path.join(image_folder, class_folder))):
                image = np.load(os.path.join(image_folder, class_folder, name))
                x = (image.astype(np.float32) / 255.0 - 0.2860) / 0.3530
                data_list.append(x[np.newaxis, np.newaxis, :, :].astype(np.float32))
        return data_list

    def get_next(self):
        if self.enum_data is None:
            self.enum_data = iter([{self.input_name: data} for data in self.data_list])
        return next(self.enum_data, None)

    def rewind(self):
        self.enum_data = None


def main(input_model_path, output_model_path, calibration_dataset_path, config):
    model = onnx.load(input_model_path)
    input_name = model.graph.input[0].name
    dr = ImageDataReader(calibration_dataset_path, input_name)
    if config == "cpu":
        vai_q_onnx.quantize_static(
            input_model_path,
            output_model_path,
            dr,
            quant_format=vai_q_onnx.QuantFormat.QDQ,
            calibrate_method=vai_q_onnx.CalibrationMethod.MinMax,
            activation_type=vai_q_onnx.QuantType.QUInt8,
            weight_type=vai_q_onnx.QuantType.QInt8,
        )
    else:
        vai_q_onnx.quantize_static(
            input_model_path,
            output_model_path,
            dr,
            quant_format=vai_q_onnx.QuantFormat.QDQ,
            calibrate_method=vai_q_onnx.PowerOfTwoMethod.MinMSE,
            activation_type=vai_q_onnx.QuantType.QUInt8,
            weight_type=vai_q_onnx.QuantType.QInt8,
            enable_dpu=True,
            extra_options={'ActivationSymmetric': True},
        )
    print('Calibrated and quantized model saved at:', output_model_path)


if __name__ == '__main__':
    main(*sys.argv[1:])
'''


def run_tutorial(script, model, output, config):
    """Runs the script as `python script.py model output images config` would, in this process."""
    assert "import vai_q_onnx\n" in script
    script = script.replace("import vai_q_onnx\n", "import onnxq as vai_q_onnx\n")
    code = compile(script, "quantize_tutorial.py", "exec")
    namespace = {"__name__": "quantize_tutorial"}
    exec(code, namespace)  # noqa: S102 - the test's own script
    namespace["main"](str(model), str(output), str(IMAGES), config)


class ImageFolder(onnxq.CalibrationDataReader):
    """The test images with their labels (class folder index), for evaluate()."""

    def __init__(self):
        self.samples, self.labels = [], []
        for label, folder in enumerate(sorted(os.listdir(IMAGES))):
            for name in sorted(os.listdir(IMAGES / folder)):
                image = numpy.load(IMAGES / folder / name)
                self.samples.append(((image.astype(numpy.float32) / 255.0 - 0.2860) / 0.3530)[None, None])
                self.labels.append(label)
        self.next = 0

    def get_next(self):
        if self.next >= len(self.samples):
            return None
        self.next += 1
        return {"input": self.samples[self.next - 1]}


def ops(model):
    return [n.op_type for n in model.graph.node]


def scales(model):
    """The scale initializers of every QuantizeLinear / DequantizeLinear."""
    initializers = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    found = []
    for node in model.graph.node:
        if node.op_type in ("QuantizeLinear", "DequantizeLinear") and node.input[1] in initializers:
            found.extend(numpy.atleast_1d(initializers[node.input[1]]).tolist())
    return found


def test_cpu_configuration_quantizes_and_keeps_the_accuracy(tmp_path):
    model = MODELS / "mbv2_fmnist_bn.onnx"
    output = tmp_path / "mbv2_int8.onnx"
    run_tutorial(TUTORIAL, model, output, "cpu")
    quantized = onnx.load(str(output))
    onnx.checker.check_model(quantized)
    assert ops(quantized).count("QuantizeLinear") > 10
    assert "BatchNormalization" not in ops(quantized)
    float_accuracy = onnxq.evaluate(model, ImageFolder(), ImageFolder().labels)
    int8_accuracy = onnxq.evaluate(output, ImageFolder(), ImageFolder().labels)
    assert float_accuracy["samples"] == int8_accuracy["samples"] == 30
    assert int8_accuracy["top1"] >= float_accuracy["top1"] - 10  # 30 images: at most 3 change


def test_npu_configuration_runs_in_npu_mode(tmp_path):
    model = MODELS / "mbv2_fmnist_bn.onnx"
    output = tmp_path / "mbv2_npu.onnx"
    run_tutorial(TUTORIAL, model, output, "npu")
    quantized = onnx.load(str(output))
    onnx.checker.check_model(quantized)
    found = scales(quantized)
    assert len(found) > 10
    for scale in found:
        assert scale > 0 and math.log2(scale) == round(math.log2(scale)), scale
    # The NPU's uint8 zero point, and no Q/DQ between a Conv and its activation.
    initializers = {i.name: numpy_helper.to_array(i) for i in quantized.graph.initializer}
    producers = {out: node for node in quantized.graph.node for out in node.output}
    for node in quantized.graph.node:
        if node.op_type == "QuantizeLinear":
            zero_point = initializers[node.input[2]]
            assert zero_point.dtype != numpy.uint8 or int(zero_point) == 128, node.name
        if node.op_type in ("Relu", "Clip"):
            assert producers[node.input[0]].op_type == "Conv", node.name
    float_accuracy = onnxq.evaluate(model, ImageFolder(), ImageFolder().labels)
    npu_accuracy = onnxq.evaluate(output, ImageFolder(), ImageFolder().labels)
    assert npu_accuracy["top1"] >= float_accuracy["top1"] - 10  # 30 images: at most 3 change


def test_npu_mode_refuses_contradicting_options_and_writes_nothing(tmp_path):
    output = tmp_path / "mbv2_npu.onnx"
    script = TUTORIAL.replace("            enable_dpu=True,\n", "            enable_dpu=True,\n            per_channel=True,\n")
    with pytest.raises(ValueError, match="per_channel .* contradicts enable_npu_cnn"):
        run_tutorial(script, MODELS / "mbv2_fmnist_bn.onnx", output, "npu")
    assert not output.exists()


def test_npu_configuration_without_enable_dpu_gives_power_of_two_scales(tmp_path):
    output = tmp_path / "mbv2_pof2.onnx"
    script = TUTORIAL.replace("            enable_dpu=True,\n", "")
    run_tutorial(script, MODELS / "mbv2_fmnist_bn.onnx", output, "npu")
    found = scales(onnx.load(str(output)))
    assert len(found) > 10
    for scale in found:
        assert scale > 0 and math.log2(scale) == round(math.log2(scale)), scale
