// Splitting a batch of model inputs along axis 0: for models with a fixed batch size, and into runs
// small enough that their activations stay in cache.
#pragma once

#include <cstdint>
#include <vector>

#include "onnxq/status.h"
#include "onnxq/tensor.h"

namespace onnxq {

// Pieces of `batch` samples each (batch <= 0 or equal to the batch's size: the batch itself). A batch
// that does not divide evenly is an error.
Result<std::vector<Feeds>> SplitBatch(Feeds feeds, int64_t batch);

// Pieces of at most `max_batch` samples, the last one holding what remains (max_batch <= 0: the batch
// itself).
std::vector<Feeds> SplitBatchAtMost(Feeds feeds, int64_t max_batch);

}  // namespace onnxq
