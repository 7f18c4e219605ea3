// Helpers of the command line that print what a user must know about the files written.
#include "cli_common.h"

#include <gtest/gtest.h>

#include <string>

namespace onnxq::cli {
namespace {

TEST(CliCommonTest, AutomaticExternalDataIsToldWithTheDataFile) {
  const ModelFiles external{.model = "out/q.onnx", .data = {"out/q.onnx.0123abcd.data"}};
  ::testing::internal::CaptureStderr();
  NoteAutomaticExternalData({.external_data = ExternalData::kAuto}, external);
  const std::string told = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(told.find("'out/q.onnx' is over protobuf's 2 GB limit"), std::string::npos) << told;
  EXPECT_NE(told.find("'q.onnx.0123abcd.data' beside it"), std::string::npos) << told;

  // Asked for, or none written: nothing to tell.
  ::testing::internal::CaptureStderr();
  NoteAutomaticExternalData({.external_data = ExternalData::kAlways}, external);
  NoteAutomaticExternalData({.external_data = ExternalData::kAuto}, {.model = "out/q.onnx", .data = {}});
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

}  // namespace
}  // namespace onnxq::cli
