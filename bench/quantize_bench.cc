// One benchmark row for `onnxq quantize` on a model and N calibration samples:
//   (a) float ONNX Runtime inference over the same N samples (the floor: a calibrating quantizer
//       must run the model on every sample): the fastest of the runtime's own threading and
//       batch-parallel workers, at the model's batch size and, for a fixed batch of 1, also with a
//       symbolic batch axis, in runs of 1, 4, 16 and 32 samples,
//   (b) wall time of the `onnxq quantize` process, (c) their ratio, (d) its peak RSS,
//   (e) wall time of a process that only runs that float inference, in the fastest set-up of (a):
//       start, load the runtime and the model, build the session, run every sample (what any
//       calibrating quantizer run as a process pays at least), (f) b/e.
// Each is the best of three rounds (peak RSS: the largest), since a shared machine's speed drifts.
// The floor's fastest set-up goes to stderr.
// Usage: quantize_bench ONNXQ_BINARY MODEL CALIB_DATA [extra onnxq quantize arguments...]
// (quantize_bench --float-process MODEL CALIB_DATA WORKERS BATCH is (e), run as a child;
// quantize_bench --measure COMMAND... runs a command and prints its wall time and peak RSS: (b), (d) and
// (e) are measured from such a fresh process, see RunMeasured.)
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "calibration/batch_rewrite.h"
#include "calibration/collect_statistics.h"
#include "calibration/onnxruntime_backend.h"
#include "onnxq/data_reader.h"
#include "onnxq/model_io.h"

namespace {

using Clock = std::chrono::steady_clock;

// Float inference over every sample of `data`. workers == 1: one session with the runtime's own
// intra-op threads; workers > 1: that many threads share one session, each running whole batches
// single-threaded (how onnxq calibrates). The floor is the faster of the two.
// A model with a fixed batch of 1 runs with a symbolic batch axis (what onnxq does when the graph
// allows it) in runs of `batch` samples; a model with another fixed batch runs at that batch.
double FloatInferenceSeconds(const std::string& model_path, const std::string& data, int workers, int64_t batch,
                             int64_t* samples) {
  auto model = onnxq::LoadModel(model_path);
  if (!model.ok()) throw std::runtime_error(model.status().message());
  const int64_t fixed = onnxq::ChooseBatchSize(*model, {.batch_size = 1});
  if (onnxq::HasFixedBatchOfOne(*model)) {
    if (batch > 1) *model = onnxq::WithSymbolicBatch(*model);
  } else if (fixed > 1) {
    batch = fixed;
  }
  auto session = onnxq::CreateOnnxRuntimeSession(*model, {.intra_op_threads = workers > 1 ? 1 : 0});
  if (!session.ok()) throw std::runtime_error(session.status().message());
  const std::string input = (*session)->inputs()[0].name;
  const auto start = Clock::now();
  auto reader = onnxq::OpenArrayFiles({{input, data, {}, onnxq::ElementType::kFloat}}, {.batch_size = batch});
  if (!reader.ok()) throw std::runtime_error(reader.status().message());
  std::mutex mutex;
  int64_t done = 0;
  auto work = [&] {
    while (true) {
      std::optional<onnxq::Feeds> feeds;
      {
        std::lock_guard<std::mutex> lock(mutex);
        auto next = (*reader)->GetNext();
        if (!next.ok() || !next->has_value()) return;
        feeds = std::move(**next);
        done += (*feeds)[0].shape[0];
      }
      auto run = (*session)->Run(*feeds, {});
      if (!run.ok()) throw std::runtime_error(run.status().message());
    }
  };
  std::vector<std::thread> threads;
  for (int w = 1; w < workers; ++w) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  *samples = done;
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// `args` as execv wants them: C strings, then a null pointer (the strings must outlive the result).
std::vector<char*> ExecArgv(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));  // NOLINT
  argv.push_back(nullptr);
  return argv;
}

// Runs argv as a child of this process; returns its wall time and peak RSS in MiB. The peak RSS is
// right only when this process is small: a forked child starts with its parent's resident pages, and
// the kernel keeps that count in the child's peak across exec (see RunMeasured).
std::pair<double, double> RunChild(const std::vector<std::string>& args) {
  std::vector<char*> argv = ExecArgv(args);
  const auto start = Clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (std::freopen("/dev/null", "w", stdout) == nullptr) _exit(127);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error("the measured command failed");
  return {seconds, static_cast<double>(usage.ru_maxrss) / 1024.0};
}

// RunChild from a fresh, small process (this program run as `--measure ARGV...`), so that the peak RSS
// is the command's own and not this process's, which holds the runtime and the floor's sessions.
std::pair<double, double> RunMeasured(const std::vector<std::string>& args) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
  const std::string self = std::filesystem::canonical("/proc/self/exe").string();
  std::vector<std::string> helper_args = {self, "--measure"};
  helper_args.insert(helper_args.end(), args.begin(), args.end());
  std::vector<char*> argv = ExecArgv(helper_args);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipe_fds[0]);
    if (::dup2(pipe_fds[1], STDOUT_FILENO) < 0) _exit(127);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  ::close(pipe_fds[1]);
  std::string reply;
  char buffer[256];
  for (ssize_t got; (got = ::read(pipe_fds[0], buffer, sizeof(buffer))) > 0;)
    reply.append(buffer, static_cast<size_t>(got));
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  double seconds = 0;
  double rss = 0;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || std::sscanf(reply.c_str(), "%lf %lf", &seconds, &rss) != 2) {
    throw std::runtime_error("the measured command failed");
  }
  return {seconds, rss};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && std::string(argv[1]) == "--measure") {
    try {
      const auto [seconds, rss] = RunChild(std::vector<std::string>(argv + 2, argv + argc));
      std::printf("%.6f %.3f\n", seconds, rss);
    } catch (const std::exception& e) {
      std::cerr << "quantize_bench: " << e.what() << "\n";
      std::_Exit(1);
    }
    std::fflush(nullptr);
    std::_Exit(0);
  }
  if (argc == 6 && std::string(argv[1]) == "--float-process") {
    try {
      int64_t samples = 0;
      FloatInferenceSeconds(argv[2], argv[3], std::stoi(argv[4]), std::stoll(argv[5]), &samples);
    } catch (const std::exception& e) {
      std::cerr << "quantize_bench: " << e.what() << "\n";
      std::_Exit(1);
    }
    std::fflush(nullptr);
    std::_Exit(0);  // like onnxq: no static teardown
  }
  if (argc < 4) {
    std::cerr << "usage: quantize_bench ONNXQ_BINARY MODEL CALIB_DATA [onnxq quantize arguments...]\n";
    return 2;
  }
  try {
    const std::string onnxq = argv[1];
    const std::string model = argv[2];
    const std::string data = argv[3];
    const auto out = std::filesystem::temp_directory_path() / ("onnxq-bench-" + std::to_string(::getpid()) + ".onnx");
    std::vector<std::string> args = {onnxq, "quantize", model, out.string(), "--calib-data", data, "--quiet"};
    for (int i = 4; i < argc; ++i) args.emplace_back(argv[i]);
    int64_t samples = 0;
    // Warm the page cache and the runtime once so every measurement sees the same conditions.
    const int cores = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
    FloatInferenceSeconds(model, data, 1, 1, &samples);
    constexpr int kRounds = 3;
    double floor_s = 1e30;
    double quantize_s = 1e30;
    double process_s = 1e30;
    double rss_mib = 0;
    int best_workers = 1;
    int64_t best_batch = 1;
    for (int round = 0; round < kRounds; ++round) {
      for (const int64_t batch : {1, 4, 16, 32}) {
        for (const int workers : {1, cores}) {
          const double seconds = FloatInferenceSeconds(model, data, workers, batch, &samples);
          if (seconds < floor_s) {
            floor_s = seconds;
            best_workers = workers;
            best_batch = batch;
          }
        }
      }
      const auto [seconds, rss] = RunMeasured(args);
      quantize_s = std::min(quantize_s, seconds);
      rss_mib = std::max(rss_mib, rss);
    }
    std::fprintf(stderr, "floor set-up: %s, runs of %lld\n",
                 best_workers > 1 ? "batch-parallel workers" : "the runtime's own threads",
                 static_cast<long long>(best_batch));
    const std::string self = std::filesystem::canonical("/proc/self/exe").string();
    for (int round = 0; round < kRounds; ++round) {
      process_s = std::min(process_s, RunMeasured({self, "--float-process", model, data, std::to_string(best_workers),
                                                   std::to_string(best_batch)})
                                          .first);
    }
    std::filesystem::remove(out);
    std::string extra;
    for (int i = 4; i < argc; ++i) extra += std::string(i > 4 ? " " : "") + argv[i];
    std::printf("| %s | %lld | %s | %.3f | %.3f | %.2f | %.1f | %.3f | %.2f |\n",
                std::filesystem::path(model).filename().c_str(), static_cast<long long>(samples),
                extra.empty() ? "(defaults)" : extra.c_str(), floor_s, quantize_s, quantize_s / floor_s, rss_mib,
                process_s, quantize_s / process_s);
  } catch (const std::exception& e) {
    std::cerr << "quantize_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
