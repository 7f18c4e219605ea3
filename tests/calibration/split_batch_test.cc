// Splitting a batch along axis 0: into a model's fixed batch, and into runs of at most n samples.
#include "calibration/split_batch.h"

#include <gtest/gtest.h>

#include <cstddef>

namespace onnxq {
namespace {

// Samples of 2 values: sample i holds 10 i and 10 i + 1.
Feeds Samples(int n) {
  std::vector<float> values;
  for (int i = 0; i < n; ++i) {
    values.push_back(10.0F * static_cast<float>(i));
    values.push_back(10.0F * static_cast<float>(i) + 1.0F);
  }
  return {Tensor::FromFloats("x", {n, 2}, values)};
}

std::vector<float> Values(const Feeds& feeds) {
  const auto floats = feeds[0].floats();
  return {floats.begin(), floats.end()};
}

TEST(SplitBatchTest, CutsIntoTheFixedBatch) {
  auto pieces = SplitBatch(Samples(4), 2);
  ASSERT_TRUE(pieces.ok());
  ASSERT_EQ(pieces->size(), 2U);
  EXPECT_EQ((*pieces)[1][0].shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(Values((*pieces)[1]), (std::vector<float>{20, 21, 30, 31}));
}

TEST(SplitBatchTest, RefusesABatchThatDoesNotDivide) {
  const auto pieces = SplitBatch(Samples(5), 2);
  ASSERT_FALSE(pieces.ok());
  EXPECT_NE(pieces.status().message().find("cannot be split"), std::string::npos);
}

TEST(SplitBatchAtMostTest, LastRunHoldsTheRemainder) {
  const auto pieces = SplitBatchAtMost(Samples(5), 2);
  ASSERT_EQ(pieces.size(), 3U);
  EXPECT_EQ(pieces[0][0].shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(pieces[2][0].shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(Values(pieces[0]), (std::vector<float>{0, 1, 10, 11}));
  EXPECT_EQ(Values(pieces[2]), (std::vector<float>{40, 41}));
}

TEST(SplitBatchAtMostTest, SmallBatchesStayWhole) {
  EXPECT_EQ(SplitBatchAtMost(Samples(2), 4).size(), 1U);
  EXPECT_EQ(SplitBatchAtMost(Samples(3), 0).size(), 1U);
  EXPECT_EQ(Values(SplitBatchAtMost(Samples(3), 3)[0]).size(), 6U);
}

// Batch-axis samples beside a scalar and a state fed whole, as Silero VAD takes them.
Feeds WithWholeTensors(int n) {
  Feeds feeds = Samples(n);
  Tensor sr{.name = "sr",
            .type = ElementType::kInt64,
            .shape = {},
            .bytes = std::vector<std::byte>(sizeof(int64_t)),
            .batch_axis = false};
  Tensor state = Tensor::FromFloats("h", {2, n, 3}, std::vector<float>(static_cast<size_t>(6 * n), 0.5F));
  state.batch_axis = false;
  feeds.push_back(std::move(sr));
  feeds.push_back(std::move(state));
  return feeds;
}

TEST(SplitBatchTest, NeverCutsAFeedWithAWholeTensor) {
  // One sample with its whole state: not cut to fit a fixed batch it cannot divide.
  auto one = SplitBatch(WithWholeTensors(1), 2);
  ASSERT_TRUE(one.ok()) << one.status().message();
  ASSERT_EQ(one->size(), 1U);
  EXPECT_EQ(SamplesIn((*one)[0]), 1);
  // Four samples run together with a state of batch 4: kept together, every tensor untouched.
  const Feeds four = WithWholeTensors(4);
  EXPECT_EQ(SamplesIn(four), 4);
  auto pieces = SplitBatch(four, 1);
  ASSERT_TRUE(pieces.ok()) << pieces.status().message();
  ASSERT_EQ(pieces->size(), 1U);
  ASSERT_EQ((*pieces)[0].size(), 3U);
  EXPECT_EQ((*pieces)[0][0].shape, (std::vector<int64_t>{4, 2}));
  EXPECT_EQ(Values((*pieces)[0]), Values(four));
  EXPECT_EQ((*pieces)[0][1].shape, std::vector<int64_t>{});
  EXPECT_EQ((*pieces)[0][2].shape, (std::vector<int64_t>{2, 4, 3}));
  EXPECT_FALSE((*pieces)[0][2].batch_axis);
  const auto runs = SplitBatchAtMost(WithWholeTensors(4), 1);
  ASSERT_EQ(runs.size(), 1U);
  EXPECT_EQ(runs[0][2].shape, (std::vector<int64_t>{2, 4, 3}));
}

TEST(SamplesInTest, CountsAxisZeroOfTheFirstTensorWithABatchAxis) {
  // The whole tensors come first: their axis 0 (2) is not a sample count.
  Tensor state = Tensor::FromFloats("h", {2, 1, 3}, std::vector<float>(6, 0.0F));
  state.batch_axis = false;
  EXPECT_EQ(SamplesIn({state, Samples(5)[0]}), 5);
  EXPECT_EQ(SamplesIn({state}), 1);
  EXPECT_EQ(SamplesIn({}), 1);
  EXPECT_EQ(SamplesIn(Samples(3)), 3);
}

// Batch-axis feeds of several tensors are cut together, as before.
TEST(SplitBatchAtMostTest, CutsEveryBatchAxisTensorAlike) {
  Feeds feeds = Samples(3);
  feeds.push_back(Tensor::FromFloats("y", {3}, std::vector<float>{7, 8, 9}));
  const auto pieces = SplitBatchAtMost(feeds, 2);
  ASSERT_EQ(pieces.size(), 2U);
  EXPECT_EQ(pieces[1][0].shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(Values(pieces[1]), (std::vector<float>{20, 21}));
  EXPECT_EQ(pieces[1][1].shape, std::vector<int64_t>{1});
  EXPECT_EQ(pieces[1][1].floats()[0], 9.0F);
  EXPECT_EQ(pieces[0][1].floats()[1], 8.0F);
}

TEST(FirstSamplesTest, CopiesTheFirstSamplesOfEveryTensor) {
  Feeds feeds = Samples(3);
  feeds.push_back(Tensor::FromFloats("y", {3}, std::vector<float>{7, 8, 9}));
  const Feeds first = FirstSamples(feeds, 2);
  ASSERT_EQ(first.size(), 2U);
  EXPECT_EQ(first[0].shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(Values(first), (std::vector<float>{0, 1, 10, 11}));
  EXPECT_EQ(first[1].shape, std::vector<int64_t>{2});
  EXPECT_EQ(first[1].floats()[1], 8.0F);
  // No more samples than asked for, or a feed with a tensor fed whole: a copy of all of it.
  EXPECT_EQ(Values(FirstSamples(feeds, 3)), Values(feeds));
  EXPECT_EQ(SamplesIn(FirstSamples(WithWholeTensors(4), 1)), 4);
}

}  // namespace
}  // namespace onnxq
