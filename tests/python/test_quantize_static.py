"""onnxq.quantize_static and the rest of the module: arguments, errors, tables, passes, evaluation."""

import pathlib
import traceback
import warnings

import numpy
import onnx
import pytest

import onnxq
from conftest import MODELS, ArrayReader, input_name


def test_paths_as_str_or_pathlib_and_a_report_as_dict(tmp_path, mbv2, reader):
    output = tmp_path / "out.onnx"
    report = onnxq.quantize_static(str(mbv2), output, reader, calibrate_method=onnxq.CalibrationMethod.MinMax,
                                   activation_type=onnxq.QuantType.QUInt8, per_channel=True)
    assert output.exists()
    assert report["calibration_samples"] == 64
    assert 0 < report["nodes_quantized"] <= report["nodes_total"]
    assert report["output_check"]["data"] == "calibration"
    assert report["output_check"]["outputs"][0]["sqnr_db"] > 10
    assert set(report["seconds"]) == {"prepare", "calibrate", "quantize", "check"}


def test_a_model_proto_is_accepted(tmp_path, mbv2, reader):
    output = tmp_path / "out.onnx"
    onnxq.quantize_static(onnx.load(str(mbv2)), str(output), reader)
    assert "QuantizeLinear" in [n.op_type for n in onnx.load(str(output)).graph.node]


def test_without_a_reader_random_data_with_a_warning(tmp_path, mbv2):
    with pytest.warns(UserWarning, match="random"):
        report = onnxq.quantize_static(mbv2, tmp_path / "out.onnx", None,
                                       calibrate_method=onnxq.CalibrationMethod.MinMax)
    assert report["output_check"]["data"] == "random"


def test_progress_is_reported(tmp_path, mbv2, reader):
    seen = []
    onnxq.quantize_static(mbv2, tmp_path / "out.onnx", reader, calibrate_method=onnxq.CalibrationMethod.MinMax,
                          progress=lambda stage, done, total: seen.append((stage, done)))
    assert seen and seen[-1] == ("calibrate", 64)
    assert [d for _, d in seen] == sorted(d for _, d in seen)


class ReaderError(Exception):
    pass


class FailingReader(ArrayReader):
    def get_next(self):
        if self.next == 20:
            raise ReaderError("sample 20 is unreadable")
        return super().get_next()


def test_a_reader_exception_surfaces_as_itself_with_its_traceback(tmp_path, mbv2):
    output = tmp_path / "out.onnx"
    with pytest.raises(ReaderError, match="sample 20 is unreadable") as raised:
        onnxq.quantize_static(mbv2, output, FailingReader(64), calibrate_method=onnxq.CalibrationMethod.MinMax)
    frames = [frame.name for frame in traceback.extract_tb(raised.value.__traceback__)]
    assert "get_next" in frames
    assert not output.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_progress_callback_exception_stops_the_run(tmp_path, mbv2):
    def progress(stage, done, total):
        raise ReaderError("stop")

    with pytest.raises(ReaderError, match="stop"):
        onnxq.quantize_static(mbv2, tmp_path / "out.onnx", ArrayReader(200),
                              calibrate_method=onnxq.CalibrationMethod.MinMax, progress=progress)
    assert list(tmp_path.iterdir()) == []


def test_bad_batches_are_value_errors_naming_the_input(tmp_path, mbv2):
    class Float64Reader(ArrayReader):
        def get_next(self):
            batch = super().get_next()
            return None if batch is None else {"input": batch["input"].astype(numpy.float64)}

    with pytest.raises(ValueError, match="input 'input': numpy dtype float64"):
        onnxq.quantize_static(mbv2, tmp_path / "out.onnx", Float64Reader())

    class ListReader(ArrayReader):
        def get_next(self):
            return [1, 2]

    with pytest.raises(ValueError, match="expected a dict"):
        onnxq.quantize_static(mbv2, tmp_path / "out.onnx", ListReader())


def test_arguments_map_to_the_library_options(tmp_path, mbv2, reader):
    with pytest.raises(ValueError, match="NotAnOption"):
        onnxq.quantize_static(mbv2, tmp_path / "out.onnx", reader, extra_options={"NotAnOption": 1})
    with pytest.raises(ValueError, match="calibrate_method MinMax contradicts enable_npu_cnn"):
        onnxq.quantize_static(mbv2, tmp_path / "out.onnx", reader, enable_npu_cnn=True,
                              calibrate_method=onnxq.CalibrationMethod.MinMax)
    with pytest.raises(ValueError, match="unknown configuration 'XINT9'"):
        onnxq.quantize_static(mbv2, tmp_path / "out.onnx", reader, config="XINT9")
    with pytest.raises(NotImplementedError, match="VitisQuantFormat.FixNeuron"):
        onnxq.quantize_static(mbv2, tmp_path / "out.onnx", reader, quant_format=onnxq.VitisQuantFormat.FixNeuron)
    with pytest.raises(FileNotFoundError):
        onnxq.quantize_static(tmp_path / "missing.onnx", tmp_path / "out.onnx", reader)
    with pytest.raises(ValueError, match="input model"):
        onnxq.quantize_static(mbv2, mbv2, reader)  # an output may not be its input
    assert list(tmp_path.iterdir()) == []
    # Extra options of every kind of value, and node lists.
    report = onnxq.quantize_static(
        mbv2, tmp_path / "out.onnx", reader, calibrate_method=onnxq.CalibrationMethod.Percentile,
        activation_type=onnxq.QuantType.QUInt8, include_cle=True, nodes_to_exclude=["/features/features.0/features.0.0/Conv"],
        extra_options={"ActivationSymmetric": True, "Percentile": 99.99, "CLESteps": 2, "ReplaceClip6Relu": True,
                       "OutputCheckSamples": 4})
    assert report["output_check"]["samples"] == 4


def test_calibrate_save_load_merge_and_quantize_from_the_table(tmp_path, mbv2):
    method = onnxq.CalibrationMethod.MinMax
    first = onnxq.calibrate(mbv2, ArrayReader(32), calibrate_method=method)
    assert first.samples == 32 and len(first) > 10 and first.method == "MinMax"
    first.save(tmp_path / "t0.json")
    loaded = onnxq.CalibrationTable.load(tmp_path / "t0.json")
    assert loaded.ranges == first.ranges
    second = onnxq.calibrate(mbv2, ArrayReader(64), calibrate_method=method)
    merged = onnxq.CalibrationTable.merge([loaded, second])
    assert merged.samples == 96
    report = onnxq.quantize_static(mbv2, tmp_path / "out.onnx", calibrate_method=method, calibration_table=merged)
    assert report["nodes_quantized"] > 0


def test_optimize_runs_passes_by_name(tmp_path, mbv2):
    passes = onnxq.list_passes()
    assert "fold_batch_norm" in passes and passes["fold_batch_norm"]
    runs = onnxq.optimize(mbv2, tmp_path / "folded.onnx", ["fold_batch_norm"])
    assert runs[0]["pass"] == "fold_batch_norm" and runs[0]["changes"] > 0
    assert "BatchNormalization" not in [n.op_type for n in onnx.load(str(tmp_path / "folded.onnx")).graph.node]
    with pytest.raises(ValueError, match="no_such_pass"):
        onnxq.optimize(mbv2, tmp_path / "x.onnx", ["no_such_pass"])


def test_evaluate_gives_top1_and_top5():
    data = numpy.load(MODELS.parent / "eval_10000.npy", mmap_mode="r")
    labels = numpy.fromfile(MODELS.parent / "eval_labels.u8", dtype=numpy.uint8)[:200]

    class Eval(onnxq.CalibrationDataReader):
        def __init__(self):
            self.i = 0

        def get_next(self):
            if self.i >= 200:
                return None
            self.i += 1
            return {"input": numpy.ascontiguousarray(data[self.i - 1:self.i])}

    accuracy = onnxq.evaluate(MODELS / "mbv2_fmnist.onnx", Eval(), labels)
    assert accuracy["samples"] == 200
    assert 80 < accuracy["top1"] <= accuracy["top5"] <= 100


def test_named_configurations(tmp_path, mbv2, reader):
    configs = onnxq.configs()
    assert configs["XINT8"]["settings"]["enable_npu_cnn"] == "True"
    assert "A16W8" in configs and "U8S8_AAWS" in configs
    report = onnxq.quantize_static(mbv2, tmp_path / "a16w8.onnx", reader, config="A16W8")
    assert report["npu_refinement"] is None
    model = onnx.load(str(tmp_path / "a16w8.onnx"))
    quantizers = [n for n in model.graph.node if n.op_type == "QuantizeLinear"]
    assert quantizers and all(n.domain == "com.microsoft" for n in quantizers)
    zero_points = {i.name: i for i in model.graph.initializer}
    assert zero_points[quantizers[0].input[2]].data_type == onnx.TensorProto.INT16
    report = onnxq.quantize_static(mbv2, tmp_path / "xint8.onnx", ArrayReader(64, input_name(mbv2)), config="XINT8")
    assert report["npu_refinement"]["converged"]


def test_optimize_model_false_leaves_the_batch_norms(tmp_path, mbv2, reader):
    float_bn = sum(n.op_type == "BatchNormalization" for n in onnx.load(str(mbv2)).graph.node)
    assert float_bn > 0
    for optimize, expected_bn in ((True, 0), (False, float_bn)):
        output = tmp_path / f"out_{optimize}.onnx"
        report = onnxq.quantize_static(mbv2, output, ArrayReader(64, input_name(mbv2)), optimize_model=optimize,
                                       calibrate_method=onnxq.CalibrationMethod.MinMax)
        assert sum(n.op_type == "BatchNormalization" for n in onnx.load(str(output)).graph.node) == expected_bn
        # The check ran the quantized model in ONNX Runtime: still the float model's function.
        assert min(o["sqnr_db"] for o in report["output_check"]["outputs"]) > 15.0


def test_vitis_qdq_with_16_bit_activations_is_written_as_onnx_runtime_qdq(tmp_path, mbv2, reader):
    output = tmp_path / "a16.onnx"
    report = onnxq.quantize_static(mbv2, output, reader, quant_format=onnxq.VitisQuantFormat.QDQ,
                                   calibrate_method=onnxq.CalibrationMethod.MinMax,
                                   activation_type=onnxq.VitisQuantType.QInt16,
                                   weight_type=onnxq.VitisQuantType.QInt8)
    model = onnx.load(str(output))
    quantize = [n for n in model.graph.node if n.op_type == "QuantizeLinear"]
    assert quantize and all(n.domain == "com.microsoft" for n in quantize)
    zero_points = {i.name: i for i in model.graph.initializer}
    activation_types = {zero_points[n.input[2]].data_type for n in quantize if n.input[2] in zero_points}
    assert onnx.TensorProto.INT16 in activation_types
    # Run by ONNX Runtime in the output check: closer to float than 8-bit activations with the same weights.
    a8 = onnxq.quantize_static(mbv2, tmp_path / "a8.onnx", ArrayReader(64, input_name(mbv2)),
                               quant_format=onnxq.VitisQuantFormat.QDQ,
                               calibrate_method=onnxq.CalibrationMethod.MinMax,
                               activation_type=onnxq.VitisQuantType.QInt8, weight_type=onnxq.VitisQuantType.QInt8)
    sqnr_a16 = min(o["sqnr_db"] for o in report["output_check"]["outputs"])
    sqnr_a8 = min(o["sqnr_db"] for o in a8["output_check"]["outputs"])
    assert sqnr_a16 > sqnr_a8 + 1.0 and sqnr_a16 > 30.0
    for wide in (onnxq.VitisQuantType.QInt32, onnxq.VitisQuantType.QFloat16):
        with pytest.raises(NotImplementedError, match=f"activation_type=VitisQuantType.{wide.name}"):
            onnxq.quantize_static(mbv2, tmp_path / "wide.onnx", reader, quant_format=onnxq.VitisQuantFormat.QDQ,
                                  activation_type=wide)
