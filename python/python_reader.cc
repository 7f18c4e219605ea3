#include "python_reader.h"

#include <pybind11/numpy.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <utility>

namespace py = pybind11;

namespace onnxq::python {
namespace {

std::atomic<bool> interrupted{false};
struct sigaction previous_sigint {};

extern "C" void OnSigint(int /*signal*/) { interrupted.store(true); }

// The element type of a numpy array, or none for a dtype no model input takes.
std::optional<ElementType> TypeOf(const py::dtype& dtype) {
  const char kind = dtype.kind();
  const auto size = dtype.itemsize();
  if (kind == 'f' && size == 4) return ElementType::kFloat;
  if (kind == 'i' && size == 8) return ElementType::kInt64;
  if (kind == 'i' && size == 4) return ElementType::kInt32;
  if (kind == 'i' && size == 1) return ElementType::kInt8;
  if (kind == 'u' && size == 1) return ElementType::kUInt8;
  if (kind == 'b' && size == 1) return ElementType::kBool;
  return std::nullopt;
}

// "batch 3" as a message names it (counted from 0).
std::string BatchName(int64_t index) { return "batch " + std::to_string(index) + " of the data reader"; }

}  // namespace

SigintGuard::SigintGuard() {
  interrupted.store(false);
  const py::module_ threading = py::module_::import("threading");
  const py::module_ signal = py::module_::import("signal");
  if (!threading.attr("current_thread")().is(threading.attr("main_thread")())) return;
  if (!signal.attr("getsignal")(SIGINT).is(signal.attr("default_int_handler"))) return;
  struct sigaction action {};
  action.sa_handler = OnSigint;
  sigemptyset(&action.sa_mask);
  installed_ = sigaction(SIGINT, &action, &previous_sigint) == 0;
}

SigintGuard::~SigintGuard() {
  if (installed_) sigaction(SIGINT, &previous_sigint, nullptr);
}

bool SigintGuard::Interrupted() { return interrupted.load(); }

PythonDataReader::PythonDataReader(py::object reader, std::map<std::string, bool> batch_axis, HostCall* call)
    : reader_(std::move(reader)), batch_axis_(std::move(batch_axis)), call_(call) {}

Result<std::optional<Feeds>> PythonDataReader::GetNext() {
  const py::gil_scoped_acquire gil;
  if (call_->error) return Cancelled("stopped: the Python progress callback raised an exception");
  if (SigintGuard::Interrupted()) return Cancelled("interrupted (Ctrl-C)");
  try {
    const py::object batch = reader_.attr("get_next")();
    if (batch.is_none()) return std::optional<Feeds>();
    ONNXQ_ASSIGN_OR_RETURN(Feeds feeds, ToFeeds(batch));
    ++batches_;
    return std::optional<Feeds>(std::move(feeds));
  } catch (py::error_already_set& e) {
    call_->error = std::move(e);
    return Cancelled("stopped: the data reader's get_next() raised an exception");
  }
}

Result<Feeds> PythonDataReader::ToFeeds(const py::handle& batch) const {
  if (!py::isinstance<py::dict>(batch)) {
    return InvalidArgument(BatchName(batches_) + ": get_next() returned " +
                           std::string(py::str(py::type::of(batch).attr("__name__"))) +
                           "; expected a dict {input name: numpy array} or None at the end");
  }
  Feeds feeds;
  for (const auto& [key, value] : py::reinterpret_borrow<py::dict>(batch)) {
    const std::string name = py::str(key);
    const auto array = py::array::ensure(value, py::array::c_style);
    if (!array) {
      PyErr_Clear();
      return InvalidArgument(BatchName(batches_) + ", input '" + name + "': not convertible to a numpy array");
    }
    const auto type = TypeOf(array.dtype());
    if (!type) {
      return InvalidArgument(BatchName(batches_) + ", input '" + name + "': numpy dtype " +
                             std::string(py::str(array.dtype())) +
                             " is none of float32, int64, int32, int8, uint8, bool (for a float input, pass "
                             "x.astype(numpy.float32))");
    }
    Tensor tensor;
    tensor.name = name;
    tensor.type = *type;
    tensor.shape.assign(array.shape(), array.shape() + array.ndim());
    const auto found = batch_axis_.find(name);
    tensor.batch_axis = array.ndim() > 0 && (found == batch_axis_.end() || found->second);
    tensor.bytes.resize(static_cast<size_t>(array.nbytes()));
    if (!tensor.bytes.empty()) std::memcpy(tensor.bytes.data(), array.data(), tensor.bytes.size());
    feeds.push_back(std::move(tensor));
  }
  return feeds;
}

Status PythonDataReader::Rewind() {
  const py::gil_scoped_acquire gil;
  if (!py::hasattr(reader_, "rewind")) {
    return Unsupported(
        "the data reader has no rewind() method, and this step reads the data twice (BiasCorrection): "
        "give the reader a rewind() that starts get_next() over");
  }
  try {
    reader_.attr("rewind")();
  } catch (py::error_already_set& e) {
    call_->error = std::move(e);
    return Cancelled("stopped: the data reader's rewind() raised an exception");
  }
  batches_ = 0;
  return Status::Ok();
}

ProgressCallback PythonProgress(py::object callback, HostCall* call) {
  if (callback.is_none()) return {};
  // Shared: the callback object is released with the GIL held, by the last copy.
  auto held = std::shared_ptr<py::object>(new py::object(std::move(callback)), [](py::object* object) {
    const py::gil_scoped_acquire gil;
    delete object;
  });
  return [held, call](const std::string& stage, int64_t done, int64_t total) {
    const py::gil_scoped_acquire gil;
    if (call->error) return;
    try {
      (*held)(stage, done, total);
    } catch (py::error_already_set& e) {
      call->error = std::move(e);
    }
  };
}

}  // namespace onnxq::python
