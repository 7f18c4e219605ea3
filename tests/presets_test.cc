// Presets and the layering of options: defaults -> NPU mode -> preset -> explicit settings, then the
// NPU-CNN rules, each broken once with an error that names the option and the fix.
#include "onnxq/presets.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace onnxq {
namespace {

Result<QuantizeOptions> Resolve(const std::string& preset, const std::vector<Setting>& settings = {}) {
  return ResolveOptions(preset, settings);
}

TEST(PresetsTest, Xint8IsTheNpuCnnModeWithPowerOfTwoMinMse) {
  const auto o = Resolve("XINT8");
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->npu_mode, NpuMode::kCnn);
  EXPECT_EQ(o->calibration.method, CalibrationMethod::kMinMSE);
  EXPECT_EQ(o->activation_type, QuantType::kUInt8);
  EXPECT_EQ(o->weight_type, QuantType::kInt8);
  EXPECT_TRUE(o->activation_symmetric);
  EXPECT_TRUE(o->weight_symmetric);
  EXPECT_EQ(o->unsigned_symmetric_zero_point, UnsignedSymmetricZeroPoint::kNpu);
  EXPECT_FALSE(o->int32_bias);
  EXPECT_FALSE(o->per_channel);
  EXPECT_TRUE(o->passes.simulate_dpu);
  EXPECT_TRUE(o->passes.convert_bn_to_conv);
  EXPECT_TRUE(o->passes.convert_split_to_slice);
  EXPECT_EQ(o->placement, QdqPlacement::kAllQuantizable);
  EXPECT_TRUE(o->npu_limitation.enabled);
  EXPECT_EQ(o->npu_limitation.max_loops, 5);
}

TEST(PresetsTest, EachPresetHasTheVendorsTypesAndMethod) {
  struct Expected {
    std::string name;
    CalibrationMethod method;
    QuantType activation;
    QuantType weight;
    bool activation_symmetric;
    NpuMode mode;
  };
  const Expected expected[] = {
      {"XINT8", CalibrationMethod::kMinMSE, QuantType::kUInt8, QuantType::kInt8, true, NpuMode::kCnn},
      {"VINT8", CalibrationMethod::kMinMSE, QuantType::kInt8, QuantType::kInt8, true, NpuMode::kNone},
      {"A8W8", CalibrationMethod::kMinMax, QuantType::kInt8, QuantType::kInt8, true, NpuMode::kNone},
      {"A16W8", CalibrationMethod::kMinMax, QuantType::kInt16, QuantType::kInt8, true, NpuMode::kNone},
      {"U8S8_AAWS", CalibrationMethod::kPercentile, QuantType::kUInt8, QuantType::kInt8, false, NpuMode::kNone},
      {"S8S8_AAWS", CalibrationMethod::kPercentile, QuantType::kInt8, QuantType::kInt8, false, NpuMode::kNone},
      {"U8U8_AAWA", CalibrationMethod::kPercentile, QuantType::kUInt8, QuantType::kUInt8, false, NpuMode::kNone},
      {"U16S8_AAWS", CalibrationMethod::kPercentile, QuantType::kUInt16, QuantType::kInt8, false, NpuMode::kNone},
      {"S16S8_ASWS", CalibrationMethod::kPercentile, QuantType::kInt16, QuantType::kInt8, true, NpuMode::kNone},
      {"INT8_CNN_DEFAULT", CalibrationMethod::kMinMax, QuantType::kUInt8, QuantType::kInt8, false, NpuMode::kNone},
      {"INT16_CNN_DEFAULT", CalibrationMethod::kMinMax, QuantType::kUInt16, QuantType::kInt16, false, NpuMode::kNone},
      {"INT8_TRANSFORMER_DEFAULT", CalibrationMethod::kMinMax, QuantType::kUInt8, QuantType::kInt8, false,
       NpuMode::kTransformer},
  };
  for (const auto& e : expected) {
    SCOPED_TRACE(e.name);
    const auto o = Resolve(e.name);
    ASSERT_TRUE(o.ok()) << o.status().message();
    EXPECT_EQ(o->calibration.method, e.method);
    EXPECT_EQ(o->activation_type, e.activation);
    EXPECT_EQ(o->weight_type, e.weight);
    EXPECT_EQ(o->activation_symmetric, e.activation_symmetric);
    EXPECT_EQ(o->npu_mode, e.mode);
  }
  EXPECT_EQ(Resolve("S8S8_AAWS")->calibration.percentile, 99.9999);
  EXPECT_FALSE(Resolve("U8U8_AAWA")->weight_symmetric);
  EXPECT_TRUE(Resolve("VINT8")->passes.replace_clip6_relu);
  EXPECT_FALSE(Resolve("VINT8")->fused_activation.relu);
  EXPECT_TRUE(Resolve("INT8_TRANSFORMER_DEFAULT")->calibration.moving_average);
  EXPECT_TRUE(Resolve("INT8_TRANSFORMER_DEFAULT")->matmul_const_b_only);
  EXPECT_FALSE(Resolve("A8W8")->npu_limitation.align_slice);
}

TEST(PresetsTest, NamesAreFoundWhateverTheirCaseAndUnknownOnesListTheKnown) {
  EXPECT_NE(FindPreset("xint8"), nullptr);
  EXPECT_EQ(FindPreset("XINT9"), nullptr);
  const auto o = Resolve("XINT9");
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("unknown configuration 'XINT9'"), std::string::npos);
  EXPECT_NE(o.status().message().find("A16W8"), std::string::npos);
}

TEST(PresetsTest, ExplicitSettingsOverrideThePresetAndTheMode) {
  const auto o = Resolve("XINT8", {{"calibrate_method", "NonOverflow"}, {"activation_type", "QInt8"}});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->calibration.method, CalibrationMethod::kNonOverflow);
  EXPECT_EQ(o->activation_type, QuantType::kInt8);
  EXPECT_EQ(o->npu_mode, NpuMode::kCnn);
  // A mode named only among the explicit settings still brings its defaults.
  const auto cnn = Resolve("", {{"enable_dpu", "True"}});
  ASSERT_TRUE(cnn.ok()) << cnn.status().message();
  EXPECT_EQ(cnn->npu_mode, NpuMode::kCnn);
  EXPECT_EQ(cnn->calibration.method, CalibrationMethod::kMinMSE);
  // ... and switching it off explicitly leaves the preset without it.
  const auto off = Resolve("XINT8", {{"enable_npu_cnn", "False"}, {"calibrate_method", "MinMax"}});
  ASSERT_TRUE(off.ok()) << off.status().message();
  EXPECT_EQ(off->npu_mode, NpuMode::kNone);
}

TEST(PresetsTest, OptionsThatContradictNpuCnnModeAreErrorsNamingTheOptionAndTheFix) {
  struct Case {
    Setting setting;
    std::string option;
    std::string fix;
  };
  const Case cases[] = {
      {{"per_channel", "True"}, "per_channel", "drop --per-channel"},
      {{"reduce_range", "True"}, "reduce_range", "drop --reduce-range"},
      {{"ActivationSymmetric", "False"}, "ActivationSymmetric=False", "ActivationSymmetric=True"},
      {{"WeightSymmetric", "False"}, "WeightSymmetric=False", "WeightSymmetric=True"},
      {{"calibrate_method", "MinMax"}, "calibrate_method MinMax", "MinMSE or NonOverflow"},
      {{"calibrate_method", "Percentile"}, "calibrate_method Percentile", "MinMSE or NonOverflow"},
      {{"weight_type", "QUInt8"}, "weight_type QUInt8", "--weight-type QInt8"},
      {{"activation_type", "QInt16"}, "activation_type QInt16", "QUInt8 or QInt8"},
      {{"UInt8SymmetricZeroPoint", "127"}, "UInt8SymmetricZeroPoint=127", "UInt8SymmetricZeroPoint=128"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.setting.key + "=" + c.setting.value);
    const auto o = Resolve("", {{"enable_npu_cnn", "True"}, c.setting});
    ASSERT_FALSE(o.ok());
    const std::string& message = o.status().message();
    EXPECT_NE(message.find(c.option), std::string::npos) << message;
    EXPECT_NE(message.find("contradicts enable_npu_cnn"), std::string::npos) << message;
    EXPECT_NE(message.find(c.fix), std::string::npos) << message;
  }
}

TEST(PresetsTest, TransformerModeDefaults) {
  const auto o = Resolve("", {{"enable_npu_transformer", "True"}});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->calibration.method, CalibrationMethod::kMinMax);
  EXPECT_EQ(o->activation_type, QuantType::kInt8);
  EXPECT_FALSE(o->activation_symmetric);
  EXPECT_EQ(o->weight_type, QuantType::kInt8);
  EXPECT_TRUE(o->matmul_const_b_only);
  EXPECT_TRUE(o->int32_bias);
  EXPECT_FALSE(o->passes.simulate_dpu);
}

TEST(PresetsTest, BadValuesAndUnknownKeysAreErrorsNamingTheKey) {
  EXPECT_NE(Resolve("", {{"per_channel", "maybe"}}).status().message().find("per_channel=maybe"), std::string::npos);
  EXPECT_NE(Resolve("", {{"NoSuchOption", "1"}}).status().message().find("unknown extra option 'NoSuchOption'"),
            std::string::npos);
  EXPECT_NE(Resolve("", {{"MaxLoopNum", "0"}}).status().message().find("MaxLoopNum"), std::string::npos);
}

}  // namespace
}  // namespace onnxq
