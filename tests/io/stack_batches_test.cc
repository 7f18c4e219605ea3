// StackBatches: single samples stacked into batches along axis 0, in order, never across shapes.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "onnxq/data_reader.h"
#include "testing/vector_reader.h"

namespace onnxq {
namespace {

using testing::VectorReader;
using testing::VectorReaderOptions;

// One batch of input "x": `samples` samples of `width` values, sample s holding first + s.
Feeds Batch(int64_t samples, int64_t width, float first) {
  std::vector<float> values;
  for (int64_t s = 0; s < samples; ++s) values.insert(values.end(), width, first + static_cast<float>(s));
  return {Tensor::FromFloats("x", {samples, width}, values)};
}

// Every batch the reader hands out, as (shape of x, first value of each sample).
struct Seen {
  std::vector<int64_t> shape;
  std::vector<float> firsts;
};
std::vector<Seen> ReadAll(CalibrationDataReader& reader) {
  std::vector<Seen> seen;
  while (true) {
    auto next = reader.GetNext();
    EXPECT_TRUE(next.ok()) << next.status().message();
    if (!next.ok() || !*next) return seen;
    const Tensor& x = (**next)[0];
    Seen s{.shape = x.shape};
    const int64_t width = x.element_count() / x.shape[0];
    for (int64_t i = 0; i < x.shape[0]; ++i) s.firsts.push_back(x.floats()[static_cast<size_t>(i * width)]);
    seen.push_back(s);
  }
}

std::unique_ptr<CalibrationDataReader> Over(std::vector<Feeds> batches, VectorReaderOptions options = {}) {
  return std::make_unique<VectorReader>(std::move(batches), options);
}

TEST(StackBatchesTest, SingleSamplesStackInOrderAndTheLastBatchHoldsTheRest) {
  std::vector<Feeds> batches;
  for (int i = 0; i < 7; ++i) batches.push_back(Batch(1, 3, static_cast<float>(i)));
  auto reader = StackBatches(Over(std::move(batches)), 3);
  const auto seen = ReadAll(*reader);
  ASSERT_EQ(seen.size(), 3U);
  EXPECT_EQ(seen[0].shape, (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(seen[0].firsts, (std::vector<float>{0, 1, 2}));
  EXPECT_EQ(seen[1].firsts, (std::vector<float>{3, 4, 5}));
  EXPECT_EQ(seen[2].shape, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(seen[2].firsts, (std::vector<float>{6}));
}

TEST(StackBatchesTest, AnotherShapeClosesTheStackAndStartsTheNext) {
  std::vector<Feeds> batches = {Batch(1, 3, 0), Batch(1, 3, 1), Batch(1, 4, 2), Batch(1, 4, 3), Batch(1, 3, 4)};
  auto reader = StackBatches(Over(std::move(batches)), 8);
  const auto seen = ReadAll(*reader);
  ASSERT_EQ(seen.size(), 3U);
  EXPECT_EQ(seen[0].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(seen[1].shape, (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(seen[1].firsts, (std::vector<float>{2, 3}));
  EXPECT_EQ(seen[2].shape, (std::vector<int64_t>{1, 3}));
}

TEST(StackBatchesTest, BatchesAreNeverCutAndNeverOverfill) {
  // 2 + 2 fit in 5; the next 2 would make 6, so it starts the next batch; 6 passes whole.
  std::vector<Feeds> batches = {Batch(2, 1, 0), Batch(2, 1, 2), Batch(2, 1, 4), Batch(6, 1, 6)};
  auto reader = StackBatches(Over(std::move(batches)), 5);
  const auto seen = ReadAll(*reader);
  ASSERT_EQ(seen.size(), 3U);
  EXPECT_EQ(seen[0].shape[0], 4);
  EXPECT_EQ(seen[1].shape[0], 2);
  EXPECT_EQ(seen[2].shape[0], 6);
  EXPECT_EQ(seen[2].firsts.front(), 6);
}

TEST(StackBatchesTest, ATensorFedWholeIsNeverStacked) {
  std::vector<Feeds> batches = {Batch(1, 2, 0), Batch(1, 2, 1), Batch(1, 2, 2)};
  batches[1][0].batch_axis = false;
  auto reader = StackBatches(Over(std::move(batches)), 4);
  const auto seen = ReadAll(*reader);
  ASSERT_EQ(seen.size(), 3U);
  for (const auto& s : seen) EXPECT_EQ(s.shape[0], 1);
}

TEST(StackBatchesTest, ReaderErrorsPassThroughAndRewindStartsAgain) {
  std::vector<Feeds> batches = {Batch(1, 2, 0), Batch(1, 2, 1), Batch(1, 2, 2)};
  auto failing = StackBatches(Over(batches, {.failing_batch = 1}), 4);
  const auto next = failing->GetNext();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), StatusCode::kIoError);

  auto reader = StackBatches(Over(std::move(batches), {.tells_sample_count = true}), 2);
  EXPECT_EQ(reader->SampleCount(), 3);
  EXPECT_EQ(ReadAll(*reader).size(), 2U);
  ASSERT_TRUE(reader->Rewind().ok());
  const auto again = ReadAll(*reader);
  ASSERT_EQ(again.size(), 2U);
  EXPECT_EQ(again[0].firsts, (std::vector<float>{0, 1}));
}

TEST(StackBatchesTest, ABatchSizeOfOneHandsOutTheReadersBatches) {
  std::vector<Feeds> batches = {Batch(1, 2, 0), Batch(1, 2, 1)};
  auto reader = StackBatches(Over(std::move(batches)), 1);
  EXPECT_EQ(ReadAll(*reader).size(), 2U);
}

}  // namespace
}  // namespace onnxq
