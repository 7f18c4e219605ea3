# ONNXQ_PRECOMPILE_HEADERS: the headers most sources include, and the heaviest to parse (ONNX's protobuf
# classes, the standard containers, GoogleTest), are compiled once into precompiled headers that every
# target reuses: onnxq_pch for the libraries, onnxq_program_pch for the CLI, the benchmarks and the
# fuzzers, onnxq_test_pch (the same and GoogleTest) for the tests. The sanitizer builds (scripts/run_sanitizers.sh) turn it on:
# their sources compile in about 37 % less time. It is off by default, because ccache does not cache
# sources compiled with a precompiled header.

set(onnxq_pch_headers <onnx/onnx_pb.h> <algorithm> <cmath> <cstdint> <filesystem> <functional> <limits> <map>
                      <memory> <optional> <set> <span> <string> <vector>)
# Libraries compile position-independent (-fPIC) and programs not quite (-fPIE): one header each way.
add_library(onnxq_pch OBJECT ${PROJECT_SOURCE_DIR}/cmake/pch_library.cc)
target_link_libraries(onnxq_pch PRIVATE onnx_proto onnxq_warnings)
target_precompile_headers(onnxq_pch PRIVATE ${onnxq_pch_headers})
add_executable(onnxq_program_pch EXCLUDE_FROM_ALL ${PROJECT_SOURCE_DIR}/cmake/pch_program.cc)
target_link_libraries(onnxq_program_pch PRIVATE onnx_proto onnxq_warnings)
target_precompile_headers(onnxq_program_pch PRIVATE ${onnxq_pch_headers})
if(ONNXQ_BUILD_TESTS)
  add_executable(onnxq_test_pch EXCLUDE_FROM_ALL ${PROJECT_SOURCE_DIR}/cmake/pch_program.cc)
  target_link_libraries(onnxq_test_pch PRIVATE onnx_proto GTest::gtest onnxq_warnings)
  target_precompile_headers(onnxq_test_pch PRIVATE ${onnxq_pch_headers} <gtest/gtest.h>)
  if(ONNXQ_SANITIZE)  # where the tests compile at -O0 (tests/CMakeLists.txt): __OPTIMIZE__ must match
    target_compile_options(onnxq_test_pch PRIVATE -O0)
  endif()
endif()

# onnxq_reuse_precompiled_headers(dir): every C++ target defined under `dir` reuses the precompiled header
# that fits it: libraries onnxq_pch; programs onnxq_program_pch, or onnxq_test_pch under tests/.
function(onnxq_reuse_precompiled_headers dir)
  get_property(targets DIRECTORY "${dir}" PROPERTY BUILDSYSTEM_TARGETS)
  foreach(target IN LISTS targets)
    get_target_property(type ${target} TYPE)
    if(NOT type MATCHES "^(STATIC_LIBRARY|SHARED_LIBRARY|OBJECT_LIBRARY|EXECUTABLE)$" OR target MATCHES "_pch$")
      continue()
    endif()
    # GCC takes a precompiled header only with the macros it was built with (ONNX's among them).
    target_compile_definitions(${target} PRIVATE $<TARGET_PROPERTY:onnx_proto,INTERFACE_COMPILE_DEFINITIONS>)
    target_include_directories(${target} PRIVATE $<TARGET_PROPERTY:onnx_proto,INTERFACE_INCLUDE_DIRECTORIES>)
    if(NOT type STREQUAL "EXECUTABLE")
      target_precompile_headers(${target} REUSE_FROM onnxq_pch)
    elseif(ONNXQ_BUILD_TESTS AND dir MATCHES "^${PROJECT_SOURCE_DIR}/tests")
      target_precompile_headers(${target} REUSE_FROM onnxq_test_pch)
    else()
      target_precompile_headers(${target} REUSE_FROM onnxq_program_pch)
    endif()
  endforeach()
  get_property(subdirs DIRECTORY "${dir}" PROPERTY SUBDIRECTORIES)
  foreach(subdir IN LISTS subdirs)
    onnxq_reuse_precompiled_headers("${subdir}")
  endforeach()
endfunction()
onnxq_reuse_precompiled_headers("${PROJECT_SOURCE_DIR}")
