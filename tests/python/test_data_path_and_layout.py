"""quantize_static's calibration_data_path (the files the CLI's --calib-data reads, opened by the
library) and convert_nchw_to_nhwc (4-D inputs fed NHWC)."""

import warnings

import numpy
import onnx
import onnx.numpy_helper
import pytest

import onnxq
from conftest import REPO, ArrayReader, input_name


def initializers(path):
    return {i.name: onnx.numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}


def quantize(mbv2, output, reader=None, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no random-data warning, nothing left unused
        return onnxq.quantize_static(mbv2, output, reader, calibrate_method=onnxq.CalibrationMethod.MinMax, **kwargs)


def samples(count):
    return numpy.ascontiguousarray(numpy.load(REPO / "data" / "fmnist" / "calib_1000.npy")[:count])


def test_a_folder_of_input_npy_files_or_one_npy_quantizes_as_the_same_data_through_a_reader(tmp_path, mbv2):
    name = input_name(mbv2)
    folder = tmp_path / "calib"
    folder.mkdir()
    numpy.save(folder / f"{name}.npy", samples(64))
    numpy.save(tmp_path / "calib.npy", samples(64))
    by_reader = quantize(mbv2, tmp_path / "reader.onnx", ArrayReader(64, name))
    by_folder = quantize(mbv2, tmp_path / "folder.onnx", calibration_data_path=folder)
    by_file = quantize(mbv2, tmp_path / "file.onnx", calibration_data_path=str(tmp_path / "calib.npy"))
    expected = initializers(tmp_path / "reader.onnx")
    assert by_reader["calibration_samples"] == by_folder["calibration_samples"] == by_file["calibration_samples"] == 64
    for output in ("folder.onnx", "file.onnx"):
        got = initializers(tmp_path / output)
        assert got.keys() == expected.keys()
        for key, value in expected.items():
            numpy.testing.assert_array_equal(got[key], value, err_msg=key)
    # The same data gives the same output check, to the last bit.
    sqnr = by_reader["output_check"]["outputs"][0]["sqnr_db"]
    assert by_folder["output_check"]["outputs"][0]["sqnr_db"] == sqnr
    assert by_folder["output_check"]["data"] == "calibration"


def test_npz_samples_and_calib_data_size(tmp_path, mbv2):
    name = input_name(mbv2)
    data = samples(12)
    for i in range(12):
        numpy.savez(tmp_path / f"{i:03d}.npz", **{name: data[i:i + 1]})
    report = quantize(mbv2, tmp_path / "npz.onnx", calibration_data_path=tmp_path,
                      extra_options={"CalibDataSize": 10})
    assert report["calibration_samples"] == 10
    by_reader = quantize(mbv2, tmp_path / "reader.onnx", ArrayReader(10, name))
    assert by_reader["calibration_samples"] == 10
    expected = initializers(tmp_path / "reader.onnx")
    got = initializers(tmp_path / "npz.onnx")
    for key, value in expected.items():
        numpy.testing.assert_array_equal(got[key], value, err_msg=key)


def test_calibration_data_path_errors_and_a_reader_wins(tmp_path, mbv2):
    with pytest.raises(FileNotFoundError):
        onnxq.quantize_static(mbv2, tmp_path / "out.onnx", calibration_data_path=tmp_path / "missing.npy")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="has no '.*.npy' for input"):
        onnxq.quantize_static(mbv2, tmp_path / "out.onnx", calibration_data_path=empty)
    with pytest.warns(UserWarning, match="calibration_data_path is left unused"):
        report = onnxq.quantize_static(mbv2, tmp_path / "out.onnx", ArrayReader(8, input_name(mbv2)),
                                       calibration_data_path=empty)
    assert report["calibration_samples"] == 8


def test_convert_nchw_to_nhwc_feeds_nhwc_data(tmp_path, mbv2):
    name = input_name(mbv2)
    nhwc = samples(32).transpose(0, 2, 3, 1).copy()  # [32, 28, 28, 1]
    numpy.save(tmp_path / "nhwc.npy", nhwc)

    class NhwcReader(onnxq.CalibrationDataReader):
        def __init__(self):
            self.i = 0

        def get_next(self):
            if self.i == len(nhwc):
                return None
            self.i += 1
            return {name: nhwc[self.i - 1:self.i]}

    by_reader = quantize(mbv2, tmp_path / "reader.onnx", NhwcReader(), convert_nchw_to_nhwc=True)
    by_file = quantize(mbv2, tmp_path / "file.onnx", calibration_data_path=tmp_path / "nhwc.npy",
                       convert_nchw_to_nhwc=True)
    nchw = quantize(mbv2, tmp_path / "nchw.onnx", ArrayReader(32, name))
    assert by_reader["calibration_samples"] == by_file["calibration_samples"] == 32
    model = onnx.load(str(tmp_path / "reader.onnx"))
    onnx.checker.check_model(model)
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims[1:] == [28, 28, 1]
    assert "Transpose" in [n.op_type for n in model.graph.node]
    # The same values, transposed: the same ranges, and the same output check.
    for report in (by_reader, by_file):
        assert report["output_check"]["outputs"][0]["sqnr_db"] == pytest.approx(
            nchw["output_check"]["outputs"][0]["sqnr_db"], abs=0.05)
    # NCHW data for an NHWC input is refused, naming the input.
    with pytest.raises(ValueError, match=name):
        onnxq.quantize_static(mbv2, tmp_path / "bad.onnx", ArrayReader(4, name), convert_nchw_to_nhwc=True)


def test_the_pass_is_listed():
    assert "convert_nchw_to_nhwc" in onnxq.list_passes()
