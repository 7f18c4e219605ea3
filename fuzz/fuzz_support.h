// What the libFuzzer harnesses share: the input as text, and a scratch folder for the readers that
// open files by path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "onnxq/data_reader.h"

namespace onnxq::fuzz {

inline std::string_view AsText(const uint8_t* data, size_t size) { return {reinterpret_cast<const char*>(data), size}; }

// Writes `bytes` to `name` in this process's scratch folder and returns its path. The folder is made
// under $TMPDIR (else /tmp) on first use and removed when the process exits normally; nothing is
// written anywhere else.
std::filesystem::path WriteScratchFile(const std::string& name, std::string_view bytes);

// Reads every batch `reader` gives, then rewinds it and reads the first batch again.
void Drain(CalibrationDataReader& reader);

}  // namespace onnxq::fuzz
