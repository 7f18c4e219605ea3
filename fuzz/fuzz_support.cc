#include "fuzz_support.h"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace onnxq::fuzz {
namespace fs = std::filesystem;

namespace {

class ScratchFolder {
 public:
  ScratchFolder() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = (fs::path(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") / "onnxq-fuzz-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot make a scratch folder " + pattern);
    path_ = pattern;
  }
  ~ScratchFolder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;

  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

}  // namespace

fs::path WriteScratchFile(const std::string& name, std::string_view bytes) {
  static const ScratchFolder folder;
  fs::path path = folder.path() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
  return path;
}

void Drain(CalibrationDataReader& reader) {
  for (auto batch = reader.GetNext(); batch.ok() && batch->has_value(); batch = reader.GetNext()) {
  }
  if (reader.Rewind().ok()) (void)reader.GetNext();
}

}  // namespace onnxq::fuzz
