#include "algorithms/channel_sums.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace onnxq {
namespace {

// [2, 3, 2] (N, C, HW): channel c of sample n holds 10 n + c and 10 n + c + 1.
std::vector<float> Planar() {
  std::vector<float> v;
  for (int n = 0; n < 2; ++n) {
    for (int c = 0; c < 3; ++c) {
      v.push_back(static_cast<float>(10 * n + c));
      v.push_back(static_cast<float>(10 * n + c + 1));
    }
  }
  return v;
}

TEST(ChannelSumsTest, PlanarMeansByHand) {
  ChannelSums sums;
  sums.AddPlanar(Planar(), 3, 2);
  // Channel c: (c + c+1 + 10+c + 11+c) / 4 = c + 5.5.
  EXPECT_EQ(sums.Mean(), (std::vector<float>{5.5F, 6.5F, 7.5F}));
  EXPECT_EQ(sums.count, 4);
}

TEST(ChannelSumsTest, ChannelsLastRows) {
  ChannelSums sums;
  // 300 rows of [1, 2, 3] and 300 of [3, 2, 1]: past one float flush of partial sums.
  std::vector<float> rows;
  for (int r = 0; r < 600; ++r) {
    const bool first = r < 300;
    rows.insert(rows.end(), {first ? 1.0F : 3.0F, 2.0F, first ? 3.0F : 1.0F});
  }
  sums.AddPlanar(rows, 3, 1);
  EXPECT_EQ(sums.Mean(), (std::vector<float>{2.0F, 2.0F, 2.0F}));
}

// The planar tensor of Planar() with 5 channels in blocks of 4 (the second block keeps 1 lane), as
// the engine lays it out: [N, block, HW, lane].
TEST(ChannelSumsTest, BlockedWithAPartialLastBlockEqualsPlanar) {
  const int64_t channels = 5;
  const int64_t hw = 3;
  const int64_t block = 4;
  std::vector<float> planar;
  for (int n = 0; n < 2; ++n) {
    for (int c = 0; c < channels; ++c) {
      for (int i = 0; i < hw; ++i) planar.push_back(static_cast<float>(100 * n + 10 * c + i));
    }
  }
  std::vector<float> blocked;
  for (int n = 0; n < 2; ++n) {
    for (int64_t b = 0; b < 2; ++b) {
      const int64_t lanes = std::min(block, channels - b * block);
      for (int64_t i = 0; i < hw; ++i) {
        for (int64_t l = 0; l < lanes; ++l) {
          blocked.push_back(planar[static_cast<size_t>((n * channels + b * block + l) * hw + i)]);
        }
      }
    }
  }
  ChannelSums from_planar;
  ChannelSums from_blocked;
  from_planar.AddPlanar(planar, channels, hw);
  from_blocked.AddBlocked(blocked, channels, hw, block);
  ASSERT_EQ(from_planar.Mean().size(), 5U);
  EXPECT_EQ(from_blocked.Mean(), from_planar.Mean());
  EXPECT_FLOAT_EQ(from_planar.Mean()[4], 50 + 40 + 1);  // (0 + 100) / 2 + 40 + mean of 0, 1, 2
}

TEST(ChannelSumsTest, MergeWeightsByValuesAndInconsistencyEmptiesTheMean) {
  ChannelSums a;
  ChannelSums b;
  a.AddPlanar(std::vector<float>{1, 3}, 2, 1);              // one row
  b.AddPlanar(std::vector<float>{3, 5, 3, 5, 3, 5}, 2, 1);  // three rows
  a.Merge(b);
  EXPECT_EQ(a.Mean(), (std::vector<float>{2.5F, 4.5F}));

  ChannelSums three;
  three.AddPlanar(std::vector<float>{1, 2, 3}, 3, 1);
  a.Merge(three);
  EXPECT_TRUE(a.Mean().empty());

  ChannelSums odd;
  odd.AddPlanar(std::vector<float>{1, 2, 3}, 2, 1);  // not whole rows
  EXPECT_FALSE(odd.consistent);
  EXPECT_TRUE(odd.Mean().empty());
  EXPECT_TRUE(ChannelSums{}.Mean().empty());
}

}  // namespace
}  // namespace onnxq
