// Random calibration data for models whose inputs are not float images: integer and bool inputs get
// uniform whole numbers in a per-input range (or a default one, with a warning), scalars stay
// scalars, and only inputs whose first axis can be a batch count samples.
#include "calibration/random_data_reader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "onnxq/extra_options.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ParseModelText;

// One input of every element type random data fills; Y only needs X.
onnx::ModelProto EveryTypeModel() {
  return ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,4] X, int64 sr, float[2,N,3] S, int32[N] ids, uint8[1,2] u, int8[3] i8, bool[N] mask) => (float[N,4] Y)
{
  Y = Identity(X)
}
)");
}

// The values of an integer or bool tensor, widened to int64.
std::vector<int64_t> Integers(const Tensor& t) {
  std::vector<int64_t> values;
  const size_t size = ElementSize(t.type);
  for (size_t i = 0; i + size <= t.bytes.size(); i += size) {
    const std::byte* p = t.bytes.data() + i;
    switch (t.type) {
      case ElementType::kInt64: {
        int64_t v = 0;
        std::memcpy(&v, p, sizeof(v));
        values.push_back(v);
        break;
      }
      case ElementType::kInt32: {
        int32_t v = 0;
        std::memcpy(&v, p, sizeof(v));
        values.push_back(v);
        break;
      }
      case ElementType::kInt8:
        values.push_back(static_cast<int8_t>(*p));
        break;
      case ElementType::kUInt8:
      case ElementType::kBool:
        values.push_back(static_cast<uint8_t>(*p));
        break;
      case ElementType::kFloat:
        ADD_FAILURE() << t.name << " is float";
        break;
    }
  }
  return values;
}

const Tensor& Named(const Feeds& feeds, const std::string& name) {
  const auto it = std::find_if(feeds.begin(), feeds.end(), [&](const Tensor& t) { return t.name == name; });
  EXPECT_NE(it, feeds.end()) << name;
  return *it;
}

TEST(RandomDataReaderTest, FillsEveryInputTypeWithItsShapeAndDefaultRange) {
  RandomDataOptions options;
  options.samples = 40;
  options.input_shapes["u"] = {1, 64};  // enough values to see the whole uint8 range used
  auto random = MakeRandomDataReader(EveryTypeModel(), options);
  ASSERT_TRUE(random.ok()) << random.status().message();
  ASSERT_EQ(random->warnings.size(), 4U) << ::testing::PrintToString(random->warnings);  // not for bool
  EXPECT_EQ(random->warnings[0],
            "input 'sr' is int64: random values in [0, 1]; give --random-data-input-range sr:LOW,HIGH for "
            "meaningful values");
  EXPECT_EQ(random->warnings[1],
            "input 'ids' is int32: random values in [0, 1]; give --random-data-input-range ids:LOW,HIGH for "
            "meaningful values");
  EXPECT_NE(random->warnings[2].find("input 'u' is uint8: random values in [0, 255]"), std::string::npos);
  EXPECT_NE(random->warnings[3].find("input 'i8' is int8: random values in [-128, 127]"), std::string::npos);

  CalibrationDataReader& reader = *random->reader;
  EXPECT_EQ(reader.SampleCount(), 40);
  std::map<std::string, std::set<int64_t>> seen;
  float x_min = 1.0F;
  float x_max = 0.0F;
  int batches = 0;
  for (;;) {
    auto next = reader.GetNext();
    ASSERT_TRUE(next.ok()) << next.status().message();
    if (!next->has_value()) break;
    const Feeds& feeds = **next;
    ++batches;
    ASSERT_EQ(feeds.size(), 7U);
    EXPECT_EQ(SamplesIn(feeds), 1);
    const Tensor& x = Named(feeds, "X");
    EXPECT_EQ(x.shape, (std::vector<int64_t>{1, 4}));
    EXPECT_TRUE(x.batch_axis);
    for (const float v : x.floats()) {
      x_min = std::min(x_min, v);
      x_max = std::max(x_max, v);
    }
    const struct {
      const char* name;
      ElementType type;
      std::vector<int64_t> shape;
      bool batch_axis;
    } expected[] = {{"sr", ElementType::kInt64, {}, false},
                    {"ids", ElementType::kInt32, {1}, true},
                    {"u", ElementType::kUInt8, {1, 64}, true},
                    {"i8", ElementType::kInt8, {3}, false},
                    {"mask", ElementType::kBool, {1}, true}};
    for (const auto& e : expected) {
      const Tensor& t = Named(feeds, e.name);
      EXPECT_EQ(t.type, e.type) << e.name;
      EXPECT_EQ(t.shape, e.shape) << e.name;
      EXPECT_EQ(t.batch_axis, e.batch_axis) << e.name;
      EXPECT_EQ(static_cast<int64_t>(t.bytes.size()), t.element_count() * static_cast<int64_t>(ElementSize(e.type)));
      for (const int64_t v : Integers(t)) seen[e.name].insert(v);
    }
    const Tensor& s = Named(feeds, "S");
    EXPECT_EQ(s.shape, (std::vector<int64_t>{2, 1, 3}));
    EXPECT_FALSE(s.batch_axis);
  }
  EXPECT_EQ(batches, 40);
  EXPECT_GE(x_min, 0.0F);
  EXPECT_LT(x_max, 1.0F);
  EXPECT_EQ(seen["sr"], (std::set<int64_t>{0, 1}));
  EXPECT_EQ(seen["ids"], (std::set<int64_t>{0, 1}));
  EXPECT_EQ(seen["mask"], (std::set<int64_t>{0, 1}));
  EXPECT_GE(*seen["u"].begin(), 0);
  EXPECT_LE(*seen["u"].rbegin(), 255);
  EXPECT_GT(*seen["u"].rbegin(), 200) << "the whole uint8 range is drawn";
  EXPECT_GE(*seen["i8"].begin(), -128);
  EXPECT_LT(*seen["i8"].begin(), -50) << "negative values are drawn";
  EXPECT_LE(*seen["i8"].rbegin(), 127);

  // Rewind gives the same data again.
  ASSERT_TRUE(reader.Rewind().ok());
  auto again = reader.GetNext();
  ASSERT_TRUE(again.ok() && again->has_value());
  auto other = MakeRandomDataReader(EveryTypeModel(), options);
  ASSERT_TRUE(other.ok());
  auto first = other->reader->GetNext();
  ASSERT_TRUE(first.ok() && first->has_value());
  for (size_t i = 0; i < (*again)->size(); ++i) EXPECT_EQ((**again)[i].bytes, (**first)[i].bytes) << i;
}

TEST(RandomDataReaderTest, GivenRangesAreHonouredAndSilenceTheWarnings) {
  QuantizeOptions options;
  ASSERT_TRUE(ApplyExtraOptions({{"RandomDataReaderInputRange",
                                  "sr:16000,16000; ids:[5, 7];u:250,255;i8:-3,-1;mask:1,1;X:-2,-1;S:3,3"}},
                                &options)
                  .ok());
  RandomDataOptions& random_options = options.random_data;
  random_options.samples = 30;
  random_options.input_shapes["ids"] = {8};
  auto random = MakeRandomDataReader(EveryTypeModel(), random_options);
  ASSERT_TRUE(random.ok()) << random.status().message();
  EXPECT_TRUE(random->warnings.empty()) << ::testing::PrintToString(random->warnings);
  std::map<std::string, std::set<int64_t>> seen;
  float x_min = 0.0F;
  float x_max = -3.0F;
  for (;;) {
    auto next = random->reader->GetNext();
    ASSERT_TRUE(next.ok()) << next.status().message();
    if (!next->has_value()) break;
    for (const Tensor& t : **next) {
      if (t.type != ElementType::kFloat) {
        for (const int64_t v : Integers(t)) seen[t.name].insert(v);
      } else if (t.name == "X") {
        for (const float v : t.floats()) {
          x_min = std::min(x_min, v);
          x_max = std::max(x_max, v);
        }
      } else {
        for (const float v : t.floats()) EXPECT_EQ(v, 3.0F) << "S:3,3 is a constant";
      }
    }
  }
  EXPECT_EQ(seen["sr"], std::set<int64_t>{16000});
  EXPECT_EQ(seen["ids"], (std::set<int64_t>{5, 6, 7}));
  EXPECT_EQ(seen["mask"], std::set<int64_t>{1});
  EXPECT_GE(*seen["u"].begin(), 250);
  EXPECT_EQ(*seen["i8"].rbegin(), -1);
  EXPECT_EQ(*seen["i8"].begin(), -3);
  EXPECT_GE(x_min, -2.0F);
  EXPECT_LT(x_max, -1.0F);
  EXPECT_LT(x_min, -1.8F);
}

TEST(RandomDataReaderTest, RangesThatDoNotFitTheModelAreErrors) {
  const auto error = [](const std::string& ranges) {
    QuantizeOptions options;
    EXPECT_TRUE(ApplyExtraOptions({{"RandomDataReaderInputRange", ranges}}, &options).ok()) << ranges;
    auto random = MakeRandomDataReader(EveryTypeModel(), options.random_data);
    EXPECT_FALSE(random.ok()) << ranges;
    return random.ok() ? std::string() : random.status().message();
  };
  std::string message = error("bogus:0,1");
  EXPECT_NE(message.find("input 'bogus'"), std::string::npos) << message;
  EXPECT_NE(message.find("'sr'"), std::string::npos) << "names the inputs there are: " << message;
  message = error("sr:0.5,2");
  EXPECT_NE(message.find("input 'sr'"), std::string::npos) << message;
  EXPECT_NE(message.find("whole numbers"), std::string::npos) << message;
  message = error("u:-1,5");
  EXPECT_NE(message.find("input 'u'"), std::string::npos) << message;
  EXPECT_NE(message.find("uint8"), std::string::npos) << message;
  EXPECT_NE(message.find("[0, 255]"), std::string::npos) << message;
  message = error("mask:0,2");
  EXPECT_NE(message.find("input 'mask'"), std::string::npos) << message;

  const auto text = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (double[N,4] D) => (double[N,4] Y)
{
  Y = Identity(D)
}
)");
  const auto unsupported = MakeRandomDataReader(text, {});
  ASSERT_FALSE(unsupported.ok());
  EXPECT_EQ(unsupported.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(unsupported.status().message().find("input 'D'"), std::string::npos) << unsupported.status().message();
}

TEST(RandomDataReaderTest, ParsesTheInputRangeExtraOption) {
  QuantizeOptions options;
  ASSERT_TRUE(ApplyExtraOptions({{"RandomDataReaderInputRange", "sr:16000,16000; input:0:[-1.5, 2];"}}, &options).ok());
  const auto& ranges = options.random_data.input_ranges;
  ASSERT_EQ(ranges.size(), 2U);
  EXPECT_EQ(ranges.at("sr").low, 16000.0);
  EXPECT_EQ(ranges.at("sr").high, 16000.0);
  EXPECT_EQ(ranges.at("input:0").low, -1.5);  // the name ends at the last colon
  EXPECT_EQ(ranges.at("input:0").high, 2.0);
  // A later range adds to those given, replacing one of the same name.
  ASSERT_TRUE(ApplyExtraOptions({{"RandomDataReaderInputRange", "sr:8000,8000"}}, &options).ok());
  EXPECT_EQ(ranges.size(), 2U);
  EXPECT_EQ(ranges.at("sr").low, 8000.0);

  for (const char* bad : {"", "sr", "sr:1", "sr:2,1", "sr:a,b", ":1,2", "sr:1,2,3", "sr:inf,1", "sr:1e999,2"}) {
    SCOPED_TRACE(bad);
    QuantizeOptions fresh;
    const Status status = ApplyExtraOptions({{"RandomDataReaderInputRange", bad}}, &fresh);
    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.message().find("RandomDataReaderInputRange"), std::string::npos) << status.message();
    EXPECT_TRUE(fresh.random_data.input_ranges.empty());
  }
}

}  // namespace
}  // namespace onnxq
