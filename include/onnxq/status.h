// Errors as values at the library boundary. Every public function that can fail on user input returns
// a Status or a Result<T>; the message is one line that names the file, node or tensor at fault and,
// where possible, what to do about it.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace onnxq {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // bad option or bad user data
  kNotFound,         // missing file, tensor or node
  kInvalidModel,     // the model is not valid ONNX or breaks an assumption
  kUnsupported,      // valid but not handled (yet)
  kIoError,          // reading or writing failed
  kRuntimeError,     // the inference engine failed
  kCancelled,        // the caller asked to stop (a data reader or progress callback of a host, Ctrl-C)
  kInternal,         // a bug in onnxq
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string message) { return {StatusCode::kInvalidArgument, std::move(message)}; }
inline Status NotFound(std::string message) { return {StatusCode::kNotFound, std::move(message)}; }
inline Status InvalidModel(std::string message) { return {StatusCode::kInvalidModel, std::move(message)}; }
inline Status Unsupported(std::string message) { return {StatusCode::kUnsupported, std::move(message)}; }
inline Status IoError(std::string message) { return {StatusCode::kIoError, std::move(message)}; }
inline Status RuntimeError(std::string message) { return {StatusCode::kRuntimeError, std::move(message)}; }
inline Status Cancelled(std::string message) { return {StatusCode::kCancelled, std::move(message)}; }
inline Status Internal(std::string message) { return {StatusCode::kInternal, std::move(message)}; }

namespace internal {
// Prints "onnxq: internal error: the value of a failed Result was read: <status>" and aborts.
[[noreturn]] void DieOnValueOfError(const Status& status);
}  // namespace internal

// A value or the Status that explains why there is none. A Result always holds one of the two: made
// from an OK status it holds an Internal error instead (an OK status without a value would let a
// caller return "success" with nothing), and reading the value of an error ends the process with its
// message rather than reading an empty slot.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status)                          // NOLINT(google-explicit-constructor)
      : status_(status.ok() ? Internal("a Result was made from an OK status, without a value") : std::move(status)) {}

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return Checked(); }
  const T& value() const& { return Checked(); }
  T&& value() && { return std::move(Checked()); }
  T* operator->() { return &Checked(); }
  const T* operator->() const { return &Checked(); }
  T& operator*() & { return Checked(); }
  const T& operator*() const& { return Checked(); }

 private:
  T& Checked() {
    if (!value_) internal::DieOnValueOfError(status_);
    return *value_;
  }
  const T& Checked() const {
    if (!value_) internal::DieOnValueOfError(status_);
    return *value_;
  }

  std::optional<T> value_;
  Status status_;
};

}  // namespace onnxq

#define ONNXQ_CONCAT_INNER(a, b) a##b
#define ONNXQ_CONCAT(a, b) ONNXQ_CONCAT_INNER(a, b)

// Returns early from the enclosing function when `expr` (a Status) is not ok.
#define ONNXQ_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::onnxq::Status onnxq_status_ = (expr);        \
    if (!onnxq_status_.ok()) return onnxq_status_; \
  } while (false)

// `lhs = value of rexpr` (a Result<T>), or return its Status.
#define ONNXQ_ASSIGN_OR_RETURN(lhs, rexpr) \
  ONNXQ_ASSIGN_OR_RETURN_IMPL(ONNXQ_CONCAT(onnxq_result_, __LINE__), lhs, rexpr)
// `tmp` is a name and `lhs` may be a declaration (`const auto x`): neither takes parentheses.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define ONNXQ_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)
