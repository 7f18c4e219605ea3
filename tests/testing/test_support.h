// Shared helpers for onnxq tests: data paths, models from ONNX text syntax, running models in ONNX
// Runtime. The helpers that need no runtime (VectorReader, FakeBackend) have a library of their own.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "onnxq/data_reader.h"
#include "onnxq/quantize.h"
#include "onnxq/tensor.h"
#include "testing/model_text.h"
#include "testing/vector_reader.h"

namespace onnxq::testing {

// Folder with the test data and models kept in the repository (data/fmnist).
std::filesystem::path DataDir();
std::filesystem::path ModelPath(const std::string& file);  // data/fmnist/models/<file>
// A fresh empty temporary folder, removed at process exit is not guaranteed: tests clean up.
std::filesystem::path TempDir(const std::string& name);

// Whole file as bytes ("" if unreadable); writes replace the file.
std::string ReadBytes(const std::filesystem::path& path);
void WriteBytes(const std::filesystem::path& path, const std::string& bytes);
// File names in `dir`, sorted.
std::vector<std::string> Listing(const std::filesystem::path& dir);

// Every output of `model` on `feeds` in ONNX Runtime, in graph order (failures are test failures).
std::vector<std::vector<float>> RunAllOutputs(const onnx::ModelProto& model, const Feeds& feeds);
// Runs the model in ONNX Runtime and returns the first output's values.
std::vector<float> RunFirstOutput(const onnx::ModelProto& model, const Feeds& feeds);
// Runs, in ONNX Runtime directly (one thread), a model whose one input and first output are float16:
// `input` is rounded to float16 (FloatToHalf), the output is returned as floats.
std::vector<float> RunFloat16Model(const onnx::ModelProto& model, const Tensor& input);
// Runs the model file at `path` in ONNX Runtime directly from disk, so the runtime itself resolves
// external data (the library's backend always hands it an in-memory model below 2 GB). One float32
// input; returns the first output.
std::vector<float> RunModelFile(const std::filesystem::path& path, const Tensor& input);

// Fails the test unless both have the same size, are not empty, and max |expected - actual| <=
// `fraction` x max |expected| (computed in float).
void ExpectWithinFractionOfPeak(const std::vector<float>& expected, const std::vector<float>& actual, float fraction);

// An int64 tensor of `values` (with a batch axis; clear `batch_axis` for one fed whole).
Tensor Int64Tensor(std::string name, std::vector<int64_t> shape, std::span<const int64_t> values);

// Whether a warning of the report contains `text`.
bool HasWarning(const QuantizeReport& report, const std::string& text);

// A model with Silero VAD's kinds of inputs: X [N, 4] with a batch axis, a scalar int64 sample rate
// `sr` and a state S [2, N, 3] whose first axis is not the batch. Y = X W + sum(S) * sr / 16000.
onnx::ModelProto StatefulModel();

// `count` single-input feeds of `shape`, values uniform in [-1, 1) from std::mt19937(seed).
std::vector<Feeds> UniformFeeds(const std::string& input, const std::vector<int64_t>& shape, int count, unsigned seed);

// The initializer called `name` in `graph`, nullptr if none.
const onnx::TensorProto* FindInitializer(const onnx::GraphProto& graph, const std::string& name);

// A sequence model with a dynamic length T: X [N, T, 4] => Y [N, 3] = mean over T of Relu(X W) + B.
onnx::ModelProto SequenceModel();

// Conv (pads 1) -> Relu -> GlobalAveragePool -> Flatten -> Gemm (transB), every tensor float16: X [1, 2,
// size, size] => Y [1, 3]. The caller adds the initializers W and B (Conv) and Wg and Bg (Gemm).
onnx::ModelProto Float16ConvGemmGraph(int64_t size);

// The first `count` samples of a float32 .npy file [N, ...] as one tensor named `input`.
Tensor LoadNpySamples(const std::filesystem::path& path, const std::string& input, int64_t first, int64_t count);

}  // namespace onnxq::testing
