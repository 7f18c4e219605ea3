// How onnxq touches the file system, in one place: what an output may replace, how a file is
// published, where temporaries live and how they go away, how a file is read.
//
//   1. Inputs are never written. An output is compared with every input by device and inode (stat,
//      symlinks followed), not by name, so another spelling of the same file (a hard link, a symlink,
//      "./x", "a/../x") is caught. Commands call CheckOutputPath before any work; writers call it again
//      just before they publish.
//   2. Only regular files are replaced. An output path that exists and is a directory, a device, a
//      fifo or a socket is refused. A symlink as output is replaced itself: the new file takes the
//      link's name and the file it pointed to is left as it was (refused outright when that file is an
//      input). Following the link instead would let a stale link turn a save into an overwrite of
//      whatever it points at.
//   3. Files are published whole. A writer creates a TemporaryFile beside the output (same folder, so
//      the same file system and rename(2) is atomic) with O_CREAT|O_EXCL and a random name, writes and
//      flushes it, then renames it over the output: a reader sees the old file or the new one. The
//      temporary is removed on every error path (the destructor), and on SIGINT, SIGTERM and SIGHUP
//      once RemoveTemporariesOnSignals ran; only SIGKILL or a crash leaves one, named
//      "<output>.tmp-XXXXXXXXXXXX".
//   4. Scratch folders (TemporaryFolder) come from mkdtemp: "$TMPDIR/onnxq-XXXXXX", mode 0700, a name
//      nobody can guess in advance to plant a symlink at; removed like temporary files.
//   5. errno is read right after the call that failed, before any clean-up can change it.
//   6. A directory where a file is expected is refused with one line naming it (ReadWholeFile).
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "onnxq/model_io.h"
#include "onnxq/status.h"

namespace onnxq {

// The device and inode of a file: what makes two paths the same file.
struct FileIdentity {
  dev_t device = 0;
  ino_t inode = 0;
  bool operator==(const FileIdentity&) const = default;
};

// The identity of the file `path` names, symlinks followed; nullopt when there is none.
std::optional<FileIdentity> IdentityOf(const std::filesystem::path& path);

// The input that `path` is (same device and inode, or the same symlink), or nullptr.
const InputFile* FindInput(const std::filesystem::path& path, std::span<const InputFile> inputs);

// Ok when `output` may be written: it is none of `inputs` and, if it exists, a regular file or a symlink
// (rule 2). Errors name both files and say what to do.
Status CheckOutputPath(const std::filesystem::path& output, std::span<const InputFile> inputs);

// The whole content of `path`. `what` names the file in errors ("model", "calibration table"): a
// missing file is NotFound, a directory InvalidArgument, more than `max_bytes` bytes InvalidArgument;
// fifos and devices are read to their end.
Result<std::string> ReadWholeFile(const std::filesystem::path& path, std::string_view what,
                                  int64_t max_bytes = int64_t{1} << 31);

// `location` (a relative path from a model's external data entry) resolved against `folder` with every
// symlink followed. An absolute location, one with "..", or one that resolves outside `folder` is
// InvalidModel; a location that does not exist comes back unresolved (the caller reports it missing).
Result<std::filesystem::path> ResolveInsideFolder(const std::filesystem::path& folder, const std::string& location);

// A file being written under a temporary name beside the file it will replace (rule 3).
class TemporaryFile {
 public:
  // Creates "<target>.tmp-<12 random characters>" in `target`'s folder, exclusively.
  static Result<TemporaryFile> CreateBeside(const std::filesystem::path& target);
  // Creates exactly `path` with O_CREAT|O_EXCL: fails when anything is there, a symlink included
  // (never followed). Errors name `target`, the file the caller is writing.
  static Result<TemporaryFile> CreateAt(const std::filesystem::path& path, const std::filesystem::path& target);

  TemporaryFile(TemporaryFile&& other) noexcept;
  TemporaryFile& operator=(TemporaryFile&&) = delete;
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  // Closes and removes the file unless it was published or abandoned.
  ~TemporaryFile();

  Status Write(std::string_view bytes);
  // Flushes to disk (kFlushToDisk) and closes; the file stays where it is.
  Status Finish(Durability durability);
  // Renames the finished file over `destination`; from then on it is no longer temporary.
  Status PublishAs(const std::filesystem::path& destination);
  // Leaves the file where it is, as a kill would (tests of what a kill leaves).
  void Abandon();

  const std::filesystem::path& path() const { return path_; }

 private:
  TemporaryFile(std::filesystem::path path, std::filesystem::path target, int fd);
  void Release();

  std::filesystem::path path_;
  std::filesystem::path target_;
  int fd_ = -1;
  int slot_ = -1;  // in the registry of temporaries removed on a signal
  bool owned_ = false;
};

// A scratch folder under the system's temporary directory (rule 4), removed with its content at scope
// exit. `purpose` names it in errors.
class TemporaryFolder {
 public:
  static Result<TemporaryFolder> Create(std::string_view purpose);

  TemporaryFolder(TemporaryFolder&& other) noexcept;
  TemporaryFolder& operator=(TemporaryFolder&&) = delete;
  TemporaryFolder(const TemporaryFolder&) = delete;
  TemporaryFolder& operator=(const TemporaryFolder&) = delete;
  ~TemporaryFolder();

  const std::filesystem::path& path() const { return path_; }

 private:
  TemporaryFolder(std::filesystem::path path, int slot) : path_(std::move(path)), slot_(slot) {}

  std::filesystem::path path_;
  int slot_ = -1;
};

// Installs handlers for SIGINT, SIGTERM and SIGHUP (those not ignored) that remove every live
// TemporaryFile and TemporaryFolder, then end the process by the same signal. For programs (the CLI),
// not for the library, which leaves signals to its host.
void RemoveTemporariesOnSignals();

// fsync of a folder, so a rename in it survives a power cut; best effort.
void SyncFolder(const std::filesystem::path& folder);

// XXH64 (seed 0) of a stream of bytes, as the xxHash library computes it.
class ContentHash {
 public:
  ContentHash();
  void Update(std::string_view bytes);
  uint64_t Digest() const;
  // The digest as 16 lowercase hex digits.
  std::string Hex() const;

 private:
  std::array<uint64_t, 4> lanes_;
  std::array<unsigned char, 32> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_ = 0;
};

}  // namespace onnxq
