// A Python CalibrationDataReader (an object with get_next() returning {input name: numpy array}, or
// None at the end) as the library's CalibrationDataReader, and what a call into the library from
// Python needs around it: the GIL released while the library works, the first Python exception of the
// reader or of the progress callback kept to be raised again, and Ctrl-C turned into a stop.
#pragma once

#include <pybind11/pybind11.h>

#include <map>
#include <optional>
#include <string>

#include "onnxq/data_reader.h"
#include "onnxq/quantize.h"

namespace onnxq::python {

// What the Python side of one library call left: the first exception raised by Python code the
// library called back into. Only touched with the GIL held.
struct HostCall {
  std::optional<pybind11::error_already_set> error;
};

// Ctrl-C while the library runs: SIGINT sets a flag instead of raising KeyboardInterrupt (Python
// code cannot run while the GIL is released), the reader stops at its next batch with a kCancelled
// status, and the call raises KeyboardInterrupt once the library returned. Installed only on the
// main thread and when SIGINT has Python's default handler; the previous handler is restored.
class SigintGuard {
 public:
  SigintGuard();
  ~SigintGuard();
  SigintGuard(const SigintGuard&) = delete;
  SigintGuard& operator=(const SigintGuard&) = delete;

  static bool Interrupted();

 private:
  bool installed_ = false;
};

class PythonDataReader final : public CalibrationDataReader {
 public:
  // `batch_axis`: per model input, whether axis 0 counts samples (FirstAxisIsBatch); inputs it
  // does not name have one unless they are scalars. Made and destroyed with the GIL held (it holds a
  // reference to `reader`); only GetNext and Rewind may run without it.
  PythonDataReader(pybind11::object reader, std::map<std::string, bool> batch_axis, HostCall* call);

  // Calls get_next() with the GIL held for that call only, and copies the arrays into Feeds.
  Result<std::optional<Feeds>> GetNext() override;
  // Calls the reader's rewind() (vai_q_onnx readers' convention), when it has one.
  Status Rewind() override;

 private:
  Result<Feeds> ToFeeds(const pybind11::handle& batch) const;

  pybind11::object reader_;
  std::map<std::string, bool> batch_axis_;
  HostCall* call_;
  int64_t batches_ = 0;
};

// A progress callback calling `callback(stage, done, total)` with the GIL held; an exception it raises
// is kept in `call` (the reader then stops at its next batch).
ProgressCallback PythonProgress(pybind11::object callback, HostCall* call);

}  // namespace onnxq::python
