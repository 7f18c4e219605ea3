// A graph pass rewrites a model in place and reports what it changed. Each pass lives in its own
// .h/.cc pair named after its id (the name the CLI's `optimize --passes` accepts) and opens with its
// Before/After, preconditions and formula.
#pragma once

#include <onnx/onnx_pb.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "onnxq/status.h"

namespace onnxq {

struct PassReport {
  int64_t changes = 0;              // rewrites made (0: the model is unchanged)
  std::vector<std::string> notes;   // one line per noteworthy rewrite or skip
};

class GraphPass {
 public:
  virtual ~GraphPass() = default;
  virtual std::string_view name() const = 0;
  virtual std::string_view summary() const = 0;
  virtual Result<PassReport> Run(onnx::ModelProto& model) const = 0;
};

}  // namespace onnxq
