// Graph passes on their own (`onnxq optimize`, onnxq.optimize() in Python): the passes the quantize
// pipeline runs, by id, in the order given.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "onnxq/options.h"
#include "onnxq/status.h"

namespace onnxq {

struct PassInfo {
  std::string id;       // fold_batch_norm, equalize_cross_layer ...
  std::string summary;  // what it does, one line
};

// Every pass, by id.
std::vector<PassInfo> ListPasses();

// OK when every id names a pass that `options` configure; else NotFound naming the id and the known ones.
Status CheckPassIds(const std::vector<std::string>& ids, const PassOptions& options);

struct PassSummary {
  std::string id;
  int64_t changes = 0;             // rewrites made (0: the pass left the model as it was)
  std::vector<std::string> notes;  // one line per noteworthy rewrite or skip
};

// Runs the passes `ids` in order on one shared context (so absorb_high_bias sees the batch norms
// fold_batch_norm folded earlier in the list), after shape inference, which passes that need ranks
// (convert_bn_to_conv) read. The model keeps only the value_info it had. Stops at the first error,
// which names the pass; `model` is then partly rewritten.
Result<std::vector<PassSummary>> OptimizeModel(onnx::ModelProto& model, const std::vector<std::string>& ids,
                                               const PassOptions& options);

// The graph inputs of `model` as the quantize pipeline feeds them, for opening its data (OpenData): a
// model of those inputs only, no nodes or weights, each input 4-D NHWC with options.convert_nchw_to_nhwc.
onnx::ModelProto InputsAsFed(const onnx::ModelProto& model, const PassOptions& options);

}  // namespace onnxq
