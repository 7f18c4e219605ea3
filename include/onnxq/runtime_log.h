// ONNX Runtime's own log lines. The runtime's errors reach callers as Status messages, one line each;
// its warnings (a node it cannot place, an initializer it drops, an optimization it skips) are dropped
// unless a handler is set here. The CLI sets one with --verbose.
#pragma once

#include <string>
#include <string_view>

namespace onnxq {

enum class RuntimeLogSeverity { kVerbose, kInfo, kWarning, kError, kFatal };

// Receives each log line of the runtime at or above kWarning, on whichever thread the runtime logs from
// (it must be thread-safe), as one line: the runtime's newlines are replaced by spaces.
using RuntimeLogHandler = void (*)(RuntimeLogSeverity severity, std::string_view line);

// Sets the handler (nullptr: drop every line). Thread-safe; takes effect for lines logged after it.
void SetRuntimeLogHandler(RuntimeLogHandler handler);

// The runtime's text as one line: each run of white space (newlines included) becomes one space, ANSI
// colour sequences and other control characters are removed, and the ends are trimmed.
std::string OneLogLine(std::string_view text);

}  // namespace onnxq
