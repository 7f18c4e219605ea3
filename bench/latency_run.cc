// One process of the latency benchmark (bench/run_latency_bench.sh): loads MODEL into an ONNX Runtime
// CPU session with THREADS intra-op threads (sequential execution, all graph optimizations, as a user
// gets by default) and runs it COUNT times at batch 1 on fixed pseudo-random inputs. The script times
// whole processes, so a run of 8 images measured against one of 104 cancels start-up, model loading
// and session creation: (t(104) - t(8)) / 96 is the steady-state time per image.
// Dynamic axes are set to 1. Float inputs are uniform in [-1, 1), integer inputs 0, bool inputs false.
// Usage: latency_run MODEL COUNT [THREADS]
// Environment: LATENCY_RUN_OPTIMIZED=FILE writes the graph ONNX Runtime runs (after its QDQ fusions) to
// FILE; LATENCY_RUN_PROFILE=PREFIX writes ONNX Runtime's per-node profile to PREFIX*.json.
#include <onnxruntime_cxx_api.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <random>
#include <string>
#include <vector>

namespace {

struct InputBuffers {
  std::vector<std::string> names;
  std::vector<std::vector<float>> floats;
  std::vector<std::vector<int64_t>> ints;
  std::vector<std::vector<char>> bools;
  std::vector<Ort::Value> values;
};

InputBuffers MakeInputs(Ort::Session& session) {
  InputBuffers buffers;
  const Ort::AllocatorWithDefaultOptions allocator;
  const Ort::MemoryInfo memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1.0F, 1.0F);
  const size_t count = session.GetInputCount();
  buffers.floats.resize(count);
  buffers.ints.resize(count);
  buffers.bools.resize(count);
  for (size_t i = 0; i < count; ++i) {
    buffers.names.emplace_back(session.GetInputNameAllocated(i, allocator).get());
    const Ort::TypeInfo type_info = session.GetInputTypeInfo(i);
    const auto info = type_info.GetTensorTypeAndShapeInfo();
    std::vector<int64_t> shape = info.GetShape();
    size_t elements = 1;
    for (auto& dim : shape) {
      if (dim < 0) dim = 1;
      elements *= static_cast<size_t>(dim);
    }
    switch (info.GetElementType()) {
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT:
        buffers.floats[i].resize(elements);
        for (auto& v : buffers.floats[i]) v = uniform(rng);
        buffers.values.push_back(
            Ort::Value::CreateTensor<float>(memory, buffers.floats[i].data(), elements, shape.data(), shape.size()));
        break;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL:
        buffers.bools[i].assign(elements, 0);
        buffers.values.push_back(Ort::Value::CreateTensor<bool>(
            memory, reinterpret_cast<bool*>(buffers.bools[i].data()), elements, shape.data(), shape.size()));
        break;
      default:
        buffers.ints[i].assign(elements, 0);
        buffers.values.push_back(
            Ort::Value::CreateTensor<int64_t>(memory, buffers.ints[i].data(), elements, shape.data(), shape.size()));
        break;
    }
  }
  return buffers;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: latency_run MODEL COUNT [THREADS]\n");
    return 2;
  }
  try {
    const int count = std::atoi(argv[2]);
    const int threads = argc > 3 ? std::atoi(argv[3]) : 2;
    Ort::Env env(ORT_LOGGING_LEVEL_ERROR, "latency_run");
    Ort::SessionOptions options;
    options.SetIntraOpNumThreads(threads);
    options.SetInterOpNumThreads(1);
    options.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_ALL);
    if (const char* optimized = std::getenv("LATENCY_RUN_OPTIMIZED")) options.SetOptimizedModelFilePath(optimized);
    if (const char* profile = std::getenv("LATENCY_RUN_PROFILE")) options.EnableProfiling(profile);
    Ort::Session session(env, argv[1], options);
    InputBuffers inputs = MakeInputs(session);
    std::vector<const char*> input_names;
    for (const auto& name : inputs.names) input_names.push_back(name.c_str());
    const Ort::AllocatorWithDefaultOptions allocator;
    std::vector<std::string> output_names;
    for (size_t i = 0; i < session.GetOutputCount(); ++i) {
      output_names.emplace_back(session.GetOutputNameAllocated(i, allocator).get());
    }
    std::vector<const char*> outputs;
    for (const auto& name : output_names) outputs.push_back(name.c_str());
    for (int i = 0; i < count; ++i) {
      session.Run(Ort::RunOptions{nullptr}, input_names.data(), inputs.values.data(), input_names.size(),
                  outputs.data(), outputs.size());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "latency_run: %s: %s\n", argv[1], e.what());
    return 1;
  }
  return 0;
}
