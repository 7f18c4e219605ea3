#include "common/fresh_memory.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace onnxq {
namespace {

TEST(ResizeOnFreshMemoryTest, LargeBuffersAreZeroAndWritable) {
  // An odd size over the threshold: the pages mapped in bulk stop short of its last partial page.
  const size_t size = kFreshMemoryBytes + 12345;
  std::string bytes;
  ResizeOnFreshMemory(&bytes, size);
  ASSERT_EQ(bytes.size(), size);
  EXPECT_TRUE(std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == '\0'; }));
  std::fill(bytes.begin(), bytes.end(), 'x');
  EXPECT_EQ(bytes.front(), 'x');
  EXPECT_EQ(bytes.back(), 'x');
}

TEST(ResizeOnFreshMemoryTest, SmallBuffersAreResizedAsUsual) {
  std::string bytes;
  ResizeOnFreshMemory(&bytes, 10);
  EXPECT_EQ(bytes, std::string(10, '\0'));
  ResizeOnFreshMemory(&bytes, 0);
  EXPECT_TRUE(bytes.empty());
}

TEST(ResizeOnFreshMemoryTest, ANonEmptyBufferKeepsItsBytes) {
  std::string bytes = "kept";
  ResizeOnFreshMemory(&bytes, kFreshMemoryBytes);
  ASSERT_EQ(bytes.size(), kFreshMemoryBytes);
  EXPECT_EQ(bytes.substr(0, 4), "kept");
  EXPECT_EQ(bytes[4], '\0');
  EXPECT_EQ(bytes.back(), '\0');
}

}  // namespace
}  // namespace onnxq
