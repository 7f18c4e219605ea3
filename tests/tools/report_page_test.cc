// The layer report's HTML page in a real browser (Debian's chromium, headless): it loads without a
// console message, its DOM holds the tables and the plots, and a screenshot of it is no blank page.
// Skipped, saying so, where /usr/bin/chromium is missing (scripts/setup.sh installs it).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "cli_fixture.h"
#include "io/image_decode.h"

namespace onnxq {
namespace {

constexpr const char* kChromium = "/usr/bin/chromium";

struct BrowserRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// chromium --headless with `flags` on the page at `page`, its stdout and stderr kept in `logs`.
BrowserRun RunChromium(const std::vector<std::string>& flags, const fs::path& page, const fs::path& logs) {
  std::string command = std::string("timeout 120 ") + kChromium +
                        " --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 --no-first-run"
                        " --user-data-dir='" +
                        (logs / "profile").string() + "'";
  for (const auto& flag : flags) command += " '" + flag + "'";
  command += " 'file://" + page.string() + "' >'" + (logs / "chromium.out").string() + "' 2>'" +
             (logs / "chromium.err").string() + "'";
  BrowserRun run;
  const int status = std::system(command.c_str());
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = ReadBytes(logs / "chromium.out");
  run.err = ReadBytes(logs / "chromium.err");
  return run;
}

// The lines of chromium's log that carry a page's console message or uncaught exception.
std::vector<std::string> ConsoleLines(const std::string& log) {
  std::vector<std::string> lines;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find("CONSOLE") != std::string::npos || line.find("Uncaught") != std::string::npos) lines.push_back(line);
  }
  return lines;
}

class ReportPageTest : public CliTest {
 protected:
  void SetUp() override {
    if (!fs::exists(kChromium)) GTEST_SKIP() << kChromium << " is missing: apt-get install chromium (scripts/setup.sh)";
    CliTest::SetUp();
  }
};

// The check itself sees a console error: a page whose script logs one and throws.
TEST_F(ReportPageTest, ConsoleErrorsAreSeen) {
  const fs::path page = work_ / "broken.html";
  WriteBytes(page,
             "<!DOCTYPE html><html><body><p>x</p><script>console.error('probe error');"
             "undefined_function();</script></body></html>");
  const BrowserRun run = RunChromium({"--dump-dom"}, page, logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto lines = ConsoleLines(run.err);
  EXPECT_GE(lines.size(), 1U) << run.err;
}

TEST_F(ReportPageTest, LoadsCleanlyAndShowsTheTableAndPlots) {
  const fs::path page = out_dir_ / "report.html";
  const CliRun quantize = RunCli({"quantize", Model(), Output(), "--calib-data", Calib(), "--calib-data-size", "32",
                                  "--report", page.string(), "-q"},
                                 logs_);
  ASSERT_EQ(quantize.exit_code, 0) << quantize.err;

  const BrowserRun dom = RunChromium({"--dump-dom"}, page, logs_);
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  EXPECT_TRUE(ConsoleLines(dom.err).empty()) << ::testing::PrintToString(ConsoleLines(dom.err));
  EXPECT_NE(dom.out.find("<table id=\"activations\">"), std::string::npos);
  EXPECT_NE(dom.out.find("<table id=\"weights\">"), std::string::npos);
  EXPECT_NE(dom.out.find("<svg id=\"sqnr-plot\""), std::string::npos);
  EXPECT_NE(dom.out.find("<polyline class=\"line\""), std::string::npos);
  EXPECT_NE(dom.out.find("class=\"histogram\""), std::string::npos);

  const fs::path shot = out_dir_ / "report.png";
  const BrowserRun screenshot = RunChromium({"--screenshot=" + shot.string(), "--window-size=1280,2000"}, page, logs_);
  ASSERT_EQ(screenshot.exit_code, 0) << screenshot.err;
  EXPECT_TRUE(ConsoleLines(screenshot.err).empty()) << ::testing::PrintToString(ConsoleLines(screenshot.err));
  const std::string png = ReadBytes(shot);
  ASSERT_GT(png.size(), 20000U) << "a page of tables and plots compresses to more than 20 KB";
  auto image = DecodeImage(std::as_bytes(std::span(png)));
  ASSERT_TRUE(image.ok()) << image.status().message();
  EXPECT_EQ(image->width, 1280);
  EXPECT_EQ(image->height, 2000);
  // Not blank: many pixels differ from the background, and in colour (the plots), not only grey text.
  int64_t dark = 0;
  int64_t coloured = 0;
  for (size_t i = 0; i + 2 < image->pixels.size(); i += 3) {
    const int r = image->pixels[i];
    const int g = image->pixels[i + 1];
    const int b = image->pixels[i + 2];
    dark += r + g + b < 384 ? 1 : 0;
    coloured += std::max({r, g, b}) - std::min({r, g, b}) > 60 ? 1 : 0;
  }
  const int64_t pixels = int64_t{image->width} * image->height;
  EXPECT_GT(dark, pixels / 200) << "text and lines";
  EXPECT_GT(coloured, pixels / 500) << "bars, points and shading";
}

}  // namespace
}  // namespace onnxq
