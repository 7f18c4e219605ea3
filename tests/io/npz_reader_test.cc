// .npz samples: what numpy writes, the layout rules (batch axis, fed whole, leading samples axis),
// batches of consecutive samples of equal shapes, one-line errors naming the file and the member, and
// corrupt or hostile archives refused without a crash.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "io/npy_format.h"
#include "onnxq/data_reader.h"
#include "testing/npz_writer.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

namespace fs = std::filesystem;
using testing::ReadBytes;
using testing::TempDir;
using testing::WriteBytes;
using testing::WriteNpz;
using testing::ZipBytes;
using testing::ZipCompression;
using testing::ZipMember;

// numpy 1.24: numpy.savez(f, x=numpy.arange(6, dtype=numpy.float32).reshape(1, 2, 3) * 0.5 - 1,
// sr=numpy.int64(16000)). Its local headers carry a ZIP64 extra field (numpy forces one), its central
// directory does not.
constexpr const char* kNumpySavez =
    "504b030414000000000000002100addfe500980000009800000005001400782e6e707901001000980000000000000098000000000000"
    "00934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c202773"
    "68617065273a2028312c20322c2033292c207d2020202020202020202020202020202020202020202020202020202020202020202020"
    "20202020202020202020202020202020202020200a000080bf000000bf000000000000003f0000803f0000c03f504b03041400000000"
    "0000002100efea52cd88000000880000000600140073722e6e70790100100088000000000000008800000000000000934e554d505901"
    "0076007b276465736372273a20273c6938272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028"
    "292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020"
    "2020202020202020202020200a803e000000000000504b0102140314000000000000002100addfe50098000000980000000500000000"
    "00000000000000800100000000782e6e7079504b0102140314000000000000002100efea52cd88000000880000000600000000000000"
    "000000008001cf00000073722e6e7079504b05060000000002000200670000008f0100000000";

// The same arrays by numpy.savez_compressed (deflated members).
constexpr const char* kNumpySavezCompressed =
    "504b030414000000080000002100addfe5005a0000009800000005001400782e6e70790100100098000000000000005a000000000000"
    "009bec17ea1b10c9c850c650ad9e925a9c5ca46ea5a06e9366a2aea3a09e965f54529498179f5f94920a12774bcc294e058a17672416"
    "a402f91a863a0a463a0ac69a3a0ab50ae4012e068686fd0c0c0c200c02f6403e101fb00700504b030414000000080000002100efea52"
    "cd47000000880000000600140073722e6e707901001000880000000000000047000000000000009bec17ea1b10c9c850c650ad9e925a"
    "9c5ca46ea5a06e9369a1aea3a09e965f54529498179f5f94920a12774bcc294e058a17672416a402f91a9a3a0ab50a1401ae063b0630"
    "0000504b0102140314000000080000002100addfe5005a00000098000000050000000000000000000000800100000000782e6e707950"
    "4b0102140314000000080000002100efea52cd470000008800000006000000000000000000000080019100000073722e6e7079504b05"
    "06000000000200020067000000100100000000";

std::string FromHex(const std::string& hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return bytes;
}

std::vector<float> Floats(const Tensor& t) { return {t.floats().begin(), t.floats().end()}; }

int64_t Int64At(const Tensor& t, size_t i) {
  int64_t v = 0;
  std::memcpy(&v, t.bytes.data() + i * sizeof(v), sizeof(v));
  return v;
}

// A sequence sample x [k, length, 2] whose values tell the file and position: file * 100 + position.
Tensor Sequence(int file, int64_t samples, int64_t length) {
  std::vector<float> values(static_cast<size_t>(samples * length * 2));
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(file * 100 + static_cast<int>(i));
  return Tensor::FromFloats("x", {samples, length, 2}, values);
}

Tensor Int64Value(const std::string& name, std::vector<int64_t> shape, const std::vector<int64_t>& values) {
  return testing::Int64Tensor(name, std::move(shape), values);
}

void Patch16(std::string& bytes, size_t at, uint32_t value) {
  bytes[at] = static_cast<char>(value & 0xFFU);
  bytes[at + 1] = static_cast<char>((value >> 8U) & 0xFFU);
}

void Patch32(std::string& bytes, size_t at, uint32_t value) {
  Patch16(bytes, at, value & 0xFFFFU);
  Patch16(bytes, at + 2, value >> 16U);
}

// Where the central directory of a zip without comment starts (from its end record).
size_t DirectoryOffset(const std::string& zip) {
  const size_t end = zip.size() - 22;
  uint32_t offset = 0;
  for (int i = 3; i >= 0; --i)
    offset = (offset << 8U) | static_cast<unsigned char>(zip[end + 16 + static_cast<size_t>(i)]);
  return offset;
}

// A .npy file of version `major` whose header says `dict`, then `data`.
std::string Npy(int major, const std::string& dict, const std::string& data) {
  std::string file = "\x93NUMPY";
  file.push_back(static_cast<char>(major));
  file.push_back('\0');
  const size_t length_bytes = major == 1 ? 2 : 4;
  for (size_t i = 0; i < length_bytes; ++i) file.push_back(static_cast<char>((dict.size() >> (8 * i)) & 0xFFU));
  return file + dict + data;
}

bool SameFeeds(const std::vector<Feeds>& a, const std::vector<Feeds>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].size() != b[i].size()) return false;
    for (size_t k = 0; k < a[i].size(); ++k) {
      const Tensor& x = a[i][k];
      const Tensor& y = b[i][k];
      if (x.name != y.name || x.type != y.type || x.shape != y.shape || x.bytes != y.bytes) return false;
    }
  }
  return true;
}

// x [N,T,2] float: a dynamic sequence axis.
std::vector<ModelInputSpec> SequenceInput() {
  return {{.name = "x", .type = ElementType::kFloat, .has_shape = true, .shape = {-1, -1, 2}}};
}

// Silero VAD's kinds: X [N,4] with a batch axis, a scalar int64 sr, a state S [2,N,3].
std::vector<ModelInputSpec> StatefulInputs() {
  return {{.name = "X", .type = ElementType::kFloat, .has_shape = true, .shape = {-1, 4}},
          {.name = "sr", .type = ElementType::kInt64, .has_shape = true, .shape = {}},
          {.name = "S", .type = ElementType::kFloat, .has_shape = true, .shape = {2, -1, 3}}};
}

// Drains the reader, returning the batches (an error fails the test).
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

// Opens and drains `files`; the first error of either step, or Ok with the batches in `batches`.
Status OpenAndRead(const std::vector<fs::path>& files, const std::vector<ModelInputSpec>& inputs,
                   std::vector<Feeds>* batches = nullptr) {
  auto reader = OpenNpzFiles(files, inputs, {.batch_size = 4});
  if (!reader.ok()) return reader.status();
  for (;;) {
    auto next = (*reader)->GetNext();
    if (!next.ok()) return next.status();
    if (!next->has_value()) return Status::Ok();
    if (batches != nullptr) batches->push_back(std::move(**next));
  }
}

class NpzReaderTest : public ::testing::TestWithParam<ZipCompression> {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string("npz_reader-") + info->name();
    std::replace(name.begin(), name.end(), '/', '-');
    dir_ = TempDir(name);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path Write(const std::string& name, const Feeds& arrays) const {
    const fs::path path = dir_ / name;
    WriteNpz(path, arrays, GetParam());
    return path;
  }

  // The error of reading `files`, which must fail with one line that names `path`.
  static Status ReadError(const std::vector<fs::path>& files, const std::vector<ModelInputSpec>& inputs,
                          const fs::path& path) {
    const Status status = OpenAndRead(files, inputs);
    EXPECT_FALSE(status.ok());
    EXPECT_EQ(status.message().find('\n'), std::string::npos) << "one line: " << status.message();
    EXPECT_NE(status.message().find("'" + path.string() + "'"), std::string::npos) << status.message();
    return status;
  }

  fs::path dir_;
};

TEST(NpzNumpyFilesTest, ReadsWhatNumpyWrites) {
  const fs::path dir = TempDir("npz_reader-numpy");
  for (const auto& [name, hex] : {std::pair<const char*, const char*>{"savez.npz", kNumpySavez},
                                  {"savez_compressed.npz", kNumpySavezCompressed}}) {
    SCOPED_TRACE(name);
    WriteBytes(dir / name, FromHex(hex));
    const std::vector<ModelInputSpec> inputs = {
        {.name = "x", .type = ElementType::kFloat, .has_shape = true, .shape = {-1, 2, 3}},
        {.name = "sr", .type = ElementType::kInt64, .has_shape = true, .shape = {}}};
    auto reader = OpenNpzFiles({dir / name}, inputs, {.batch_size = 16});
    ASSERT_TRUE(reader.ok()) << reader.status().message();
    EXPECT_EQ((*reader)->SampleCount(), 1);
    const auto batches = ReadAll(**reader);
    ASSERT_EQ(batches.size(), 1U);
    const Feeds& feeds = batches[0];
    ASSERT_EQ(feeds.size(), 2U);
    EXPECT_EQ(feeds[0].name, "x");
    EXPECT_EQ(feeds[0].shape, (std::vector<int64_t>{1, 2, 3}));
    EXPECT_TRUE(feeds[0].batch_axis);
    EXPECT_EQ(Floats(feeds[0]), (std::vector<float>{-1.0F, -0.5F, 0.0F, 0.5F, 1.0F, 1.5F}));
    EXPECT_EQ(feeds[1].name, "sr");
    EXPECT_EQ(feeds[1].type, ElementType::kInt64);
    EXPECT_EQ(feeds[1].shape, std::vector<int64_t>{});
    EXPECT_FALSE(feeds[1].batch_axis);
    ASSERT_EQ(feeds[1].bytes.size(), 8U);
    EXPECT_EQ(Int64At(feeds[1], 0), 16000);
  }
  fs::remove_all(dir);
}

TEST_P(NpzReaderTest, StacksConsecutiveSamplesOfEqualShapes) {
  // Lengths 3, 3, 3, 5, 5, 3, 7, one sample a file: a batch ends at a new length or at the batch size.
  const std::vector<int64_t> lengths = {3, 3, 3, 5, 5, 3, 7};
  std::vector<fs::path> files;
  std::vector<Tensor> samples;
  for (size_t f = 0; f < lengths.size(); ++f) {
    samples.push_back(Sequence(static_cast<int>(f), 1, lengths[f]));
    files.push_back(Write("s" + std::to_string(f) + ".npz", {samples.back()}));
  }
  const struct {
    int64_t batch_size;
    std::vector<std::vector<size_t>> batches;  // the files of each batch
  } cases[] = {{2, {{0, 1}, {2}, {3, 4}, {5}, {6}}},
               {4, {{0, 1, 2}, {3, 4}, {5}, {6}}},
               {1, {{0}, {1}, {2}, {3}, {4}, {5}, {6}}}};
  for (const auto& c : cases) {
    SCOPED_TRACE("batch size " + std::to_string(c.batch_size));
    auto reader = OpenNpzFiles(files, SequenceInput(), {.batch_size = c.batch_size});
    ASSERT_TRUE(reader.ok()) << reader.status().message();
    EXPECT_EQ((*reader)->SampleCount(), 7);
    const auto batches = ReadAll(**reader);
    ASSERT_EQ(batches.size(), c.batches.size());
    for (size_t b = 0; b < batches.size(); ++b) {
      const auto& members = c.batches[b];
      const Tensor& t = batches[b][0];
      EXPECT_TRUE(t.batch_axis);
      EXPECT_EQ(t.shape, (std::vector<int64_t>{static_cast<int64_t>(members.size()), lengths[members[0]], 2}))
          << "batch " << b;
      std::vector<float> expected;
      for (const size_t f : members)
        expected.insert(expected.end(), samples[f].floats().begin(), samples[f].floats().end());
      EXPECT_EQ(Floats(t), expected) << "batch " << b;
    }
    // Rewind starts over.
    ASSERT_TRUE((*reader)->Rewind().ok());
    EXPECT_EQ(ReadAll(**reader).size(), c.batches.size());
  }

  // At most 4 samples: the first 4 files, read no further.
  WriteBytes(dir_ / "zz_broken.npz", "not a zip file");
  files.push_back(dir_ / "zz_broken.npz");
  auto reader = OpenNpzFiles(files, SequenceInput(), {.batch_size = 4, .max_samples = 4});
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  EXPECT_EQ((*reader)->SampleCount(), 4);
  const auto batches = ReadAll(**reader);
  ASSERT_EQ(batches.size(), 2U);
  EXPECT_EQ(batches[0][0].shape, (std::vector<int64_t>{3, 3, 2}));
  EXPECT_EQ(batches[1][0].shape, (std::vector<int64_t>{1, 5, 2}));
}

TEST_P(NpzReaderTest, AFileMayHoldSeveralSamplesAlongTheBatchAxis) {
  // s0: one sample, s1: three, s2: one, all of length 4: batches of 2 cut across the files.
  const std::vector<fs::path> files = {Write("s0.npz", {Sequence(0, 1, 4)}), Write("s1.npz", {Sequence(1, 3, 4)}),
                                       Write("s2.npz", {Sequence(2, 1, 4)})};
  auto reader = OpenNpzFiles(files, SequenceInput(), {.batch_size = 2});
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  EXPECT_EQ((*reader)->SampleCount(), 5);
  const auto batches = ReadAll(**reader);
  ASSERT_EQ(batches.size(), 3U);
  const auto values = [](int file, int first, int count) {
    std::vector<float> v;
    for (int i = first * 8; i < (first + count) * 8; ++i) v.push_back(static_cast<float>(file * 100 + i));
    return v;
  };
  std::vector<float> first = values(0, 0, 1);
  const auto second = values(1, 0, 1);
  first.insert(first.end(), second.begin(), second.end());
  EXPECT_EQ(Floats(batches[0][0]), first);
  EXPECT_EQ(Floats(batches[1][0]), values(1, 1, 2));
  EXPECT_EQ(Floats(batches[2][0]), values(2, 0, 1));
  for (const auto& batch : batches) EXPECT_EQ(batch[0].shape[1], 4);
  EXPECT_EQ(batches[1][0].shape[0], 2);
}

TEST_P(NpzReaderTest, ScalarsAndStatesAreFedWholeOneSampleABatch) {
  // a: one sample as the model takes it (X [1,4], sr (), S [2,1,3]). b: two samples along a leading
  // axis (X [2,4] on its batch axis, sr [2], S [2,2,1,3]), each fed whole.
  std::vector<float> state(12);
  for (size_t i = 0; i < state.size(); ++i) state[i] = -static_cast<float>(i);
  const fs::path a =
      Write("a.npz", {Tensor::FromFloats("X", {1, 4}, std::vector<float>{1, 2, 3, 4}), Int64Value("sr", {}, {16000}),
                      Tensor::FromFloats("S", {2, 1, 3}, std::span<const float>(state).first(6))});
  const fs::path b =
      Write("b.npz", {Tensor::FromFloats("X", {2, 4}, std::vector<float>{5, 6, 7, 8, 9, 10, 11, 12}),
                      Int64Value("sr", {2}, {8000, 16000}), Tensor::FromFloats("S", {2, 2, 1, 3}, state)});
  auto reader = OpenNpzFiles({a, b}, StatefulInputs(), {.batch_size = 16});
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  EXPECT_EQ((*reader)->SampleCount(), 3);
  const auto batches = ReadAll(**reader);
  ASSERT_EQ(batches.size(), 3U);
  const std::vector<std::vector<float>> xs = {{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}};
  const std::vector<int64_t> rates = {16000, 8000, 16000};
  const std::vector<std::vector<float>> states = {
      {0, -1, -2, -3, -4, -5}, {0, -1, -2, -3, -4, -5}, {-6, -7, -8, -9, -10, -11}};
  for (size_t i = 0; i < batches.size(); ++i) {
    SCOPED_TRACE("sample " + std::to_string(i));
    const Feeds& feeds = batches[i];
    ASSERT_EQ(feeds.size(), 3U);
    EXPECT_EQ(SamplesIn(feeds), 1);
    EXPECT_EQ(feeds[0].shape, (std::vector<int64_t>{1, 4}));
    EXPECT_TRUE(feeds[0].batch_axis);
    EXPECT_EQ(Floats(feeds[0]), xs[i]);
    EXPECT_EQ(feeds[1].shape, std::vector<int64_t>{});
    EXPECT_FALSE(feeds[1].batch_axis);
    EXPECT_EQ(Int64At(feeds[1], 0), rates[i]);
    EXPECT_EQ(feeds[2].shape, (std::vector<int64_t>{2, 1, 3}));
    EXPECT_FALSE(feeds[2].batch_axis);
    EXPECT_EQ(Floats(feeds[2]), states[i]);
  }
}

TEST(FirstAxisIsBatchTest, SymbolicOrOneWithEveryOtherAxisFixed) {
  const auto input = [](std::vector<int64_t> shape) {
    return ModelInputSpec{.name = "x", .has_shape = true, .shape = std::move(shape)};
  };
  EXPECT_TRUE(FirstAxisIsBatch(input({-1, 3, 224, 224})));
  EXPECT_TRUE(FirstAxisIsBatch(input({-1, -1, 80})));
  EXPECT_TRUE(FirstAxisIsBatch(input({1, 3, 224, 224})));
  EXPECT_TRUE(FirstAxisIsBatch(input({-1})));
  EXPECT_FALSE(FirstAxisIsBatch(input({})));                    // a scalar
  EXPECT_FALSE(FirstAxisIsBatch(input({2, -1, 64})));           // a state
  EXPECT_FALSE(FirstAxisIsBatch(input({1, -1, 64})));           // a state of one layer
  EXPECT_FALSE(FirstAxisIsBatch(input({1, -1, 80})));           // a sequence of a fixed batch of 1
  EXPECT_FALSE(FirstAxisIsBatch(input({8, 3, 32, 32})));        // a fixed batch of 8
  EXPECT_FALSE(FirstAxisIsBatch(ModelInputSpec{.name = "x"}));  // rank unknown
}

TEST_P(NpzReaderTest, MembersThatDoNotFitTheModelAreErrorsNamingFileAndMember) {
  const Tensor x = Tensor::FromFloats("X", {1, 4}, std::vector<float>{1, 2, 3, 4});
  const Tensor sr = Int64Value("sr", {}, {16000});
  const Tensor s = Tensor::FromFloats("S", {2, 1, 3}, std::vector<float>(6, 0.5F));
  const Tensor sr32{"sr", ElementType::kInt32, {}, std::vector<std::byte>(4)};
  const struct {
    const char* file;
    Feeds arrays;
    std::vector<std::string> mentions;
  } cases[] = {
      {"missing.npz", {x, s}, {"no member 'sr.npy' for model input 'sr'", "'X', 'sr', 'S'"}},
      {"extra.npz",
       {x, sr, s, Tensor::FromFloats("y", {1}, std::vector<float>{0})},
       {"member 'y.npy'", "names no model input", "'X', 'sr', 'S'"}},
      {"dtype.npz", {x, sr32, s}, {"member 'sr.npy' is int32 but model input 'sr' takes int64", ".astype('int64')"}},
      {"rank.npz",
       {Tensor::FromFloats("X", {1, 1, 1, 4}, std::vector<float>{1, 2, 3, 4}), sr, s},
       {"member 'X.npy' has 4 axes [1,1,1,4] but model input 'X' has 2 [?,4]", "(2 axes)", "(3 axes)"}},
      {"fixed.npz",
       {Tensor::FromFloats("X", {1, 5}, std::vector<float>(5, 0.0F)), sr, s},
       {"member 'X.npy' has shape [1,5] but model input 'X' is [?,4]", "dimension of 4 is fixed"}},
      {"state.npz",
       {x, sr, Tensor::FromFloats("S", {3, 1, 3}, std::vector<float>(9, 0.0F))},
       {"member 'S.npy' has shape [3,1,3] but model input 'S' is [2,?,3]"}},
      {"count.npz",
       {Tensor::FromFloats("X", {2, 4}, std::vector<float>(8, 0.0F)), sr, s},
       {"holds 1 samples in member 'sr.npy' but 2 in member 'X.npy'", "leading axis"}},
      {"empty.npz",
       {Tensor::FromFloats("X", {0, 4}, std::vector<float>{}), sr, s},
       {"member 'X.npy' has shape [0,4] and holds no samples"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    const fs::path path = Write(c.file, c.arrays);
    const Status status = ReadError({path}, StatefulInputs(), path);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.message();
    for (const auto& m : c.mentions)
      EXPECT_NE(status.message().find(m), std::string::npos) << m << " in: " << status.message();
  }

  // A dtype onnxq does not read at all: float64 (numpy's default).
  const fs::path f8 = dir_ / "f8.npz";
  WriteBytes(
      f8, ZipBytes(
              {{"X.npy", Npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 4), }\n", std::string(32, '\0')),
                GetParam()}}));
  const Status status = ReadError({f8}, {StatefulInputs()[0]}, f8);
  EXPECT_EQ(status.code(), StatusCode::kUnsupported);
  EXPECT_NE(status.message().find("member 'X.npy' has numpy dtype '<f8'"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("astype"), std::string::npos) << status.message();

  // Twice the same member.
  const fs::path twice = dir_ / "twice.npz";
  const std::string x_npy = EncodeNpy(x);
  WriteBytes(twice, ZipBytes({{"X.npy", x_npy, GetParam()}, {"X.npy", x_npy, GetParam()}}));
  EXPECT_NE(ReadError({twice}, {StatefulInputs()[0]}, twice).message().find("holds member 'X.npy' twice"),
            std::string::npos);
}

// A valid file, cut at every length and with every byte changed three ways: each read fails with one
// line naming the file, or, when the change touched nothing that matters (a date, a version, the
// local copy of a name), gives the original values. Never a crash, never other values.
TEST_P(NpzReaderTest, EveryTruncationAndByteChangeIsAnErrorOrChangesNothing) {
  std::vector<float> state(6);
  for (size_t i = 0; i < state.size(); ++i) state[i] = 0.25F * static_cast<float>(i) - 0.5F;
  const fs::path good = Write("good.npz", {Tensor::FromFloats("X", {1, 4}, std::vector<float>{1, -2, 3, -4}),
                                           Int64Value("sr", {}, {16000}), Tensor::FromFloats("S", {2, 1, 3}, state)});
  std::vector<Feeds> expected;
  ASSERT_TRUE(OpenAndRead({good}, StatefulInputs(), &expected).ok());
  const std::string bytes = ReadBytes(good);
  // Each variant in a new file: rewriting one file in place makes the file system flush it each time.
  int variant = 0;
  const auto write_variant = [&](const std::string& content) {
    const fs::path path = dir_ / ("bad" + std::to_string(variant++) + ".npz");
    WriteBytes(path, content);
    return path;
  };
  for (size_t n = 0; n < bytes.size(); ++n) {
    const fs::path bad = write_variant(bytes.substr(0, n));
    const Status status = OpenAndRead({bad}, StatefulInputs());
    ASSERT_FALSE(status.ok()) << "cut at " << n;
    ASSERT_NE(status.message().find("'" + bad.string() + "'"), std::string::npos) << status.message();
    ASSERT_EQ(status.message().find('\n'), std::string::npos) << status.message();
    fs::remove(bad);
  }
  int harmless = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (const unsigned flip : {0x01U, 0x80U, 0xFFU}) {
      std::string changed = bytes;
      changed[i] = static_cast<char>(static_cast<unsigned char>(changed[i]) ^ flip);
      const fs::path bad = write_variant(changed);
      std::vector<Feeds> batches;
      const Status status = OpenAndRead({bad}, StatefulInputs(), &batches);
      if (status.ok()) {
        ASSERT_TRUE(SameFeeds(batches, expected)) << "byte " << i << " ^ " << flip << " gave other values";
        ++harmless;
      } else {
        ASSERT_NE(status.message().find("'" + bad.string() + "'"), std::string::npos) << status.message();
        ASSERT_EQ(status.message().find('\n'), std::string::npos) << status.message();
      }
      fs::remove(bad);
    }
  }
  // Dates, versions, local copies of names and sizes, attributes: some changes are harmless.
  EXPECT_GT(harmless, 0);
}

TEST(NpzCorruptTest, HostileHeadersAreRefusedBeforeAnyAllocation) {
  const fs::path dir = TempDir("npz_reader-hostile");
  const std::vector<ModelInputSpec> inputs = SequenceInput();
  const std::string x_npy = EncodeNpy(Sequence(0, 1, 3));
  const auto error_of = [&](const std::string& file, const std::string& bytes) {
    WriteBytes(dir / file, bytes);
    const Status status = OpenAndRead({dir / file}, inputs);
    EXPECT_FALSE(status.ok()) << file;
    EXPECT_NE(status.message().find("'" + (dir / file).string() + "'"), std::string::npos) << status.message();
    EXPECT_EQ(status.message().find('\n'), std::string::npos) << status.message();
    return status;
  };
  const auto expect_error = [&](const std::string& file, const std::string& bytes, StatusCode code,
                                const std::string& mention) {
    SCOPED_TRACE(file);
    const Status status = error_of(file, bytes);
    EXPECT_EQ(status.code(), code) << status.message();
    EXPECT_NE(status.message().find(mention), std::string::npos) << status.message();
  };

  const std::string stored = ZipBytes({{"x.npy", x_npy}});
  const std::string deflated = ZipBytes({{"x.npy", x_npy, ZipCompression::kDeflate}});
  const size_t directory = DirectoryOffset(stored);
  const size_t end = stored.size() - 22;

  expect_error("text.npz", "not a zip archive at all, but long enough to hold an end record",
               StatusCode::kInvalidArgument,
               "is not a readable zip archive: it has no end of central directory record");
  expect_error("tiny.npz", "PK", StatusCode::kInvalidArgument, "it holds 2 bytes");

  std::string zip64 = stored;
  Patch16(zip64, end + 8, 0xFFFF);
  Patch16(zip64, end + 10, 0xFFFF);
  expect_error("zip64.npz", zip64, StatusCode::kUnsupported, "ZIP64");
  zip64 = stored;
  Patch32(zip64, directory + 24, 0xFFFFFFFF);
  expect_error("zip64_member.npz", zip64, StatusCode::kUnsupported, "ZIP64");

  std::string outside = stored;
  Patch32(outside, end + 16, 0x7FFFFFF0);
  expect_error("outside.npz", outside, StatusCode::kInvalidArgument, "central directory lies outside the file");
  outside = stored;
  Patch32(outside, directory + 42, static_cast<uint32_t>(directory));  // local header inside the directory
  expect_error("local.npz", outside, StatusCode::kInvalidArgument, "has no local header where the directory puts it");

  std::string encrypted = stored;
  Patch16(encrypted, directory + 8, 1);
  expect_error("encrypted.npz", encrypted, StatusCode::kUnsupported, "member 'x.npy' is encrypted");
  std::string bzip2 = stored;
  Patch16(bzip2, directory + 10, 12);
  expect_error("bzip2.npz", bzip2, StatusCode::kUnsupported, "zip method 12");

  // A deflated member claiming 2 GB: refused from its sizes, nothing allocated.
  std::string claims = deflated;
  const size_t deflated_directory = DirectoryOffset(deflated);
  Patch32(claims, deflated_directory + 24, 0x7FFFFFFF);
  expect_error("claims.npz", claims, StatusCode::kInvalidArgument, "more than deflate can produce");
  // Deflate data that is not deflate data: sizes and CRC as before.
  std::string garbage = deflated;
  for (size_t i = 40; i < 60; ++i) garbage[i] = static_cast<char>(0xFF);
  // (zlib may inflate it to other bytes, which then fail as .npy or against the CRC-32).
  EXPECT_NE(error_of("garbage.npz", garbage).message().find("member 'x.npy'"), std::string::npos);

  // .npy headers: a 4 GB header length, a header longer than its member, a shape of 4 TB over 24 bytes.
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 2), }\n";
  std::string huge_header = Npy(2, dict, std::string(24, '\0'));
  Patch32(huge_header, 8, 0xFFFFFFF0);
  expect_error("header4g.npz", ZipBytes({{"x.npy", huge_header}}), StatusCode::kInvalidArgument,
               "member 'x.npy' has a .npy header of 4294967292 bytes, more than the 1048576 onnxq reads");
  std::string long_header = Npy(1, dict, std::string(24, '\0'));
  Patch16(long_header, 8, 60000);
  expect_error("header60k.npz", ZipBytes({{"x.npy", long_header}}), StatusCode::kInvalidArgument,
               "member 'x.npy' has a truncated .npy header");
  expect_error(
      "shape.npz",
      ZipBytes({{"x.npy", Npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1000000000000, 2), }\n",
                              std::string(24, '\0'))}}),
      StatusCode::kInvalidArgument, "holds 24 bytes of data, not what its shape [1,1000000000000,2] needs");
  expect_error(
      "overflow.npz",
      ZipBytes({{"x.npy", Npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4294967296, 4294967296), }\n",
                              std::string(24, '\0'))}}),
      StatusCode::kInvalidArgument, "not what its shape");
  // A version 1.0 header of 10 or 11 bytes, shorter than the 12 read first: the second read of the header
  // asked for a negative count (found by the read_npz_fuzzer, an overflow inside inflate).
  for (const uint32_t length : {0U, 1U}) {
    std::string short_header = Npy(1, dict, std::string(24, '\0'));
    Patch16(short_header, 8, length);
    for (const auto compression : {ZipCompression::kStored, ZipCompression::kDeflate}) {
      expect_error("short" + std::to_string(length) + ".npz", ZipBytes({{"x.npy", short_header, compression}}),
                   StatusCode::kInvalidArgument,
                   "member 'x.npy' has a .npy header of " + std::to_string(10 + length) +
                       " bytes, too short for its dictionary");
    }
  }
  // 10^12 samples of no values: nothing bounds the count (found by reading .npy files the same way).
  expect_error(
      "empty.npz",
      ZipBytes({{"x.npy", Npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 0, 2), }\n", "")}}),
      StatusCode::kInvalidArgument, "holds no values");
  expect_error("badmagic.npz", ZipBytes({{"x.npy", "just text, not numpy"}}), StatusCode::kInvalidArgument,
               "member 'x.npy' is not a .npy file (bad magic)");
  expect_error("negative.npz",
               ZipBytes({{"x.npy", Npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, -3, 2), }\n",
                                       std::string(24, '\0'))}}),
               StatusCode::kInvalidArgument, "dimension '-3' that is not a whole number");
  fs::remove_all(dir);
}

TEST(NpzFilesInTest, ListsTheNpzFilesByName) {
  const fs::path dir = TempDir("npz_reader-listing");
  for (const char* name : {"b.npz", "a10.npz", "a2.npz", "labels.npy", "notes.txt"}) WriteBytes(dir / name, "");
  fs::create_directory(dir / "sub.npz");
  auto files = NpzFilesIn(dir);
  ASSERT_TRUE(files.ok()) << files.status().message();
  EXPECT_EQ(*files, (std::vector<fs::path>{dir / "a10.npz", dir / "a2.npz", dir / "b.npz"}));
  EXPECT_EQ(NpzFilesIn(dir / "missing").status().code(), StatusCode::kNotFound);
  fs::remove_all(dir);

  EXPECT_EQ(OpenNpzFiles({}, SequenceInput(), {}).status().code(), StatusCode::kInvalidArgument);
  const Status missing = OpenNpzFiles({dir / "missing.npz"}, SequenceInput(), {}).status();
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_NE(missing.message().find((dir / "missing.npz").string()), std::string::npos) << missing.message();
}

INSTANTIATE_TEST_SUITE_P(Compression, NpzReaderTest,
                         ::testing::Values(ZipCompression::kStored, ZipCompression::kDeflate),
                         [](const ::testing::TestParamInfo<ZipCompression>& param) {
                           return param.param == ZipCompression::kStored ? "Stored" : "Deflated";
                         });

}  // namespace
}  // namespace onnxq
