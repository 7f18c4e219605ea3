// Quantized element types and zero-point conventions, named as in vai_q_onnx / ONNX Runtime.
#pragma once

#include <string_view>

namespace onnxq {

// Element type a tensor is quantized to (QuantType.QInt8 ... / VitisQuantType.QBFloat16).
enum class QuantType { kInt8, kUInt8, kInt16, kUInt16, kInt32, kUInt32, kFloat16, kBFloat16 };

// Zero point used for a symmetric unsigned range: 2^(b-1)-1 (ONNX Runtime's convention, 127 for uint8)
// or 2^(b-1) (AMD NPU convention, 128 for uint8: the DPU reads uint8 as int8 shifted by 128).
enum class UnsignedSymmetricZeroPoint { kOnnxRuntime, kNpu };

// "QInt8", "QUInt16" ... as the enums of vai_q_onnx / ONNX Runtime spell them.
constexpr std::string_view QuantTypeName(QuantType type) {
  switch (type) {
    case QuantType::kInt8:
      return "QInt8";
    case QuantType::kUInt8:
      return "QUInt8";
    case QuantType::kInt16:
      return "QInt16";
    case QuantType::kUInt16:
      return "QUInt16";
    case QuantType::kInt32:
      return "QInt32";
    case QuantType::kUInt32:
      return "QUInt32";
    case QuantType::kFloat16:
      return "QFloat16";
    case QuantType::kBFloat16:
      return "QBFloat16";
  }
  return "?";
}

}  // namespace onnxq
