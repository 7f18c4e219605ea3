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

TEST(CliCommonTest, ProgressLinesShowTheBarTheTimeAndAnEta) {
  // 250 of 1000 in 12 s: 750 more at the same rate take 36 s.
  EXPECT_EQ(ProgressLine("calibrate", 250, 1000, 12.0),
            "calibrate [##########..............................] 250/1000 0:12 elapsed, ETA 0:36");
  // Nothing done yet: no ETA; all done: none either.
  EXPECT_EQ(ProgressLine("evaluate", 0, 10, 0.4),
            "evaluate [........................................] 0/10 0:00 elapsed");
  EXPECT_EQ(ProgressLine("evaluate", 10, 10, 75.0),
            "evaluate [########################################] 10/10 1:15 elapsed");
  // Hours from 3600 s on; a total unknown.
  EXPECT_EQ(ProgressLine("report", 1, 4, 1200.0),
            "report [##########..............................] 1/4 20:00 elapsed, ETA 1:00:00");
  EXPECT_EQ(ProgressLine("calibrate", 64, 0, 5.0), "calibrate 64 samples 0:05");
}

}  // namespace
}  // namespace onnxq::cli
