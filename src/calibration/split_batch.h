// Splitting a batch of model inputs along axis 0: for models with a fixed batch size, and into runs
// small enough that their activations stay in cache.
#pragma once

#include <cstdint>
#include <vector>

#include "onnxq/status.h"
#include "onnxq/tensor.h"

namespace onnxq {

// Samples are counted by SamplesIn (tensor.h). Only tensors with a batch axis are cut: a feed holding
// a tensor fed whole (Tensor::batch_axis false) is never cut and comes back as it is.

// Pieces of `batch` samples each (batch <= 0 or equal to the batch's size: the batch itself). A batch
// that does not divide evenly is an error.
Result<std::vector<Feeds>> SplitBatch(Feeds feeds, int64_t batch);

// Pieces of at most `max_batch` samples, the last one holding what remains (max_batch <= 0: the batch
// itself).
std::vector<Feeds> SplitBatchAtMost(Feeds feeds, int64_t max_batch);

// A copy of the first `count` samples of `feeds` (all of it when it holds no more, or cannot be cut),
// copying only those samples' bytes.
Feeds FirstSamples(const Feeds& feeds, int64_t count);

}  // namespace onnxq
