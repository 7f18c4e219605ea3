// Splitting a batch along axis 0: into a model's fixed batch, and into runs of at most n samples.
#include "calibration/split_batch.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace onnxq
