// The ONNX Runtime backend as a process sees it: what it leaves behind.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "calibration/onnxruntime_backend.h"
#include "onnxq/runtime_log.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

// The runtime's log text as onnxq prints it: one line, no colours, no control characters.
TEST(OnnxRuntimeBackendTest, RuntimeLogTextBecomesOneLine) {
  EXPECT_EQ(OneLogLine("\x1b[1;31mfailed\x1b[m to\n\n  run:\tnode 'a b'\r\n"), "failed to run: node 'a b'");
  EXPECT_EQ(OneLogLine("  \n "), "");
  EXPECT_EQ(OneLogLine("bell\a and \x1b[0m"), "bell and");
  EXPECT_EQ(OneLogLine("unterminated \x1b[12"), "unterminated");
}

TEST(OnnxRuntimeBackendTest, LeavesNoTelemetryFilesBehind) {
  // Some builds of the runtime log telemetry to /tmp/mat-debug-<pid>.log from the first session on.
  const auto log = std::filesystem::temp_directory_path() / ("mat-debug-" + std::to_string(::getpid()) + ".log");
  // A file of that name may be left by an earlier process that had the same pid.
  std::filesystem::remove(log);
  const onnx::ModelProto model = testing::ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,2] X) => (float[N,2] Y)
{
  Y = Relu(X)
}
)");
  auto session = CreateOnnxRuntimeSession(model);
  ASSERT_TRUE(session.ok()) << session.status().message();
  const std::vector<float> x = {-1.0F, 2.0F};
  const Feeds feeds = {Tensor::FromFloats("X", {1, 2}, x)};
  auto outputs = (*session)->Run(feeds, {});
  ASSERT_TRUE(outputs.ok()) << outputs.status().message();
  EXPECT_EQ((*outputs)[0].data[1], 2.0F);
  EXPECT_FALSE(std::filesystem::exists(log));
}

}  // namespace
}  // namespace onnxq
