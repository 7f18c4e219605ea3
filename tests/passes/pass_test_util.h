// Helpers for the graph-pass tests: run a pass by id, count ops, compare a model's function before
// and after a rewrite on given inputs.
#pragma once

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "onnxq/options.h"
#include "onnxq/tensor.h"
#include "passes/graph_pass.h"

namespace onnxq::testing {

// Runs the pass `id` on `model` (in place) and returns its report; fails the test on an error.
PassReport RunPassOk(const std::string& id, onnx::ModelProto& model, PassContext& context,
                     const PassOptions& options = {});
PassReport RunPassOk(const std::string& id, onnx::ModelProto& model, const PassOptions& options = {});
// Runs the pass `id` on a copy of `model` and checks that it reports no change and leaves the model
// as it was, byte for byte.
void ExpectPassChangesNothing(const std::string& id, const onnx::ModelProto& model);

// Forgets the declared shapes of the graph's inputs, outputs and value_info, leaving their types: ONNX text
// writes `float X` as a scalar, and a test of an unknown rank needs no shape at all.
void ClearShapes(onnx::ModelProto& model);

std::map<std::string, int> OpCounts(const onnx::ModelProto& model);
const onnx::NodeProto* FindNode(const onnx::ModelProto& model, const std::string& op_type, int occurrence = 0);
const onnx::TensorProto* FindInitializer(const onnx::ModelProto& model, const std::string& name);
std::vector<float> InitializerValues(const onnx::ModelProto& model, const std::string& name);
// The integer values of an integer initializer (quantized codes); empty when there is none.
std::vector<int64_t> InitializerCodes(const onnx::ModelProto& model, const std::string& name);
// `text` with the first `from` replaced by `to`; fails the test when `from` is not in it.
std::string Replaced(std::string text, const std::string& from, const std::string& to);
// The element type (onnx::TensorProto::DataType) of a tensor-typed value.
int32_t ElemType(const onnx::ValueInfoProto& info);

// A float tensor of uniform random values in [low, high).
Tensor RandomTensor(const std::string& name, std::vector<int64_t> shape, uint32_t seed, float low = -1.0F,
                    float high = 1.0F);

// Adds (or replaces) a float32 initializer. Graphs in the tests name their weights in ONNX text and get
// the values from here.
void SetInitializer(onnx::ModelProto& model, const std::string& name, const std::vector<int64_t>& dims,
                    const std::vector<float>& values);
void SetRandomInitializer(onnx::ModelProto& model, const std::string& name, const std::vector<int64_t>& dims,
                          uint32_t seed, float low = -1.0F, float high = 1.0F);

// max |a - b| / max |a| (a is the reference); +inf when the sizes differ or a is empty.
double MaxRelativeDifference(const std::vector<float>& a, const std::vector<float>& b);

// Runs both models on every feed set and checks the first outputs agree to `tolerance` relative.
void ExpectSameFunction(const onnx::ModelProto& before, const onnx::ModelProto& after, const std::vector<Feeds>& feeds,
                        double tolerance = 1e-4);

// Runs both models on `feeds` and checks that they have as many outputs, each of the same size and within
// `max_abs_error` of the other, element by element.
void ExpectSameOutputs(const onnx::ModelProto& before, const onnx::ModelProto& after, const Feeds& feeds,
                       double max_abs_error);

// `count` single-sample feeds for input `input` [1, 1, 28, 28] from the Fashion-MNIST calibration file.
std::vector<Feeds> FmnistSamples(const std::string& input, int64_t count);
// The same number of uniform random samples in [-2, 2).
std::vector<Feeds> RandomSamples(const std::string& input, std::vector<int64_t> shape, int64_t count, uint32_t seed);

// Loads a model from data/fmnist/models, failing the test when that is impossible.
onnx::ModelProto LoadTestModel(const std::string& file);

}  // namespace onnxq::testing
