#include "io/file_safety.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <random>
#include <utility>

namespace onnxq {
namespace fs = std::filesystem;

namespace {

std::string Quoted(const fs::path& path) { return "'" + path.string() + "'"; }

std::string KindOf(mode_t mode) {
  if (S_ISDIR(mode)) return "directory";
  if (S_ISCHR(mode)) return "character device";
  if (S_ISBLK(mode)) return "block device";
  if (S_ISFIFO(mode)) return "fifo";
  if (S_ISSOCK(mode)) return "socket";
  if (S_ISLNK(mode)) return "symlink";
  return "special file";
}

// `length` characters from [a-z0-9], from the system's random source: a name nobody can predict.
std::string RandomName(size_t length) {
  static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device device;
  std::string name;
  name.reserve(length);
  for (size_t i = 0; i < length; ++i) name.push_back(kAlphabet[device() % kAlphabet.size()]);
  return name;
}

// ---- Temporaries removed on a signal ---------------------------------------------------------------
//
// A fixed table, so the handler reads it without allocating or locking: a slot is free (0), being
// filled (1) or live (2); the handler removes the live ones.

enum class TemporaryKind { kFile, kFolder };

struct CleanupSlot {
  std::atomic<int> state{0};
  TemporaryKind kind = TemporaryKind::kFile;
  std::array<char, PATH_MAX> path{};
};

constexpr int kCleanupSlots = 64;
std::array<CleanupSlot, kCleanupSlots> cleanup_slots;

// The slot now holding `path`, or -1 when the table is full or the path too long (then only the
// destructor removes it).
int RegisterTemporary(const fs::path& path, TemporaryKind kind) {
  const std::string& text = path.native();
  if (text.size() >= PATH_MAX) return -1;
  for (int i = 0; i < kCleanupSlots; ++i) {
    CleanupSlot& slot = cleanup_slots[static_cast<size_t>(i)];
    int expected = 0;
    if (slot.state.compare_exchange_strong(expected, 1, std::memory_order_acquire)) {
      std::memcpy(slot.path.data(), text.c_str(), text.size() + 1);
      slot.kind = kind;
      slot.state.store(2, std::memory_order_release);
      return i;
    }
  }
  return -1;
}

void UnregisterTemporary(int slot) {
  if (slot >= 0) cleanup_slots[static_cast<size_t>(slot)].state.store(0, std::memory_order_release);
}

// Unlinks what a folder holds, with async-signal-safe calls only (getdents64, unlinkat).
void RemoveFolderContents(const char* path) {
  const int dir = ::open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir < 0) return;
  alignas(8) std::array<char, 4096> entries{};
  for (;;) {
    const long bytes = ::syscall(SYS_getdents64, dir, entries.data(), entries.size());
    if (bytes <= 0) break;
    // struct linux_dirent64: d_ino (8 bytes), d_off (8), d_reclen (2), d_type (1), d_name.
    for (long offset = 0; offset < bytes;) {
      const char* entry = entries.data() + offset;
      unsigned short length = 0;
      std::memcpy(&length, entry + 16, sizeof(length));
      const char* name = entry + 19;
      if (std::strcmp(name, ".") != 0 && std::strcmp(name, "..") != 0) ::unlinkat(dir, name, 0);
      offset += length;
    }
  }
  ::close(dir);
}

extern "C" void RemoveTemporariesAndResignal(int signal) {
  const int saved_errno = errno;
  for (CleanupSlot& slot : cleanup_slots) {
    if (slot.state.load(std::memory_order_acquire) != 2) continue;
    if (slot.kind == TemporaryKind::kFolder) {
      RemoveFolderContents(slot.path.data());
      ::rmdir(slot.path.data());
    } else {
      ::unlink(slot.path.data());
    }
  }
  errno = saved_errno;
  // SA_RESETHAND put the default action back: the process ends by the signal it got.
  ::raise(signal);
}

// An open(2) of a new file, exclusively; -1 with errno set on failure.
int OpenExclusive(const fs::path& path) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
}

Status CreateFailure(const fs::path& path, const fs::path& target, int error) {
  if (error == ENOENT) {
    const fs::path folder = target.parent_path().empty() ? fs::path(".") : target.parent_path();
    return IoError("cannot write " + Quoted(target) + ": its folder " + Quoted(folder) +
                   " does not exist; create it first");
  }
  return IoError("cannot write " + Quoted(target) + ": cannot create " + Quoted(path) +
                 " beside it: " + std::strerror(error));
}

// ---- XXH64 ------------------------------------------------------------------------------------------

constexpr uint64_t kPrime1 = 0x9E3779B185EBCA87ULL;
constexpr uint64_t kPrime2 = 0xC2B2AE3D27D4EB4FULL;
constexpr uint64_t kPrime3 = 0x165667B19E3779F9ULL;
constexpr uint64_t kPrime4 = 0x85EBCA77C2B2AE63ULL;
constexpr uint64_t kPrime5 = 0x27D4EB2F165667C5ULL;
static_assert(std::endian::native == std::endian::little, "XXH64 reads little-endian words");

uint64_t Read64(const unsigned char* bytes) {
  uint64_t value = 0;
  std::memcpy(&value, bytes, sizeof(value));
  return value;
}

uint32_t Read32(const unsigned char* bytes) {
  uint32_t value = 0;
  std::memcpy(&value, bytes, sizeof(value));
  return value;
}

uint64_t Round(uint64_t accumulator, uint64_t input) {
  accumulator += input * kPrime2;
  return std::rotl(accumulator, 31) * kPrime1;
}

uint64_t MergeRound(uint64_t accumulator, uint64_t lane) {
  accumulator ^= Round(0, lane);
  return accumulator * kPrime1 + kPrime4;
}

}  // namespace

// ---- Identity and output checks ---------------------------------------------------------------------

std::optional<FileIdentity> IdentityOf(const fs::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return std::nullopt;
  return FileIdentity{.device = info.st_dev, .inode = info.st_ino};
}

const InputFile* FindInput(const fs::path& path, std::span<const InputFile> inputs) {
  const auto identity = IdentityOf(path);
  if (!identity) return nullptr;
  for (const InputFile& input : inputs) {
    if (IdentityOf(input.path) == identity) return &input;
  }
  return nullptr;
}

Status CheckOutputPath(const fs::path& output, std::span<const InputFile> inputs) {
  struct stat info {};
  if (::lstat(output.c_str(), &info) == 0) {
    if (S_ISDIR(info.st_mode)) {
      return InvalidArgument("output " + Quoted(output) + " is a directory; give the path of a file to write");
    }
    if (!S_ISREG(info.st_mode) && !S_ISLNK(info.st_mode)) {
      return InvalidArgument("output " + Quoted(output) + " is a " + KindOf(info.st_mode) +
                             ", not a regular file; onnxq replaces only regular files: give another output path");
    }
  }
  if (const InputFile* input = FindInput(output, inputs)) {
    return InvalidArgument("output " + Quoted(output) + " is the same file as " + input->role + " " +
                           Quoted(input->path) + "; writing it would destroy the input: give another output path");
  }
  return Status::Ok();
}

// ---- Reading ----------------------------------------------------------------------------------------

Result<std::string> ReadWholeFile(const fs::path& path, std::string_view what, int64_t max_bytes) {
  const std::string name = std::string(what) + " " + Quoted(path);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT || error == ENOTDIR) return NotFound("cannot open " + name + ": no such file");
    return IoError("cannot open " + name + ": " + std::strerror(error));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const int error = errno;
    return IoError("cannot read " + name + ": " + std::strerror(error));
  }
  if (S_ISDIR(info.st_mode)) return InvalidArgument(name + " is a directory, not a file");
  std::string bytes;
  if (S_ISREG(info.st_mode)) {
    if (info.st_size > max_bytes) {
      return InvalidArgument(name + " is " + std::to_string(info.st_size) + " bytes, over the limit of " +
                             std::to_string(max_bytes));
    }
    bytes.reserve(static_cast<size_t>(info.st_size));
  }
  std::array<char, size_t{1} << 16> chunk{};
  for (;;) {
    const ssize_t got = ::read(fd, chunk.data(), chunk.size());
    if (got == 0) break;
    if (got < 0) {
      const int error = errno;
      if (error == EINTR) continue;
      return IoError("cannot read " + name + ": " + std::strerror(error));
    }
    if (static_cast<int64_t>(bytes.size()) + got > max_bytes) {
      return InvalidArgument(name + " holds more than " + std::to_string(max_bytes) + " bytes, over the limit");
    }
    bytes.append(chunk.data(), static_cast<size_t>(got));
  }
  return bytes;
}

Result<fs::path> ResolveInsideFolder(const fs::path& folder, const std::string& location) {
  const fs::path relative(location);
  if (location.empty() || relative.is_absolute() ||
      std::any_of(relative.begin(), relative.end(), [](const fs::path& part) { return part == ".."; })) {
    return InvalidModel("external data '" + location +
                        "' points outside the model's folder; external data must sit beside the model");
  }
  std::error_code ec;
  const fs::path root = fs::canonical(folder.empty() ? fs::path(".") : folder, ec);
  if (ec) return IoError("cannot resolve the model's folder " + Quoted(folder) + ": " + ec.message());
  const fs::path joined = root / relative;
  const fs::path resolved = fs::canonical(joined, ec);
  if (ec) return joined;  // missing, or a dangling link: the caller reports it missing
  const fs::path inside = resolved.lexically_relative(root);
  if (inside.empty() || inside == "." || *inside.begin() == "..") {
    return InvalidModel("external data '" + location + "' resolves to " + Quoted(resolved) +
                        ", outside the model's folder " + Quoted(root) +
                        " (through a symlink); copy the file into the model's folder instead of linking it");
  }
  return resolved;
}

// ---- TemporaryFile ----------------------------------------------------------------------------------

TemporaryFile::TemporaryFile(fs::path path, fs::path target, int fd)
    : path_(std::move(path)), target_(std::move(target)), fd_(fd), owned_(true) {}

TemporaryFile::TemporaryFile(TemporaryFile&& other) noexcept
    : path_(std::move(other.path_)),
      target_(std::move(other.target_)),
      fd_(std::exchange(other.fd_, -1)),
      slot_(std::exchange(other.slot_, -1)),
      owned_(std::exchange(other.owned_, false)) {}

TemporaryFile::~TemporaryFile() {
  if (fd_ >= 0) ::close(fd_);
  if (owned_) ::unlink(path_.c_str());
  UnregisterTemporary(slot_);
}

Result<TemporaryFile> TemporaryFile::CreateAt(const fs::path& path, const fs::path& target) {
  const int fd = OpenExclusive(path);
  if (fd < 0) return CreateFailure(path, target, errno);
  TemporaryFile file(path, target, fd);
  file.slot_ = RegisterTemporary(path, TemporaryKind::kFile);
  return file;
}

Result<TemporaryFile> TemporaryFile::CreateBeside(const fs::path& target) {
  constexpr int kAttempts = 16;
  fs::path path;
  int error = EEXIST;
  for (int attempt = 0; attempt < kAttempts && error == EEXIST; ++attempt) {
    path = target.string() + ".tmp-" + RandomName(12);
    const int fd = OpenExclusive(path);
    if (fd >= 0) {
      TemporaryFile file(path, target, fd);
      file.slot_ = RegisterTemporary(path, TemporaryKind::kFile);
      return file;
    }
    error = errno;
  }
  return CreateFailure(path, target, error);
}

Status TemporaryFile::Write(std::string_view bytes) {
  while (!bytes.empty()) {
    const size_t chunk = std::min<size_t>(bytes.size(), size_t{1} << 30);
    const ssize_t written = ::write(fd_, bytes.data(), chunk);
    if (written < 0) {
      const int error = errno;
      if (error == EINTR) continue;
      return IoError("cannot write " + Quoted(target_) + ": " + std::strerror(error));
    }
    bytes.remove_prefix(static_cast<size_t>(written));
  }
  return Status::Ok();
}

Status TemporaryFile::Finish(Durability durability) {
  if (durability == Durability::kFlushToDisk && ::fsync(fd_) != 0) {
    const int error = errno;
    return IoError("cannot write " + Quoted(target_) + ": " + std::strerror(error));
  }
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) {
    const int error = errno;
    return IoError("cannot write " + Quoted(target_) + ": " + std::strerror(error));
  }
  return Status::Ok();
}

Status TemporaryFile::PublishAs(const fs::path& destination) {
  if (::rename(path_.c_str(), destination.c_str()) != 0) {
    const int error = errno;
    return IoError("cannot write " + Quoted(destination) + ": " + std::strerror(error));
  }
  Release();
  return Status::Ok();
}

void TemporaryFile::Abandon() {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  Release();
}

void TemporaryFile::Release() {
  owned_ = false;
  UnregisterTemporary(std::exchange(slot_, -1));
}

// ---- TemporaryFolder --------------------------------------------------------------------------------

Result<TemporaryFolder> TemporaryFolder::Create(std::string_view purpose) {
  std::error_code ec;
  const fs::path base = fs::temp_directory_path(ec);
  if (ec) {
    return IoError("cannot create a temporary folder for " + std::string(purpose) + ": " + ec.message() +
                   "; set TMPDIR to a writable folder");
  }
  std::string name = (base / "onnxq-XXXXXX").string();
  if (::mkdtemp(name.data()) == nullptr) {
    const int error = errno;
    return IoError("cannot create a temporary folder in " + Quoted(base) + " for " + std::string(purpose) + ": " +
                   std::strerror(error) + "; set TMPDIR to a writable folder");
  }
  const int slot = RegisterTemporary(name, TemporaryKind::kFolder);
  return TemporaryFolder(name, slot);
}

TemporaryFolder::TemporaryFolder(TemporaryFolder&& other) noexcept
    : path_(std::exchange(other.path_, {})), slot_(std::exchange(other.slot_, -1)) {}

TemporaryFolder::~TemporaryFolder() {
  std::error_code ignored;
  if (!path_.empty()) fs::remove_all(path_, ignored);
  UnregisterTemporary(slot_);
}

// ---- Signals and durability -------------------------------------------------------------------------

void RemoveTemporariesOnSignals() {
  for (const int signal : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction current {};
    if (::sigaction(signal, nullptr, &current) != 0 || current.sa_handler != SIG_DFL) continue;
    struct sigaction action {};
    action.sa_handler = RemoveTemporariesAndResignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND | SA_NODEFER;
    ::sigaction(signal, &action, nullptr);
  }
}

void SyncFolder(const fs::path& folder) {
  const int fd = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// ---- ContentHash ------------------------------------------------------------------------------------

ContentHash::ContentHash() : lanes_{kPrime1 + kPrime2, kPrime2, 0, 0 - kPrime1} {}

void ContentHash::Update(std::string_view bytes) {
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t size = bytes.size();
  total_ += size;
  auto consume = [this](const unsigned char* stripe) {
    for (size_t lane = 0; lane < 4; ++lane) lanes_[lane] = Round(lanes_[lane], Read64(stripe + 8 * lane));
  };
  if (buffered_ + size < buffer_.size()) {
    std::memcpy(buffer_.data() + buffered_, data, size);
    buffered_ += size;
    return;
  }
  if (buffered_ > 0) {
    const size_t fill = buffer_.size() - buffered_;
    std::memcpy(buffer_.data() + buffered_, data, fill);
    consume(buffer_.data());
    data += fill;
    size -= fill;
    buffered_ = 0;
  }
  for (; size >= buffer_.size(); data += buffer_.size(), size -= buffer_.size()) consume(data);
  std::memcpy(buffer_.data(), data, size);
  buffered_ = size;
}

uint64_t ContentHash::Digest() const {
  uint64_t hash = 0;
  if (total_ >= buffer_.size()) {
    hash = std::rotl(lanes_[0], 1) + std::rotl(lanes_[1], 7) + std::rotl(lanes_[2], 12) + std::rotl(lanes_[3], 18);
    for (const uint64_t lane : lanes_) hash = MergeRound(hash, lane);
  } else {
    hash = kPrime5;
  }
  hash += total_;
  const unsigned char* rest = buffer_.data();
  size_t size = buffered_;
  for (; size >= 8; rest += 8, size -= 8) hash = std::rotl(hash ^ Round(0, Read64(rest)), 27) * kPrime1 + kPrime4;
  if (size >= 4) {
    hash = std::rotl(hash ^ (uint64_t{Read32(rest)} * kPrime1), 23) * kPrime2 + kPrime3;
    rest += 4;
    size -= 4;
  }
  for (; size > 0; ++rest, --size) hash = std::rotl(hash ^ (uint64_t{*rest} * kPrime5), 11) * kPrime1;
  hash ^= hash >> 33;
  hash *= kPrime2;
  hash ^= hash >> 29;
  hash *= kPrime3;
  hash ^= hash >> 32;
  return hash;
}

std::string ContentHash::Hex() const {
  static constexpr std::string_view kDigits = "0123456789abcdef";
  const uint64_t digest = Digest();
  std::string hex(16, '0');
  for (size_t i = 0; i < 16; ++i) hex[15 - i] = kDigits[(digest >> (4 * i)) & 0xFU];
  return hex;
}

}  // namespace onnxq
