"""onnxq: native post-training quantization of ONNX models.

A drop-in for vai_q_onnx's and ONNX Runtime's ``quantize_static``::

    import onnxq as vai_q_onnx

    class Reader(vai_q_onnx.CalibrationDataReader):
        def get_next(self):           # {input name: numpy array}, or None at the end
            ...

    vai_q_onnx.quantize_static("model.onnx", "model_int8.onnx", Reader(),
                               quant_format=vai_q_onnx.QuantFormat.QDQ,
                               calibrate_method=vai_q_onnx.CalibrationMethod.MinMax,
                               activation_type=vai_q_onnx.QuantType.QUInt8,
                               weight_type=vai_q_onnx.QuantType.QInt8)

Calibration streams: get_next() is called one batch at a time while the library runs (the GIL is
released in between), so memory does not grow with the number of samples. Also here:
calibrate() -> CalibrationTable (save / load / merge), optimize() and list_passes(), evaluate().
The work is done by the onnxq C++ library; this module only maps arguments onto it.
"""

import enum
import os
import warnings

from . import _onnxq
from ._onnxq import CalibrationTable

__all__ = [
    "CalibrationDataReader",
    "CalibrationMethod",
    "CalibrationTable",
    "PowerOfTwoMethod",
    "QuantFormat",
    "QuantType",
    "VitisQuantFormat",
    "VitisQuantType",
    "calibrate",
    "configs",
    "evaluate",
    "list_passes",
    "optimize",
    "quantize_static",
]


class QuantFormat(enum.Enum):
    """Where the quantized ops go: QDQ (QuantizeLinear/DequantizeLinear pairs) or QOperator."""

    QOperator = "QOperator"
    QDQ = "QDQ"


class VitisQuantFormat(enum.Enum):
    """vai_q_onnx's own formats. QDQ is written as ONNX Runtime's Q/DQ ops (16-bit ones in its
    com.microsoft domain), which ONNX Runtime runs without vai_q_onnx's custom-op library, for 8- and
    16-bit integer types; FixNeuron is not in onnxq."""

    QDQ = "VitisQDQ"
    FixNeuron = "FixNeuron"


class QuantType(enum.Enum):
    """Element type of quantized activations or weights."""

    QInt8 = "QInt8"
    QUInt8 = "QUInt8"
    QInt16 = "QInt16"
    QUInt16 = "QUInt16"


class VitisQuantType(enum.Enum):
    """vai_q_onnx's wider types (need VitisQuantFormat.QDQ)."""

    QInt8 = "QInt8"
    QUInt8 = "QUInt8"
    QInt16 = "QInt16"
    QUInt16 = "QUInt16"
    QInt32 = "QInt32"
    QUInt32 = "QUInt32"
    QFloat16 = "QFloat16"
    QBFloat16 = "QBFloat16"


class CalibrationMethod(enum.Enum):
    """Float-scale calibration: observed min/max, a percentile of |x|, or the KL-divergence threshold."""

    MinMax = "MinMax"
    Entropy = "Entropy"
    Percentile = "Percentile"


class PowerOfTwoMethod(enum.Enum):
    """Power-of-two scales (2^-pos) for NPUs: NonOverflow never clips, MinMSE minimizes squared error."""

    NonOverflow = "NonOverflow"
    MinMSE = "MinMSE"


class CalibrationDataReader:
    """Base class of calibration data readers, as in vai_q_onnx and ONNX Runtime.

    get_next() returns one batch as {model input name: numpy array}, or None when the data is
    exhausted. Arrays hold samples along axis 0 (one image: shape [1, C, H, W]); their dtype is the
    input's (float32 for float inputs). Consecutive batches of equal shapes are stacked into larger
    runs, so a reader may hand out one sample at a time. Optional: rewind(), which starts get_next()
    over (needed by extra_options BiasCorrection, which reads the data twice).
    """

    def get_next(self):
        raise NotImplementedError("a CalibrationDataReader must implement get_next()")

    def __iter__(self):
        return self

    def __next__(self):
        batch = self.get_next()
        if batch is None:
            raise StopIteration
        return batch


def _name(value):
    """The library's spelling of an enum member or a string argument."""
    if isinstance(value, enum.Enum):
        return value.value
    return str(value)


def _text(value):
    """An extra option's value as the CLI's --extra-option KEY=VALUE would write it."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_text(v) for v in value) + "]"
    return str(value)


def _model_argument(model):
    """A model path (str or os.PathLike) as str, or an onnx.ModelProto as its serialized bytes."""
    if isinstance(model, (str, os.PathLike)):
        return os.fspath(model)
    if hasattr(model, "SerializeToString"):
        return model.SerializeToString()
    raise TypeError(f"expected a model path (str or pathlib.Path) or an onnx.ModelProto, got {type(model).__name__}")


def _path_argument(path, what):
    if isinstance(path, (str, os.PathLike)):
        return os.fspath(path)
    raise TypeError(f"{what}: expected a path (str or pathlib.Path), got {type(path).__name__}")


def _names(values):
    return [str(v) for v in values] if values else []


# The VitisQuantType members VitisQuantFormat.QDQ takes: those QuantType has.
_INTEGER_TYPES = ("QInt8", "QUInt8", "QInt16", "QUInt16")


def _options(quant_format, calibrate_method, activation_type, weight_type, per_channel, reduce_range,
             include_cle, nodes_to_quantize, nodes_to_exclude, op_types_to_quantize, input_nodes,
             output_nodes, use_external_data_format):
    if quant_format is VitisQuantFormat.FixNeuron:
        raise NotImplementedError(
            "quant_format=VitisQuantFormat.FixNeuron: vai_q_onnx's FixNeuron format is not in onnxq; use "
            "QuantFormat.QDQ or VitisQuantFormat.QDQ")
    if quant_format is VitisQuantFormat.QDQ:
        quant_format = QuantFormat.QDQ
    for argument, value in (("activation_type", activation_type), ("weight_type", weight_type)):
        if isinstance(value, VitisQuantType) and value.value not in _INTEGER_TYPES:
            raise NotImplementedError(
                f"{argument}=VitisQuantType.{value.name}: onnxq quantizes to 8- and 16-bit integers (QInt8, "
                "QUInt8, QInt16, QUInt16) only")
    return {
        "quant_format": _name(quant_format),
        "calibrate_method": _name(calibrate_method),
        "activation_type": _name(activation_type),
        "weight_type": _name(weight_type),
        "per_channel": bool(per_channel),
        "reduce_range": bool(reduce_range),
        "include_cle": bool(include_cle),
        "nodes_to_quantize": _names(nodes_to_quantize),
        "nodes_to_exclude": _names(nodes_to_exclude),
        "op_types_to_quantize": _names(op_types_to_quantize),
        "input_nodes": _names(input_nodes),
        "output_nodes": _names(output_nodes),
        "use_external_data_format": bool(use_external_data_format),
    }


# quantize_static's signature defaults, left out of the settings when a named configuration is given
# so that the configuration keeps its own values for them.
_SIGNATURE_DEFAULTS = {"quant_format": "QDQ", "calibrate_method": "MinMSE", "activation_type": "QInt8",
                       "weight_type": "QInt8", "per_channel": False, "reduce_range": False, "include_cle": False,
                       "enable_npu_cnn": False, "enable_npu_transformer": False,
                       "convert_nchw_to_nhwc": False}


def _only_changed(args, config):
    kept = {k: v for k, v in args.items() if k not in _SIGNATURE_DEFAULTS or v != _SIGNATURE_DEFAULTS[k]}
    kept["config"] = str(config)
    return kept


def _extra(extra_options):
    if not extra_options:
        return {}
    return {str(k): _text(v) for k, v in extra_options.items()}


def quantize_static(model_input, model_output, calibration_data_reader=None, calibration_data_path=None,
                    quant_format=QuantFormat.QDQ, calibrate_method=PowerOfTwoMethod.MinMSE, input_nodes=None,
                    output_nodes=None, op_types_to_quantize=None, per_channel=False, reduce_range=False,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, nodes_to_quantize=None,
                    nodes_to_exclude=None, optimize_model=True, use_external_data_format=False,
                    execution_providers=None, enable_dpu=False, enable_npu_cnn=False, enable_npu_transformer=False,
                    convert_fp16_to_fp32=False, convert_nchw_to_nhwc=False, include_cle=False,
                    extra_options=None, calibration_table=None, progress=None, config=None, **deprecated):
    """Static post-training quantization, with vai_q_onnx's (1.16 / Quark legacy) and ONNX Runtime's
    argument names and defaults. Writes model_output atomically (a Ctrl-C or an error leaves no
    partial file) and returns the report as a dict.

    model_input: path (str or pathlib.Path) or onnx.ModelProto. model_output: path.
    calibration_data_reader: a CalibrationDataReader (get_next() -> {input: numpy array} or None);
        None: the data at calibration_data_path, else random data (with a warning: accuracy then means
        nothing).
    calibration_data_path: used when calibration_data_reader is None (as Quark's), read as the CLI's
        --calib-data: a .npy file [N, ...] for a model of one input, a folder of <input name>.npy files
        (one per input, samples on axis 0), a folder of .npz samples or one .npz file, or a folder of
        .jpg / .png images (flat or one sub-folder per class) for a model of one image input, scaled to
        [0, 1] at the model's input size. extra_options CalibDataSize caps the samples.
    quant_format: QuantFormat.QDQ (default) or QuantFormat.QOperator; VitisQuantFormat raises
        NotImplementedError.
    calibrate_method: PowerOfTwoMethod.MinMSE (default) / NonOverflow, or CalibrationMethod.MinMax /
        Percentile / Entropy.
    activation_type, weight_type: QuantType.QInt8 (default), QUInt8, QInt16, QUInt16.
    input_nodes, output_nodes: quantize only from / up to these nodes. op_types_to_quantize,
        nodes_to_quantize, nodes_to_exclude: as in ONNX Runtime.
    per_channel: per-output-channel weight scales. reduce_range: 7-bit weights.
    optimize_model: True folds batch norms into the Conv / Gemm before them; False leaves them (the
        extra option FoldBatchNorm=False).
    use_external_data_format: weights in <model_output>.<content hash>.data.
    enable_dpu, enable_npu_cnn (and enable_ipu_cnn): AMD NPU CNN mode (power-of-two scales, symmetric
        per-tensor activations and weights, int8 power-of-two biases, SimulateDPU, NPULimitationCheck);
        options that contradict it raise ValueError naming the option and the fix.
        enable_npu_transformer (and enable_ipu_transformer): NPU transformer mode.
    convert_nchw_to_nhwc: the model's 4-D inputs take NHWC data, each followed by a Transpose to NCHW
        (the pass convert_nchw_to_nhwc); the calibration data and the quantized model's users feed NHWC.
    convert_fp16_to_fp32: float16 models are always computed in float32 for calibration and keep
        their float16 inputs and outputs, whichever value is given.
    include_cle: cross-layer equalization (extra options CLESteps, CLEScaleAppendBias ...).
    extra_options: {key: value} as vai_q_onnx's (ActivationSymmetric, WeightSymmetric, CalibMovingAverage,
        Percentile, NumBins, MinMSEMode, ReplaceClip6Relu, BiasCorrection, OutputCheckSamples ...; see
        `onnxq quantize --help`); an unknown key raises ValueError naming it.
    calibration_table: a CalibrationTable (onnxq.calibrate()) to take ranges from instead of data;
        calibrate_method applies to its statistics.
    progress: callable(stage, done, total) called as samples are calibrated (total -1 when unknown).
    config: a named configuration as the CLI's --config (XINT8, A8W8, A16W8, U8S8_AAWS ...; see
        onnxq.configs()). With one, the arguments left at their defaults keep the configuration's
        values; other arguments and extra_options override it.

    The reader's exceptions are raised as they are, with their traceback; Ctrl-C raises
    KeyboardInterrupt once the batches in flight end. Errors: ValueError (arguments, models, data),
    FileNotFoundError, NotImplementedError, OSError, RuntimeError (ONNX Runtime).
    """
    npu_cnn = bool(enable_dpu or enable_npu_cnn or deprecated.pop("enable_ipu_cnn", False))
    npu_transformer = bool(enable_npu_transformer or deprecated.pop("enable_ipu_transformer", False))
    if deprecated:
        raise TypeError(f"quantize_static() got unexpected keyword arguments: {', '.join(sorted(deprecated))}")
    data_path = None
    if calibration_data_path is not None:
        if calibration_data_reader is not None or calibration_table is not None:
            warnings.warn("calibration_data_path is left unused: calibration_data_reader or calibration_table "
                          "is given", stacklevel=2)
        else:
            data_path = _path_argument(calibration_data_path, "calibration_data_path")
    if execution_providers not in (None, ["CPUExecutionProvider"], ("CPUExecutionProvider",)):
        raise NotImplementedError("execution_providers: onnxq calibrates on ONNX Runtime's CPU provider only")
    if calibration_table is not None and calibration_data_reader is not None:
        raise ValueError("give calibration_data_reader or calibration_table, not both")
    args = _options(quant_format, calibrate_method, activation_type, weight_type, per_channel, reduce_range,
                    include_cle, nodes_to_quantize, nodes_to_exclude, op_types_to_quantize, input_nodes,
                    output_nodes, use_external_data_format)
    args["enable_npu_cnn"] = npu_cnn
    args["enable_npu_transformer"] = npu_transformer
    args["convert_nchw_to_nhwc"] = bool(convert_nchw_to_nhwc)
    if config is not None:
        args = _only_changed(args, config)
    extra = _extra(extra_options)
    if not optimize_model:
        extra.setdefault("FoldBatchNorm", "False")
    report = _onnxq._quantize(_model_argument(model_input), _path_argument(model_output, "model_output"),
                              calibration_data_reader, data_path, args, extra, progress, calibration_table)
    # Never silent, as on the CLI's stderr: random data, and outputs below the SQNR threshold.
    if calibration_data_reader is None and calibration_table is None and data_path is None:
        warnings.warn("calibration_data_reader is None: calibrated on random data, so the quantized model's "
                      "accuracy means nothing", stacklevel=2)
    for output in report["output_check"]["outputs"]:
        if output["warning"]:
            warnings.warn(output["warning"], stacklevel=2)
    return report


def calibrate(model_input, calibration_data_reader=None, calibrate_method=PowerOfTwoMethod.MinMSE,
              activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, per_channel=False,
              include_cle=False, nodes_to_quantize=None, nodes_to_exclude=None, op_types_to_quantize=None,
              extra_options=None, progress=None):
    """Calibrates without quantizing: returns a CalibrationTable of every activation quantize_static
    would calibrate with the same arguments. Save it (table.save(path)), merge tables of disjoint
    shards (CalibrationTable.merge([t0, t1])), and quantize from it
    (quantize_static(..., calibration_table=table)). Arguments as quantize_static's.
    """
    args = _options(QuantFormat.QDQ, calibrate_method, activation_type, weight_type, per_channel, False,
                    include_cle, nodes_to_quantize, nodes_to_exclude, op_types_to_quantize, None, None, False)
    return _onnxq._calibrate(_model_argument(model_input), calibration_data_reader, args, _extra(extra_options),
                             progress)


def configs():
    """{name: {"summary", "settings", "differences"}} of the named configurations quantize_static's
    config= takes (AMD Quark's, as the CLI's --config list prints them)."""
    return _onnxq._presets()


def list_passes():
    """{pass id: what it does} for optimize()."""
    return _onnxq._list_passes()


def optimize(model_input, model_output, passes, extra_options=None, use_external_data_format=False):
    """Runs graph passes by id, in the order given (see list_passes()), e.g.
    passes=["fold_batch_norm", "equalize_cross_layer"], and writes model_output atomically. extra_options
    set the passes' settings (CLESteps, CLEScaleAppendBias ...). Returns [{"pass", "changes", "notes"}].
    """
    if isinstance(passes, str):
        passes = [p.strip() for p in passes.split(",") if p.strip()]
    return _onnxq._optimize(_model_argument(model_input), _path_argument(model_output, "model_output"),
                            list(passes), _extra(extra_options), bool(use_external_data_format))


def evaluate(model, data_reader, labels, batch_size=0):
    """Top-1 / top-5 accuracy of a classifier (its first output: scores [N, classes]) over the batches of
    data_reader, labels holding one class index per sample. Returns {"samples", "top1", "top5",
    "seconds"} (percentages). batch_size: samples per run of a model with a dynamic batch (0: 32).
    """
    labels = [int(v) for v in labels]
    return _onnxq._evaluate(_model_argument(model), data_reader, labels, int(batch_size))
