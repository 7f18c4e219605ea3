#include "algorithms/sqnr.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace onnxq {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(SqnrTest, WorkedByHand) {
  // x = 1 2 3 4, q = 1 2 3 3: sum x^2 = 30, sum (x-q)^2 = 1, sum q^2 = 23, sum xq = 26.
  const std::vector<float> x = {1, 2, 3, 4};
  const std::vector<float> q = {1, 2, 3, 3};
  SqnrSums sums;
  sums.Add(x, q);
  EXPECT_EQ(sums.signal, 30.0);
  EXPECT_EQ(sums.noise, 1.0);
  EXPECT_EQ(sums.quantized, 23.0);
  EXPECT_EQ(sums.cross, 26.0);
  EXPECT_EQ(sums.values, 4);
  EXPECT_NEAR(sums.SqnrDb(), 14.771212547, 1e-9);  // 10 log10(30)
  EXPECT_NEAR(sums.Cosine(), 0.989803084, 1e-9);   // 26 / sqrt(30 * 23)
}

TEST(SqnrTest, TenPercentErrorIsTwentyDecibels) {
  // q = 0.9 x: the noise is 1% of the signal's energy, and q points the same way.
  const std::vector<float> x = {0.5F, -2.0F, 8.0F};
  std::vector<float> q;
  for (const float v : x) q.push_back(0.9F * v);
  SqnrSums sums;
  sums.Add(x, q);
  EXPECT_NEAR(sums.SqnrDb(), 20.0, 1e-5);
  EXPECT_NEAR(sums.Cosine(), 1.0, 1e-12);
}

TEST(SqnrTest, MergeEqualsOneSum) {
  const std::vector<float> x = {1, 2, 3, 4};
  const std::vector<float> q = {1, 2, 3, 3};
  SqnrSums whole;
  whole.Add(x, q);
  SqnrSums first;
  SqnrSums second;
  first.Add(std::span(x).first(1), std::span(q).first(1));
  second.Add(std::span(x).subspan(1), std::span(q).subspan(1));
  first.Merge(second);
  EXPECT_EQ(first.signal, whole.signal);
  EXPECT_EQ(first.noise, whole.noise);
  EXPECT_EQ(first.values, 4);
  EXPECT_EQ(first.SqnrDb(), whole.SqnrDb());
}

TEST(SqnrTest, EdgeCases) {
  SqnrSums same;
  same.Add(std::vector<float>{1, -2}, std::vector<float>{1, -2});
  EXPECT_EQ(same.SqnrDb(), kInf);
  EXPECT_EQ(same.Cosine(), 1.0);

  SqnrSums zeros;
  zeros.Add(std::vector<float>{0, 0}, std::vector<float>{0, 0});
  EXPECT_EQ(zeros.SqnrDb(), kInf);
  EXPECT_EQ(zeros.Cosine(), 1.0);

  SqnrSums no_signal;  // the float output is all zeros, the quantized one is not
  no_signal.Add(std::vector<float>{0, 0}, std::vector<float>{0, 0.5F});
  EXPECT_EQ(no_signal.SqnrDb(), -kInf);
  EXPECT_EQ(no_signal.Cosine(), 0.0);

  // Equal infinities are skipped; the rest is 1 2 against 1 1: 10 log10(5 / 1).
  const float inf = std::numeric_limits<float>::infinity();
  SqnrSums infinities;
  infinities.Add(std::vector<float>{-inf, 1, 2}, std::vector<float>{-inf, 1, 1});
  EXPECT_EQ(infinities.values, 2);
  EXPECT_EQ(infinities.mismatches, 0);
  EXPECT_NEAR(infinities.SqnrDb(), 6.989700043, 1e-9);

  SqnrSums nan;  // NaN on the quantized side only
  nan.Add(std::vector<float>{1, 2}, std::vector<float>{1, std::numeric_limits<float>::quiet_NaN()});
  EXPECT_EQ(nan.mismatches, 1);
  EXPECT_EQ(nan.SqnrDb(), -kInf);
  EXPECT_TRUE(std::isnan(nan.Cosine()));

  SqnrSums shorter;  // a value without a partner
  shorter.Add(std::vector<float>{1, 2}, std::vector<float>{1});
  EXPECT_EQ(shorter.mismatches, 1);
  EXPECT_EQ(shorter.SqnrDb(), -kInf);
}

}  // namespace
}  // namespace onnxq
