#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "onnxq/data_reader.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ReadBytes;
using testing::WriteBytes;

namespace fs = std::filesystem;
using testing::DataDir;
using testing::TempDir;

constexpr int64_t kCalibSamples = 1000;
constexpr int64_t kImageBytes = 28 * 28 * 4;
constexpr int64_t kCalibOffset = 128;  // numpy's version 1.0 header for this array is 128 bytes

fs::path CalibPath() { return DataDir() / "calib_1000.npy"; }

std::string AsString(const std::vector<std::byte>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// A .npy file with a version 1.0 header holding `dict` (padded as numpy pads it) and then `data`.
std::string NpyV1(const std::string& dict, const std::string& data) {
  std::string header = dict;
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header.push_back('\n');
  std::string file = "\x93NUMPY\x01";
  file.push_back('\0');
  file.push_back(static_cast<char>(header.size() & 0xFFU));
  file.push_back(static_cast<char>(header.size() >> 8U));
  return file + header + data;
}

// Drains the reader, returning the batches.
std::vector<Feeds> ReadAll(CalibrationDataReader& reader) {
  std::vector<Feeds> batches;
  for (;;) {
    auto next = reader.GetNext();
    EXPECT_TRUE(next.ok()) << next.status().message();
    if (!next.ok() || !next->has_value()) break;
    batches.push_back(std::move(**next));
  }
  return batches;
}

class ArrayFileReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = TempDir(std::string("array_reader-") + info->name());
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The error of opening `files`, which must fail.
  static Status OpenError(const std::vector<ArrayFileSpec>& files, const ArrayReaderOptions& options = {}) {
    auto reader = OpenArrayFiles(files, options);
    EXPECT_FALSE(reader.ok());
    if (reader.ok()) return Status::Ok();
    EXPECT_EQ(reader.status().message().find('\n'), std::string::npos) << "one line";
    return reader.status();
  }

  fs::path dir_;
};

TEST_F(ArrayFileReaderTest, ReadsTheHeaderNumpyWrites) {
  auto header = ReadNpyHeader(CalibPath());
  ASSERT_TRUE(header.ok()) << header.status().message();
  EXPECT_EQ(header->type, ElementType::kFloat);
  EXPECT_EQ(header->shape, (std::vector<int64_t>{kCalibSamples, 1, 28, 28}));
  EXPECT_EQ(header->data_offset, kCalibOffset);
  EXPECT_EQ(static_cast<int64_t>(fs::file_size(CalibPath())), kCalibOffset + kCalibSamples * kImageBytes);

  // numpy.save of an int64 array of 3 values, byte for byte: 10 + 57 + 1 header bytes padded to 128.
  const std::string data(24, '\0');
  const std::string v1 = NpyV1("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", data);
  ASSERT_EQ(v1.size(), 128U + 24U);
  WriteBytes(dir_ / "v1.npy", v1);
  header = ReadNpyHeader(dir_ / "v1.npy");
  ASSERT_TRUE(header.ok()) << header.status().message();
  EXPECT_EQ(header->type, ElementType::kInt64);
  EXPECT_EQ(header->shape, std::vector<int64_t>{3});
  EXPECT_EQ(header->data_offset, 128);
}

TEST_F(ArrayFileReaderTest, ReadsVersionTwoHeadersAndEveryDtype) {
  const struct {
    const char* descr;
    ElementType type;
  } dtypes[] = {{"<f4", ElementType::kFloat}, {"<i8", ElementType::kInt64}, {"<i4", ElementType::kInt32},
                {"|u1", ElementType::kUInt8}, {"|i1", ElementType::kInt8},  {"|b1", ElementType::kBool}};
  for (const auto& d : dtypes) {
    SCOPED_TRACE(d.descr);
    // Version 2.0: a 4-byte header length, data aligned to 64 bytes.
    std::string header = std::string("{'descr': '") + d.descr + "', 'fortran_order': False, 'shape': (2, 5), }";
    header.append((64 - (12 + header.size() + 1) % 64) % 64, ' ');
    header.push_back('\n');
    std::string file = "\x93NUMPY\x02";
    file.push_back('\0');
    for (int shift = 0; shift < 32; shift += 8) file.push_back(static_cast<char>((header.size() >> shift) & 0xFFU));
    file += header;
    const int64_t offset = static_cast<int64_t>(file.size());
    file.append(static_cast<size_t>(10 * ElementSize(d.type)), '\1');
    WriteBytes(dir_ / "v2.npy", file);

    auto parsed = ReadNpyHeader(dir_ / "v2.npy");
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    EXPECT_EQ(parsed->type, d.type);
    EXPECT_EQ(parsed->shape, (std::vector<int64_t>{2, 5}));
    EXPECT_EQ(parsed->data_offset, offset);
    EXPECT_EQ(offset % 64, 0);

    auto reader = OpenArrayFiles({{"x", dir_ / "v2.npy"}}, {.batch_size = 2});
    ASSERT_TRUE(reader.ok()) << reader.status().message();
    const auto batches = ReadAll(**reader);
    ASSERT_EQ(batches.size(), 1U);
    EXPECT_EQ(batches[0][0].type, d.type);
    EXPECT_EQ(batches[0][0].shape, (std::vector<int64_t>{2, 5}));
    EXPECT_EQ(AsString(batches[0][0].bytes), file.substr(static_cast<size_t>(offset)));
  }
}

TEST_F(ArrayFileReaderTest, BatchesHoldExactlyTheFileContents) {
  auto reader = OpenArrayFiles({{"input", CalibPath()}}, {.batch_size = 32});
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  EXPECT_EQ((*reader)->SampleCount(), kCalibSamples);
  const auto batches = ReadAll(**reader);
  ASSERT_EQ(batches.size(), 32U);  // 31 full batches and one of 8
  std::string all;
  for (size_t i = 0; i < batches.size(); ++i) {
    ASSERT_EQ(batches[i].size(), 1U);
    const Tensor& t = batches[i][0];
    EXPECT_EQ(t.name, "input");
    EXPECT_EQ(t.type, ElementType::kFloat);
    const int64_t expected = i < 31 ? 32 : 8;
    EXPECT_EQ(t.shape, (std::vector<int64_t>{expected, 1, 28, 28})) << "batch " << i;
    EXPECT_EQ(static_cast<int64_t>(t.bytes.size()), expected * kImageBytes);
    all += AsString(t.bytes);
  }
  EXPECT_TRUE(all == ReadBytes(CalibPath()).substr(kCalibOffset)) << "batches differ from the file";

  // Exhausted stays exhausted; Rewind starts over with the same first batch.
  auto after = (*reader)->GetNext();
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->has_value());
  ASSERT_TRUE((*reader)->Rewind().ok());
  auto first = (*reader)->GetNext();
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((**first)[0].bytes, batches[0][0].bytes);
}

TEST_F(ArrayFileReaderTest, MaxSamplesStopsEarly) {
  auto reader = OpenArrayFiles({{"input", CalibPath()}}, {.batch_size = 32, .max_samples = 100});
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  EXPECT_EQ((*reader)->SampleCount(), 100);
  const auto batches = ReadAll(**reader);
  ASSERT_EQ(batches.size(), 4U);
  EXPECT_EQ(batches[3][0].shape[0], 4);
  std::string all;
  for (const auto& b : batches) all += AsString(b[0].bytes);
  EXPECT_TRUE(all == ReadBytes(CalibPath()).substr(kCalibOffset, 100 * kImageBytes));

  // More than the file holds: the file's count.
  reader = OpenArrayFiles({{"input", CalibPath()}}, {.batch_size = 500, .max_samples = 5000});
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->SampleCount(), kCalibSamples);
}

TEST_F(ArrayFileReaderTest, RawFloatFileWithSampleShape) {
  std::vector<float> values(10 * 6);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) * 0.25F - 3.0F;
  const std::string bytes(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  WriteBytes(dir_ / "x.raw", bytes);

  auto reader = OpenArrayFiles({{"x", dir_ / "x.raw", {2, 3}, ElementType::kFloat}}, {.batch_size = 4});
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  EXPECT_EQ((*reader)->SampleCount(), 10);
  const auto batches = ReadAll(**reader);
  ASSERT_EQ(batches.size(), 3U);
  EXPECT_EQ(batches[0][0].shape, (std::vector<int64_t>{4, 2, 3}));
  EXPECT_EQ(batches[2][0].shape, (std::vector<int64_t>{2, 2, 3}));
  std::vector<float> read;
  for (const auto& b : batches) read.insert(read.end(), b[0].floats().begin(), b[0].floats().end());
  EXPECT_EQ(read, values);
}

TEST_F(ArrayFileReaderTest, RawFileOfTheWrongSizeNamesTheFileAndTheShapeOption) {
  WriteBytes(dir_ / "x.raw", std::string(10 * 6 * 4 + 2, '\0'));
  const Status status = OpenError({{"x", dir_ / "x.raw", {2, 3}, ElementType::kFloat}});
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find((dir_ / "x.raw").string()), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("--input-shape"), std::string::npos) << status.message();

  // Without a shape at all.
  const Status no_shape = OpenError({{"x", dir_ / "x.raw"}});
  EXPECT_NE(no_shape.message().find((dir_ / "x.raw").string()), std::string::npos) << no_shape.message();
  EXPECT_NE(no_shape.message().find("--input-shape x:"), std::string::npos) << no_shape.message();

  // Negative or overflowing shapes are a size error, not a crash.
  EXPECT_EQ(OpenError({{"x", dir_ / "x.raw", {-2, 3}, ElementType::kFloat}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenError({{"x", dir_ / "x.raw", {int64_t{1} << 40, int64_t{1} << 40}, ElementType::kFloat}}).code(),
            StatusCode::kInvalidArgument);
}

TEST_F(ArrayFileReaderTest, TruncatedNpyIsAnError) {
  const std::string calib = ReadBytes(CalibPath());
  // Data cut short: refused when opened, before any batch.
  WriteBytes(dir_ / "short.npy", calib.substr(0, kCalibOffset + 500 * kImageBytes + 7));
  Status status = OpenError({{"input", dir_ / "short.npy"}});
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find((dir_ / "short.npy").string()), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("truncated"), std::string::npos) << status.message();

  // Header cut short.
  WriteBytes(dir_ / "header.npy", calib.substr(0, 40));
  status = OpenError({{"input", dir_ / "header.npy"}});
  EXPECT_NE(status.message().find((dir_ / "header.npy").string()), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("truncated"), std::string::npos) << status.message();

  // Only the magic.
  WriteBytes(dir_ / "magic.npy", calib.substr(0, 4));
  status = OpenError({{"input", dir_ / "magic.npy"}});
  EXPECT_NE(status.message().find((dir_ / "magic.npy").string()), std::string::npos) << status.message();
}

// A header claiming 4e15 samples of shape [0]: no data bounds the count, and reading them took hours
// (found by the read_npy_fuzzer). Empty samples beside an input with values are read as they are.
TEST_F(ArrayFileReaderTest, SamplesOfNoValuesAreAnErrorNotAnEndlessRead) {
  WriteBytes(dir_ / "empty.npy",
             NpyV1("{'descr': '|b1', 'fortran_order': False, 'shape': (4444444444444444, 0), }", ""));
  const Status status = OpenError({{"x", dir_ / "empty.npy"}});
  EXPECT_NE(status.message().find("no values"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find((dir_ / "empty.npy").string()), std::string::npos) << status.message();

  WriteBytes(dir_ / "past.npy", NpyV1("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 0, 3), }", ""));
  WriteBytes(dir_ / "x.npy",
             NpyV1("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", std::string(24, '\0')));
  auto reader = OpenArrayFiles({{"x", dir_ / "x.npy"}, {"past", dir_ / "past.npy"}}, {.batch_size = 2});
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  const auto batches = ReadAll(**reader);
  ASSERT_EQ(batches.size(), 1U);
  EXPECT_EQ(batches[0][1].shape, (std::vector<int64_t>{2, 0, 3}));
}

TEST_F(ArrayFileReaderTest, UnsupportedOrBrokenHeadersAreErrors) {
  const struct {
    const char* file;
    std::string dict;
    StatusCode code;
    const char* mentions;
  } cases[] = {
      {"f8.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", StatusCode::kUnsupported, "'<f8'"},
      {"be.npy", "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", StatusCode::kUnsupported, "'>f4'"},
      {"str.npy", "{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }", StatusCode::kUnsupported, "'<U3'"},
      {"fortran.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", StatusCode::kUnsupported,
       "Fortran"},
      {"nodescr.npy", "{'fortran_order': False, 'shape': (2,), }", StatusCode::kInvalidArgument, "dtype"},
      {"noshape.npy", "{'descr': '<f4', 'fortran_order': False, }", StatusCode::kInvalidArgument, "shape"},
      {"scalar.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", StatusCode::kInvalidArgument, "scalar"},
      {"hugedim.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999, 2), }",
       StatusCode::kInvalidArgument, "99999999999999999999999"},
      {"overflow.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4294967296, 4294967296), }",
       StatusCode::kInvalidArgument, "too large"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    WriteBytes(dir_ / c.file, NpyV1(c.dict, std::string(64, '\0')));
    const Status status = OpenError({{"x", dir_ / c.file}});
    EXPECT_EQ(status.code(), c.code) << status.message();
    EXPECT_NE(status.message().find((dir_ / c.file).string()), std::string::npos) << status.message();
    EXPECT_NE(status.message().find(c.mentions), std::string::npos) << status.message();
  }

  // A header of 10 bytes: the magic, the version and a length of 0 (shorter than the 12 bytes read first).
  WriteBytes(dir_ / "short.npy", std::string("\x93NUMPY\x01\x00\x00\x00", 10) + std::string(64, '\0'));
  const Status short_header = OpenError({{"x", dir_ / "short.npy"}});
  EXPECT_NE(short_header.message().find("header of 10 bytes, too short"), std::string::npos) << short_header.message();

  WriteBytes(dir_ / "text.npy", "not numpy at all");
  const Status magic = OpenError({{"x", dir_ / "text.npy"}});
  EXPECT_NE(magic.message().find("not a .npy file"), std::string::npos) << magic.message();
}

TEST_F(ArrayFileReaderTest, WriteNpyRoundTrips) {
  // Writing the calibration images again gives numpy's file, byte for byte.
  auto reader = OpenArrayFiles({{"input", CalibPath()}}, {.batch_size = kCalibSamples});
  ASSERT_TRUE(reader.ok());
  auto batch = (*reader)->GetNext();
  ASSERT_TRUE(batch.ok() && batch->has_value());
  ASSERT_TRUE(WriteNpy(dir_ / "copy.npy", (**batch)[0]).ok());
  EXPECT_TRUE(ReadBytes(dir_ / "copy.npy") == ReadBytes(CalibPath()));

  const struct {
    ElementType type;
    std::vector<int64_t> shape;
  } cases[] = {{ElementType::kFloat, {5}},    {ElementType::kInt64, {3, 2}},   {ElementType::kInt32, {1, 2, 3, 4}},
               {ElementType::kUInt8, {7, 1}}, {ElementType::kInt8, {2, 2, 2}}, {ElementType::kBool, {4}}};
  for (const auto& c : cases) {
    SCOPED_TRACE(ElementTypeName(c.type));
    Tensor t{"t", c.type, c.shape, {}};
    t.bytes.resize(static_cast<size_t>(t.element_count()) * ElementSize(c.type));
    for (size_t i = 0; i < t.bytes.size(); ++i)
      t.bytes[i] = static_cast<std::byte>(c.type == ElementType::kBool ? i % 2 : i * 7);
    const fs::path path = dir_ / "t.npy";
    ASSERT_TRUE(WriteNpy(path, t).ok());
    auto header = ReadNpyHeader(path);
    ASSERT_TRUE(header.ok()) << header.status().message();
    EXPECT_EQ(header->type, c.type);
    EXPECT_EQ(header->shape, c.shape);
    EXPECT_EQ(header->data_offset % 64, 0);
    const std::string file = ReadBytes(path);
    EXPECT_EQ(file.size(), static_cast<size_t>(header->data_offset) + t.bytes.size());
    EXPECT_EQ(file.substr(static_cast<size_t>(header->data_offset)), AsString(t.bytes));
    EXPECT_EQ(file.find('\n'), static_cast<size_t>(header->data_offset - 1)) << "header ends in a newline";
  }
}

TEST_F(ArrayFileReaderTest, InputsMustAgreeOnTheSampleCount) {
  Tensor a = Tensor::FromFloats("a", {4, 2}, std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8});
  Tensor b = Tensor::FromFloats("b", {3, 1}, std::vector<float>{9, 10, 11});
  ASSERT_TRUE(WriteNpy(dir_ / "a.npy", a).ok());
  ASSERT_TRUE(WriteNpy(dir_ / "b.npy", b).ok());
  const Status status = OpenError({{"a", dir_ / "a.npy"}, {"b", dir_ / "b.npy"}});
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find((dir_ / "b.npy").string()), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("has 3, others 4"), std::string::npos) << status.message();

  // Agreeing inputs come out together, in the order given.
  Tensor c = Tensor::FromFloats("c", {4}, std::vector<float>{-1, -2, -3, -4});
  ASSERT_TRUE(WriteNpy(dir_ / "c.npy", c).ok());
  auto reader = OpenArrayFiles({{"a", dir_ / "a.npy"}, {"c", dir_ / "c.npy"}}, {.batch_size = 3});
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  const auto batches = ReadAll(**reader);
  ASSERT_EQ(batches.size(), 2U);
  ASSERT_EQ(batches[1].size(), 2U);
  EXPECT_EQ(batches[1][0].name, "a");
  EXPECT_EQ(batches[1][1].name, "c");
  EXPECT_EQ(std::vector<float>(batches[1][0].floats().begin(), batches[1][0].floats().end()),
            (std::vector<float>{7, 8}));
  EXPECT_EQ(batches[1][1].shape, std::vector<int64_t>{1});
  EXPECT_EQ(batches[1][1].floats()[0], -4.0F);
}

// Silero VAD's layout: audio [N, 5] with a batch axis beside a scalar int64 `sr` (file [N]) and a
// state whose first axis is not the batch (model [2, batch, 3], file [N, 2, 1, 3]), both fed whole.
TEST_F(ArrayFileReaderTest, WholeSamplesComeOneABatchBesideBatchAxisInputs) {
  constexpr int64_t kSamples = 3;
  std::vector<float> audio(kSamples * 5);
  for (size_t i = 0; i < audio.size(); ++i) audio[i] = static_cast<float>(i);  // sample i: 5i .. 5i+4
  ASSERT_TRUE(WriteNpy(dir_ / "x.npy", Tensor::FromFloats("x", {kSamples, 5}, audio)).ok());
  const std::vector<int64_t> rates = {16000, 8000, 16000};
  const Tensor sr = testing::Int64Tensor("sr", {kSamples}, rates);
  ASSERT_TRUE(WriteNpy(dir_ / "sr.npy", sr).ok());
  std::vector<float> state(kSamples * 6);
  for (size_t i = 0; i < state.size(); ++i) state[i] = -static_cast<float>(i);  // sample i: -6i .. -6i-5
  ASSERT_TRUE(WriteNpy(dir_ / "h.npy", Tensor::FromFloats("h", {kSamples, 2, 1, 3}, state)).ok());

  // The layout follows from the ranks: [N,5] for a [batch,5] input, [N] for a scalar, [N,2,1,3] for [2,batch,3].
  auto layout = NpySampleLayout(dir_ / "x.npy", "x", 2);
  ASSERT_TRUE(layout.ok()) << layout.status().message();
  EXPECT_EQ(*layout, SampleLayout::kBatchAxis);
  layout = NpySampleLayout(dir_ / "sr.npy", "sr", 0);
  ASSERT_TRUE(layout.ok()) << layout.status().message();
  EXPECT_EQ(*layout, SampleLayout::kWhole);
  layout = NpySampleLayout(dir_ / "h.npy", "h", 3);
  ASSERT_TRUE(layout.ok()) << layout.status().message();
  EXPECT_EQ(*layout, SampleLayout::kWhole);

  auto reader = OpenArrayFiles({{.input_name = "x", .path = dir_ / "x.npy"},
                                {.input_name = "sr", .path = dir_ / "sr.npy", .layout = SampleLayout::kWhole},
                                {.input_name = "h", .path = dir_ / "h.npy", .layout = SampleLayout::kWhole}},
                               {.batch_size = 2});
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  EXPECT_EQ((*reader)->SampleCount(), kSamples);
  const auto batches = ReadAll(**reader);
  ASSERT_EQ(batches.size(), 3U) << "one sample a batch, whatever the batch size";
  for (size_t i = 0; i < batches.size(); ++i) {
    SCOPED_TRACE("sample " + std::to_string(i));
    const Feeds& feeds = batches[i];
    ASSERT_EQ(feeds.size(), 3U);
    EXPECT_EQ(SamplesIn(feeds), 1);
    const auto first = static_cast<float>(i);
    EXPECT_EQ(feeds[0].shape, (std::vector<int64_t>{1, 5}));
    EXPECT_TRUE(feeds[0].batch_axis);
    EXPECT_EQ(std::vector<float>(feeds[0].floats().begin(), feeds[0].floats().end()),
              (std::vector<float>{5 * first, 5 * first + 1, 5 * first + 2, 5 * first + 3, 5 * first + 4}));
    EXPECT_EQ(feeds[1].type, ElementType::kInt64);
    EXPECT_EQ(feeds[1].shape, std::vector<int64_t>{});
    EXPECT_FALSE(feeds[1].batch_axis);
    ASSERT_EQ(feeds[1].bytes.size(), sizeof(int64_t));
    int64_t rate = 0;
    std::memcpy(&rate, feeds[1].bytes.data(), sizeof(rate));
    EXPECT_EQ(rate, rates[i]);
    EXPECT_EQ(feeds[2].shape, (std::vector<int64_t>{2, 1, 3}));
    EXPECT_FALSE(feeds[2].batch_axis);
    EXPECT_EQ(std::vector<float>(feeds[2].floats().begin(), feeds[2].floats().end()),
              (std::vector<float>{-6 * first, -6 * first - 1, -6 * first - 2, -6 * first - 3, -6 * first - 4,
                                  -6 * first - 5}));
  }

  // Batch-axis inputs alone still stack: two batches of 2 and 1 samples.
  reader = OpenArrayFiles({{.input_name = "x", .path = dir_ / "x.npy"}}, {.batch_size = 2});
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  const auto stacked = ReadAll(**reader);
  ASSERT_EQ(stacked.size(), 2U);
  EXPECT_EQ(stacked[0][0].shape, (std::vector<int64_t>{2, 5}));
  EXPECT_EQ(SamplesIn(stacked[0]), 2);
  EXPECT_EQ(SamplesIn(stacked[1]), 1);
}

TEST_F(ArrayFileReaderTest, AFileOfAnotherRankThanTheRuleAllowsIsAnError) {
  ASSERT_TRUE(WriteNpy(dir_ / "h.npy", Tensor::FromFloats("h", {4, 6}, std::vector<float>(24, 0.0F))).ok());
  // [N, 6] fits an input of 2 axes (batch) or 1 axis (whole), not one of 3 axes nor a scalar.
  for (const size_t input_rank : {size_t{3}, size_t{0}}) {
    SCOPED_TRACE(input_rank);
    const auto layout = NpySampleLayout(dir_ / "h.npy", "h", input_rank);
    ASSERT_FALSE(layout.ok());
    const std::string message = layout.status().message();
    EXPECT_EQ(layout.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(message.find((dir_ / "h.npy").string()), std::string::npos) << message;
    EXPECT_NE(message.find("input 'h'"), std::string::npos) << message;
    EXPECT_NE(message.find("has 2 axes but the model input has " + std::to_string(input_rank)), std::string::npos)
        << message;
    EXPECT_NE(message.find(input_rank == 0 ? "one axis, [N]" : "one more"), std::string::npos) << message;
  }
  // A scalar input with a scalar file: no samples axis at all.
  Tensor scalar{"sr", ElementType::kInt64, {}, {}};
  scalar.bytes.resize(sizeof(int64_t));
  ASSERT_TRUE(WriteNpy(dir_ / "sr.npy", scalar).ok());
  const auto layout = NpySampleLayout(dir_ / "sr.npy", "sr", 0);
  ASSERT_FALSE(layout.ok());
  EXPECT_NE(layout.status().message().find("has 0 axes but the model input has 0"), std::string::npos)
      << layout.status().message();
  EXPECT_EQ(NpySampleLayout(dir_ / "missing.npy", "x", 1).status().code(), StatusCode::kNotFound);
}

TEST_F(ArrayFileReaderTest, BadArgumentsAreErrors) {
  const Status missing = OpenError({{"x", dir_ / "missing.npy"}});
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_NE(missing.message().find((dir_ / "missing.npy").string()), std::string::npos) << missing.message();

  EXPECT_EQ(OpenError({}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenError({{"input", CalibPath()}}, {.batch_size = 0}).code(), StatusCode::kInvalidArgument);
  const Status none = OpenError({{"input", CalibPath()}}, {.batch_size = 8, .max_samples = 0});
  EXPECT_NE(none.message().find("no samples"), std::string::npos) << none.message();
}

}  // namespace
}  // namespace onnxq
