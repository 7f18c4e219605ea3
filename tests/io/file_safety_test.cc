#include "io/file_safety.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "testing/test_support.h"

namespace onnxq {
namespace {

namespace fs = std::filesystem;
using testing::Listing;
using testing::ReadBytes;
using testing::TempDir;
using testing::WriteBytes;

class FileSafetyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = TempDir(std::string("file_safety-") + info->name());
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
};

// Points TMPDIR at `dir` for the scope, as the system's temporary directory.
class ScopedTmpdir {
 public:
  explicit ScopedTmpdir(const fs::path& dir) {
    if (const char* old = std::getenv("TMPDIR")) old_ = old;
    ::setenv("TMPDIR", dir.c_str(), 1);
  }
  ScopedTmpdir(const ScopedTmpdir&) = delete;
  ScopedTmpdir& operator=(const ScopedTmpdir&) = delete;
  ~ScopedTmpdir() {
    if (old_.empty()) {
      ::unsetenv("TMPDIR");
    } else {
      ::setenv("TMPDIR", old_.c_str(), 1);
    }
  }

 private:
  std::string old_;
};

std::string HashOf(std::string_view bytes) {
  ContentHash hash;
  hash.Update(bytes);
  return hash.Hex();
}

TEST(ContentHashTest, MatchesTheXxHashLibrary) {
  // Digests from libxxhash's XXH64(bytes, size, 0).
  EXPECT_EQ(HashOf(""), "ef46db3751d8e999");
  EXPECT_EQ(HashOf("a"), "d24ec4f1a98c6e5b");
  EXPECT_EQ(HashOf("abc"), "44bc2cf5ad770999");
  EXPECT_EQ(HashOf("0123456789abcdefghijklmnopqrstuvwxyz"), "69196c1b3af0bff9");

  // 10243 bytes, in one piece and in pieces that cut across the 32-byte stripes.
  std::string long_text;
  for (int copy = 0; copy < 40; ++copy) {
    for (int byte = 0; byte < 256; ++byte) long_text.push_back(static_cast<char>(byte));
  }
  long_text += "xyz";
  EXPECT_EQ(HashOf(long_text), "7310338eaf604e73");
  ContentHash pieces;
  size_t at = 0;
  for (const size_t size : {1U, 31U, 32U, 5U, 64U, 100U, 7U}) {
    pieces.Update(std::string_view(long_text).substr(at, size));
    at += size;
  }
  pieces.Update(std::string_view(long_text).substr(at));
  EXPECT_EQ(pieces.Hex(), "7310338eaf604e73");
  EXPECT_EQ(pieces.Digest(), 0x7310338eaf604e73ULL);
}

TEST_F(FileSafetyTest, TemporaryFileNamesAreRandomAndNeverFollowALink) {
  const fs::path target = dir_ / "model.onnx";
  auto first = TemporaryFile::CreateBeside(target);
  auto second = TemporaryFile::CreateBeside(target);
  ASSERT_TRUE(first.ok() && second.ok()) << first.status().message() << second.status().message();
  EXPECT_NE(first->path(), second->path());
  const std::regex pattern(R"(model\.onnx\.tmp-[a-z0-9]{12})");
  for (const auto* file : {&*first, &*second}) {
    EXPECT_EQ(file->path().parent_path(), dir_);
    const std::string name = file->path().filename().string();
    EXPECT_TRUE(std::regex_match(name, pattern)) << name;
    EXPECT_EQ(name.find(std::to_string(::getpid())), std::string::npos) << "the pid is predictable: " << name;
  }

  // A symlink planted at the exact name is not followed: creation fails, the file it points to and a
  // file a dangling link names stay as they were.
  const fs::path victim = dir_ / "victim.txt";
  WriteBytes(victim, "keep me");
  const fs::path planted = dir_ / "model.onnx.tmp-planted00000";
  fs::create_symlink(victim, planted);
  auto at_link = TemporaryFile::CreateAt(planted, target);
  ASSERT_FALSE(at_link.ok());
  EXPECT_EQ(at_link.status().message(),
            "cannot write '" + target.string() + "': cannot create '" + planted.string() + "' beside it: File exists");
  EXPECT_EQ(ReadBytes(victim), "keep me");
  const fs::path dangling = dir_ / "model.onnx.tmp-dangling0000";
  fs::create_symlink(dir_ / "created-through-the-link", dangling);
  EXPECT_FALSE(TemporaryFile::CreateAt(dangling, target).ok());
  EXPECT_FALSE(fs::exists(dir_ / "created-through-the-link"));
}

TEST_F(FileSafetyTest, TemporaryFileGoesUnlessPublished) {
  const fs::path target = dir_ / "out.bin";
  fs::path left;
  {
    auto file = TemporaryFile::CreateBeside(target);
    ASSERT_TRUE(file.ok()) << file.status().message();
    ASSERT_TRUE(file->Write("half").ok());
    left = file->path();
    EXPECT_TRUE(fs::exists(left));
  }  // an error path: the caller returns before publishing
  EXPECT_FALSE(fs::exists(left));
  EXPECT_TRUE(Listing(dir_).empty());

  {
    auto file = TemporaryFile::CreateBeside(target);
    ASSERT_TRUE(file.ok()) << file.status().message();
    ASSERT_TRUE(file->Write("whole").ok());
    ASSERT_TRUE(file->Finish(Durability::kFlushToDisk).ok());
    ASSERT_TRUE(file->PublishAs(target).ok());
  }  // the destructor must leave the published file
  EXPECT_EQ(ReadBytes(target), "whole");
  EXPECT_EQ(Listing(dir_), std::vector<std::string>{"out.bin"});

  // Missing folder: the message names the file and the folder, and says what to do.
  auto nowhere = TemporaryFile::CreateBeside(dir_ / "no" / "out.bin");
  ASSERT_FALSE(nowhere.ok());
  EXPECT_EQ(nowhere.status().message(), "cannot write '" + (dir_ / "no" / "out.bin").string() + "': its folder '" +
                                            (dir_ / "no").string() + "' does not exist; create it first");
}

TEST_F(FileSafetyTest, TemporaryFolderIsFreshAndPrivate) {
  const ScopedTmpdir tmpdir(dir_);
  // What an attacker would plant for the predictable names onnxq once used: "onnxq-<pid>-<n>".
  const fs::path victim = dir_ / "victim";
  fs::create_directory(victim);
  for (int n = 0; n < 4; ++n) {
    fs::create_directory_symlink(victim, dir_ / ("onnxq-" + std::to_string(::getpid()) + "-" + std::to_string(n)));
  }
  fs::path made;
  {
    auto folder = TemporaryFolder::Create("a test");
    ASSERT_TRUE(folder.ok()) << folder.status().message();
    made = folder->path();
    EXPECT_EQ(made.parent_path(), dir_);
    EXPECT_TRUE(std::regex_match(made.filename().string(), std::regex("onnxq-[A-Za-z0-9]{6}")))
        << made.filename().string();
    struct stat info {};
    ASSERT_EQ(::lstat(made.c_str(), &info), 0);
    EXPECT_TRUE(S_ISDIR(info.st_mode));
    EXPECT_EQ(info.st_mode & 0777, 0700U);
    WriteBytes(made / "optimized.onnx", "scratch");
  }
  EXPECT_FALSE(fs::exists(made));
  EXPECT_TRUE(Listing(victim).empty()) << "a planted link was followed";
}

TEST_F(FileSafetyTest, SignalsRemoveLiveTemporaries) {
  // A child process makes a temporary folder with a file in it and a temporary file, then gets SIGTERM
  // as a user's kill would send it: both must be gone and the child must end by that signal.
  const fs::path scratch = dir_ / "tmp";
  const fs::path out = dir_ / "out";
  fs::create_directory(scratch);
  fs::create_directory(out);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::setenv("TMPDIR", scratch.c_str(), 1);
    RemoveTemporariesOnSignals();
    auto folder = TemporaryFolder::Create("a test");
    auto file = TemporaryFile::CreateBeside(out / "model.onnx");
    if (!folder.ok() || !file.ok() || !file->Write("partial").ok()) ::_exit(2);
    WriteBytes(folder->path() / "optimized.onnx", "scratch");
    if (Listing(scratch).size() != 1 || Listing(out).size() != 1) ::_exit(3);
    ::raise(SIGTERM);
    ::_exit(4);  // not reached: the handler ends the process by the signal
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit code " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  EXPECT_TRUE(Listing(scratch).empty()) << ::testing::PrintToString(Listing(scratch));
  EXPECT_TRUE(Listing(out).empty()) << ::testing::PrintToString(Listing(out));
}

TEST_F(FileSafetyTest, OutputMayBeNoInputUnderAnySpelling) {
  const fs::path input = dir_ / "model.onnx";
  WriteBytes(input, "model");
  fs::create_directory(dir_ / "sub");
  fs::create_hard_link(input, dir_ / "hard.onnx");
  fs::create_symlink(input, dir_ / "link.onnx");
  const std::vector<InputFile> inputs = {{input, "the input model"}};
  for (const fs::path& spelling :
       {input, dir_ / "." / "model.onnx", dir_ / "sub" / ".." / "model.onnx", dir_ / "hard.onnx", dir_ / "link.onnx"}) {
    SCOPED_TRACE(spelling.string());
    const Status status = CheckOutputPath(spelling, inputs);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(status.message(), "output '" + spelling.string() + "' is the same file as the input model '" +
                                    input.string() + "'; writing it would destroy the input: give another output path");
  }
  EXPECT_TRUE(CheckOutputPath(dir_ / "other.onnx", inputs).ok());  // not there yet
  WriteBytes(dir_ / "other.onnx", "old output");
  EXPECT_TRUE(CheckOutputPath(dir_ / "other.onnx", inputs).ok());  // a regular file that is no input
  EXPECT_EQ(FindInput(dir_ / "hard.onnx", inputs), inputs.data());
  EXPECT_EQ(FindInput(dir_ / "other.onnx", inputs), nullptr);
}

TEST_F(FileSafetyTest, OnlyRegularFilesAndLinksAreReplaced) {
  const fs::path fifo = dir_ / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  Status status = CheckOutputPath(fifo, {});
  EXPECT_EQ(status.message(), "output '" + fifo.string() +
                                  "' is a fifo, not a regular file; onnxq replaces only regular files: give another "
                                  "output path");
  // Only looked at: the device is never opened for writing.
  status = CheckOutputPath("/dev/null", {});
  EXPECT_EQ(status.message(),
            "output '/dev/null' is a character device, not a regular file; onnxq replaces only regular files: give "
            "another output path");
  status = CheckOutputPath(dir_, {});
  EXPECT_EQ(status.message(), "output '" + dir_.string() + "' is a directory; give the path of a file to write");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);

  // A symlink is replaced itself, so it may point anywhere that is not an input.
  fs::create_symlink("/dev/null", dir_ / "to-null");
  EXPECT_TRUE(CheckOutputPath(dir_ / "to-null", {}).ok());
  fs::create_symlink(dir_ / "missing", dir_ / "dangling");
  EXPECT_TRUE(CheckOutputPath(dir_ / "dangling", {}).ok());
}

TEST_F(FileSafetyTest, ReadWholeFileNamesWhatItCannotRead) {
  WriteBytes(dir_ / "table.json", "{}");
  auto read = ReadWholeFile(dir_ / "table.json", "calibration table");
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(*read, "{}");

  auto folder = ReadWholeFile(dir_, "calibration table");
  ASSERT_FALSE(folder.ok());
  EXPECT_EQ(folder.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(folder.status().message(), "calibration table '" + dir_.string() + "' is a directory, not a file");

  auto missing = ReadWholeFile(dir_ / "none.json", "calibration table");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "cannot open calibration table '" + (dir_ / "none.json").string() + "': no such file");

  auto large = ReadWholeFile(dir_ / "table.json", "calibration table", 1);
  ASSERT_FALSE(large.ok());
  EXPECT_EQ(large.status().message(),
            "calibration table '" + (dir_ / "table.json").string() + "' is 2 bytes, over the limit of 1");
}

TEST_F(FileSafetyTest, ExternalDataResolvesInsideTheModelFolderOnly) {
  const fs::path folder = dir_ / "model";
  const fs::path outside = dir_ / "outside";
  fs::create_directories(folder / "weights");
  fs::create_directories(outside);
  WriteBytes(folder / "weights" / "w.bin", "inside");
  WriteBytes(outside / "secret.bin", "outside");
  fs::create_symlink(folder / "weights" / "w.bin", folder / "alias.bin");  // a link that stays inside
  fs::create_symlink(outside / "secret.bin", folder / "escape.bin");
  fs::create_directory_symlink(outside, folder / "linked");

  auto inside = ResolveInsideFolder(folder, "weights/w.bin");
  ASSERT_TRUE(inside.ok()) << inside.status().message();
  EXPECT_EQ(*inside, fs::canonical(folder / "weights" / "w.bin"));
  auto alias = ResolveInsideFolder(folder, "alias.bin");
  ASSERT_TRUE(alias.ok()) << alias.status().message();
  EXPECT_EQ(*alias, fs::canonical(folder / "weights" / "w.bin"));

  const fs::path root = fs::canonical(folder);
  const fs::path secret = fs::canonical(outside / "secret.bin");
  for (const std::string location : {"escape.bin", "linked/secret.bin"}) {
    SCOPED_TRACE(location);
    auto escaped = ResolveInsideFolder(folder, location);
    ASSERT_FALSE(escaped.ok());
    EXPECT_EQ(escaped.status().code(), StatusCode::kInvalidModel);
    EXPECT_EQ(escaped.status().message(), "external data '" + location + "' resolves to '" + secret.string() +
                                              "', outside the model's folder '" + root.string() +
                                              "' (through a symlink); copy the file into the model's folder "
                                              "instead of linking it");
  }
  for (const std::string& location :
       std::vector<std::string>{"../outside/secret.bin", (outside / "secret.bin").string(), ""}) {
    SCOPED_TRACE(location);
    auto refused = ResolveInsideFolder(folder, location);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().message(), "external data '" + location +
                                              "' points outside the model's folder; external data must sit beside "
                                              "the model");
  }
  // Missing: handed back for the caller to report, still under the folder.
  auto missing = ResolveInsideFolder(folder, "none.bin");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(*missing, root / "none.bin");
}

}  // namespace
}  // namespace onnxq
