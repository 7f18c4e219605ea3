// Calibration data from a folder of images, ImageNet style: one sub-folder per class
// (train/n01440764/x.JPEG ...), or the images themselves in a flat folder.
//
// - Images: files ending in .jpg, .jpeg or .png (any case), decoded with image_decode.h and
//   preprocessed with image_preprocess.h into one model input.
// - Order: class folders sorted by name, files sorted by name within each; a flat folder is one class.
//   The label of an image is the index of its class folder in that order (0 for a flat folder).
// - max_samples takes images evenly across classes: round-robin over the sorted classes, each class's
//   files in order, until max_samples are taken or every class is exhausted. The samples are then read
//   class by class in the order above.
// - Decoding runs on a small worker pool, one batch ahead: the next batch decodes while the current one
//   is consumed.
// - An image that cannot be read or decoded is skipped with a warning naming the file, and counted; a
//   batch then holds fewer samples. The last batch may hold fewer too.
#pragma once

#include <cstdint>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "algorithms/image_preprocess.h"
#include "onnxq/data_reader.h"

namespace onnxq {

class WorkerPool;

struct ImageFile {
  std::filesystem::path path;
  int label = 0;  // index into ImageFolderListing::classes
};

struct ImageFolderListing {
  std::vector<std::string> classes;  // sorted class-folder names; {""} for a flat folder
  std::vector<ImageFile> files;      // in reading order
};

// Whether the name ends in .jpg, .jpeg or .png, in any case.
bool IsImageFileName(const std::filesystem::path& path);

// Whether `dir` is a folder holding images, or class sub-folders holding images.
bool IsImageFolder(const std::filesystem::path& dir);

// The images of `dir` in reading order, at most `max_samples` (-1: all) taken evenly across classes. A
// folder without images is an error naming it.
Result<ImageFolderListing> ListImageFolder(const std::filesystem::path& dir, int64_t max_samples);

struct ImageFolderOptions {
  ImagePreprocessOptions preprocess;
  int64_t batch_size = 1;    // samples per batch
  int64_t max_samples = -1;  // -1: all
  int threads = 2;           // decode workers (the consuming thread not counted); <= 0: one per core
};

class ImageFolderReader final : public CalibrationDataReader {
 public:
  // The reader for the model input `input_name`, whose shape `input_shape` has a batch axis first and
  // then [C,H,W] (layout kNchw) or [H,W,C] (kNhwc). A crop left at 0 takes H and W from the shape; a
  // shape whose channels differ from the color's (1 for gray, 3 otherwise) or whose fixed H, W differ
  // from the crop is an error that says which option to give.
  static Result<std::unique_ptr<ImageFolderReader>> Open(const std::filesystem::path& dir, std::string input_name,
                                                         const std::vector<int64_t>& input_shape,
                                                         ImageFolderOptions options);
  ~ImageFolderReader() override;
  ImageFolderReader(const ImageFolderReader&) = delete;
  ImageFolderReader& operator=(const ImageFolderReader&) = delete;

  Result<std::optional<Feeds>> GetNext() override;
  Status Rewind() override;
  // The images listed; skipped ones lower the number actually handed out.
  int64_t SampleCount() const override { return static_cast<int64_t>(listing_.files.size()); }
  // The class-folder indices of batch_labels(); empty for a flat folder, whose images carry no class.
  std::vector<int64_t> BatchLabels() const override;
  int64_t SkippedSamples() const override { return skipped(); }

  const ImageFolderListing& listing() const { return listing_; }
  // Labels of the samples of the batch GetNext returned last, in order.
  const std::vector<int>& batch_labels() const { return batch_labels_; }
  // Images skipped so far, and a warning for each: "skipped image '<path>': <reason>".
  int64_t skipped() const { return static_cast<int64_t>(warnings_.size()); }
  const std::vector<std::string>& warnings() const { return warnings_; }
  const ImagePreprocessOptions& preprocess() const { return options_.preprocess; }

 private:
  struct Batch {
    std::vector<float> values;  // the samples decoded, packed
    std::vector<int> labels;
    std::vector<std::string> warnings;
  };

  ImageFolderReader(ImageFolderListing listing, std::string input_name, ImageFolderOptions options);
  Batch Decode(size_t first, size_t count) const;
  void StartNext();

  ImageFolderListing listing_;
  std::string input_name_;
  ImageFolderOptions options_;
  size_t sample_floats_ = 0;
  size_t next_ = 0;  // the first file of the batch not yet started
  std::vector<int> batch_labels_;
  std::vector<std::string> warnings_;
  std::unique_ptr<WorkerPool> pool_;
  std::future<Batch> pending_;  // declared after the pool: destroyed (awaited) first
};

}  // namespace onnxq
