// The floor of any calibrating quantizer on a model: a plain ONNX Runtime session, as a user would open
// one (the model by path, so the runtime reads its external data itself; default options), running the
// model on every sample of a .npy file, one sample per run. Prints the seconds to open the session and
// to run the samples; measure the process with /usr/bin/time -v for its peak RSS.
//   float_session_run MODEL DATA.npy
#include <onnxruntime_cxx_api.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "onnxq/data_reader.h"

namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

int Run(const char* model_path, const char* data_path) {
  Ort::Env env(ORT_LOGGING_LEVEL_WARNING, "float_session_run");
  auto start = Clock::now();
  Ort::Session session(env, model_path, Ort::SessionOptions{});
  const double open_seconds = SecondsSince(start);
  Ort::AllocatorWithDefaultOptions allocator;
  const std::string input = session.GetInputNameAllocated(0, allocator).get();
  std::vector<std::string> outputs;
  for (size_t i = 0; i < session.GetOutputCount(); ++i)
    outputs.emplace_back(session.GetOutputNameAllocated(i, allocator).get());
  std::vector<const char*> output_names;
  output_names.reserve(outputs.size());
  for (const auto& name : outputs) output_names.push_back(name.c_str());
  auto reader = onnxq::OpenArrayFiles({{.input_name = input, .path = data_path}}, {.batch_size = 1});
  if (!reader.ok()) {
    std::fprintf(stderr, "error: %s\n", reader.status().message().c_str());
    return 1;
  }
  const auto memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  const char* input_name = input.c_str();
  int samples = 0;
  start = Clock::now();
  while (true) {
    auto next = (*reader)->GetNext();
    if (!next.ok()) {
      std::fprintf(stderr, "error: %s\n", next.status().message().c_str());
      return 1;
    }
    if (!next->has_value()) break;
    onnxq::Tensor& feed = (**next)[0];
    auto value = Ort::Value::CreateTensor(memory, feed.bytes.data(), feed.bytes.size(), feed.shape.data(),
                                          feed.shape.size(), ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT);
    session.Run(Ort::RunOptions{nullptr}, &input_name, &value, 1, output_names.data(), output_names.size());
    ++samples;
  }
  std::printf("open %.2f s, %d runs %.2f s\n", open_seconds, samples, SecondsSince(start));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: float_session_run MODEL DATA.npy\n");
    return 2;
  }
  try {
    return Run(argv[1], argv[2]);
  } catch (const Ort::Exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
