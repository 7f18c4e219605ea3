// Quantized element types and zero-point conventions, named as in vai_q_onnx / ONNX Runtime.
#pragma once

namespace onnxq {

// Element type a tensor is quantized to (QuantType.QInt8 ... / VitisQuantType.QBFloat16).
enum class QuantType { kInt8, kUInt8, kInt16, kUInt16, kInt32, kUInt32, kFloat16, kBFloat16 };

// Zero point used for a symmetric unsigned range: 2^(b-1)-1 (ONNX Runtime's convention, 127 for uint8)
// or 2^(b-1) (AMD NPU convention, 128 for uint8: the DPU reads uint8 as int8 shifted by 128).
enum class UnsignedSymmetricZeroPoint { kOnnxRuntime, kNpu };

}  // namespace onnxq
