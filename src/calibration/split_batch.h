// Splitting a batch of model inputs along axis 0, for models with a fixed batch size.
#pragma once

#include <cstdint>
#include <vector>

#include "onnxq/status.h"
#include "onnxq/tensor.h"

namespace onnxq {

// Pieces of `batch` samples each (batch <= 0 or equal to the batch's size: the batch itself). A batch
// that does not divide evenly is an error.
Result<std::vector<Feeds>> SplitBatch(Feeds feeds, int64_t batch);

}  // namespace onnxq
