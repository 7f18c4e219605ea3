#include "io/image_folder_reader.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <thread>

#include "common/worker_pool.h"
#include "io/image_decode.h"

namespace onnxq {
namespace fs = std::filesystem;

namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The image files directly in `dir`, sorted by name.
std::vector<fs::path> ImagesIn(const fs::path& dir) {
  std::vector<fs::path> images;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (IsImageFileName(it->path()) && it->is_regular_file(ec)) images.push_back(it->path());
  }
  std::sort(images.begin(), images.end());
  return images;
}

// The sub-folders of `dir`, sorted by name.
std::vector<fs::path> FoldersIn(const fs::path& dir) {
  std::vector<fs::path> folders;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec)) folders.push_back(it->path());
  }
  std::sort(folders.begin(), folders.end());
  return folders;
}

Result<std::vector<std::byte>> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("cannot open");
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return IoError("cannot read");
  std::vector<std::byte> bytes(chars.size());
  std::transform(chars.begin(), chars.end(), bytes.begin(), [](char c) { return static_cast<std::byte>(c); });
  return bytes;
}

std::string Dims(int h, int w) { return std::to_string(h) + "x" + std::to_string(w); }

}  // namespace

bool IsImageFileName(const fs::path& path) {
  const std::string ext = Lower(path.extension().string());
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

bool IsImageFolder(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return false;
  if (!ImagesIn(dir).empty()) return true;
  const auto folders = FoldersIn(dir);
  return std::any_of(folders.begin(), folders.end(), [](const fs::path& f) { return !ImagesIn(f).empty(); });
}

Result<ImageFolderListing> ListImageFolder(const fs::path& dir, int64_t max_samples) {
  ImageFolderListing listing;
  std::vector<std::vector<fs::path>> per_class;
  if (auto flat = ImagesIn(dir); !flat.empty()) {
    listing.classes.emplace_back();
    per_class.push_back(std::move(flat));
  } else {
    for (const auto& folder : FoldersIn(dir)) {
      auto images = ImagesIn(folder);
      if (images.empty()) continue;
      listing.classes.push_back(folder.filename().string());
      per_class.push_back(std::move(images));
    }
  }
  if (per_class.empty()) {
    return NotFound("no .jpg, .jpeg or .png images in '" + dir.string() + "' nor in its sub-folders");
  }
  // How many of each class: round-robin over the classes until max_samples are taken.
  std::vector<size_t> take(per_class.size(), 0);
  size_t total = 0;
  size_t available = 0;
  for (const auto& c : per_class) available += c.size();
  const size_t limit = max_samples < 0 ? available : std::min(available, static_cast<size_t>(max_samples));
  while (total < limit) {
    for (size_t c = 0; c < per_class.size() && total < limit; ++c) {
      if (take[c] < per_class[c].size()) {
        ++take[c];
        ++total;
      }
    }
  }
  for (size_t c = 0; c < per_class.size(); ++c) {
    for (size_t i = 0; i < take[c]; ++i) listing.files.push_back({per_class[c][i], static_cast<int>(c)});
  }
  return listing;
}

ImageFolderReader::ImageFolderReader(ImageFolderListing listing, std::string input_name, ImageFolderOptions options)
    : listing_(std::move(listing)), input_name_(std::move(input_name)), options_(options) {
  const auto& p = options_.preprocess;
  sample_floats_ = static_cast<size_t>(ChannelsOf(p.color)) * p.crop_h * p.crop_w;
  const int threads =
      options_.threads > 0 ? options_.threads : static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  // The thread that decodes ahead works in the pool too.
  pool_ = std::make_unique<WorkerPool>(threads);
}

ImageFolderReader::~ImageFolderReader() {
  if (pending_.valid()) pending_.wait();
}

Result<std::unique_ptr<ImageFolderReader>> ImageFolderReader::Open(const fs::path& dir, std::string input_name,
                                                                   const std::vector<int64_t>& input_shape,
                                                                   ImageFolderOptions options) {
  ImagePreprocessOptions& p = options.preprocess;
  const int channels = ChannelsOf(p.color);
  const std::string who = "model input '" + input_name + "'";
  if (input_shape.size() != 4) {
    return InvalidArgument(who + " has " + std::to_string(input_shape.size()) +
                           " axes; images feed an input [N,C,H,W] (--layout nchw) or [N,H,W,C] (--layout nhwc)");
  }
  const bool nchw = p.layout == ImageLayout::kNchw;
  const int64_t c = nchw ? input_shape[1] : input_shape[3];
  const int64_t h = nchw ? input_shape[2] : input_shape[1];
  const int64_t w = nchw ? input_shape[3] : input_shape[2];
  if (c > 0 && c != channels) {
    return InvalidArgument(who + " takes " + std::to_string(c) + " channels (" + (nchw ? "NCHW" : "NHWC") +
                           ") but the images give " + std::to_string(channels) + ": " +
                           (c == 1 ? "give --color gray" : "give --color rgb or bgr, or the other --layout"));
  }
  if (p.crop_h <= 0) p.crop_h = static_cast<int>(h);
  if (p.crop_w <= 0) p.crop_w = static_cast<int>(w);
  if (p.crop_h <= 0 || p.crop_w <= 0) {
    return InvalidArgument(who + " leaves its height or width symbolic: give --crop H,W");
  }
  if ((h > 0 && h != p.crop_h) || (w > 0 && w != p.crop_w)) {
    return InvalidArgument(who + " takes " + Dims(static_cast<int>(h), static_cast<int>(w)) +
                           " images but the crop is " + Dims(p.crop_h, p.crop_w) + ": give --crop " +
                           std::to_string(h) + "," + std::to_string(w) + " (and --resize)");
  }
  if (p.resize_shorter > 0 && p.resize_shorter < std::min(p.crop_h, p.crop_w)) {
    return InvalidArgument("--resize " + std::to_string(p.resize_shorter) + " is smaller than the crop " +
                           Dims(p.crop_h, p.crop_w));
  }
  if (options.batch_size < 1) options.batch_size = 1;
  ONNXQ_ASSIGN_OR_RETURN(ImageFolderListing listing, ListImageFolder(dir, options.max_samples));
  std::unique_ptr<ImageFolderReader> reader(new ImageFolderReader(std::move(listing), std::move(input_name), options));
  reader->StartNext();
  return reader;
}

ImageFolderReader::Batch ImageFolderReader::Decode(size_t first, size_t count) const {
  std::vector<std::vector<float>> samples(count);
  std::vector<std::string> errors(count);
  pool_->ParallelFor(static_cast<int64_t>(count), [&](int64_t i) {
    const auto k = static_cast<size_t>(i);
    const fs::path& path = listing_.files[first + k].path;
    Status status = [&]() -> Status {
      ONNXQ_ASSIGN_OR_RETURN(const std::vector<std::byte> bytes, ReadFile(path));
      ONNXQ_ASSIGN_OR_RETURN(const RgbImage image, DecodeImage(bytes));
      samples[k].resize(sample_floats_);
      return PreprocessImage(image.pixels, image.width, image.height, options_.preprocess, samples[k]);
    }();
    if (!status.ok()) {
      samples[k].clear();
      errors[k] = "skipped image '" + path.string() + "': " + status.message();
    }
  });
  Batch batch;
  for (size_t k = 0; k < count; ++k) {
    if (!errors[k].empty()) {
      batch.warnings.push_back(std::move(errors[k]));
      continue;
    }
    batch.values.insert(batch.values.end(), samples[k].begin(), samples[k].end());
    batch.labels.push_back(listing_.files[first + k].label);
  }
  return batch;
}

void ImageFolderReader::StartNext() {
  if (next_ >= listing_.files.size()) return;
  const size_t first = next_;
  const size_t count = std::min(static_cast<size_t>(options_.batch_size), listing_.files.size() - first);
  next_ = first + count;
  pending_ = std::async(std::launch::async, [this, first, count] { return Decode(first, count); });
}

Result<std::optional<Feeds>> ImageFolderReader::GetNext() {
  while (pending_.valid()) {
    Batch batch = pending_.get();
    StartNext();
    for (auto& w : batch.warnings) warnings_.push_back(std::move(w));
    if (batch.labels.empty()) continue;  // every image of the batch was skipped
    batch_labels_ = std::move(batch.labels);
    const auto& p = options_.preprocess;
    const int64_t n = static_cast<int64_t>(batch_labels_.size());
    const int64_t channels = ChannelsOf(p.color);
    std::vector<int64_t> shape = p.layout == ImageLayout::kNchw ? std::vector<int64_t>{n, channels, p.crop_h, p.crop_w}
                                                                : std::vector<int64_t>{n, p.crop_h, p.crop_w, channels};
    Feeds feeds;
    feeds.push_back(Tensor::FromFloats(input_name_, std::move(shape), batch.values));
    return std::optional<Feeds>(std::move(feeds));
  }
  batch_labels_.clear();
  return std::optional<Feeds>();
}

std::vector<int64_t> ImageFolderReader::BatchLabels() const {
  if (listing_.classes.size() == 1 && listing_.classes[0].empty()) return {};
  return {batch_labels_.begin(), batch_labels_.end()};
}

Status ImageFolderReader::Rewind() {
  if (pending_.valid()) pending_.wait();
  pending_ = {};
  next_ = 0;
  batch_labels_.clear();
  warnings_.clear();
  StartNext();
  return Status::Ok();
}

}  // namespace onnxq
