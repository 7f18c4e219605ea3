// A graph pass rewrites a model in place and reports what it changed. Each pass lives in its own
// .h/.cc pair named after its id (the name the CLI's `optimize --passes` accepts) and opens with its
// Before/After, preconditions and formula.
#pragma once

#include <onnx/onnx_pb.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "onnxq/status.h"

namespace onnxq {

struct PassReport {
  int64_t changes = 0;             // rewrites made (0: the model is unchanged)
  std::vector<std::string> notes;  // one line per noteworthy rewrite or skip
};

// Per-channel statistics of a layer's output that a folded BatchNormalization leaves behind: over the
// training data the output of channel i is distributed ~N(beta_i, gamma_i^2).
struct BatchNormStats {
  std::vector<float> gamma;
  std::vector<float> beta;
};

// What the passes of one run share besides the model. The statistics of folded batch norms live
// here, not in the model: fold_batch_norm records them, equalize_cross_layer rescales them with the
// layers it rescales, absorb_high_bias reads them. They are therefore only available to passes that
// run after fold_batch_norm in the same run (one `optimize --passes` list, or one quantize pipeline).
struct PassContext {
  // Keyed by the output tensor of the layer the batch norm was folded into.
  std::map<std::string, BatchNormStats> batch_norm_stats;
};

class GraphPass {
 public:
  virtual ~GraphPass() = default;
  virtual std::string_view name() const = 0;
  virtual std::string_view summary() const = 0;
  virtual Result<PassReport> Run(onnx::ModelProto& model, PassContext& context) const = 0;
};

}  // namespace onnxq
