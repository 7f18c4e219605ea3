# The layering rules the include roots of src/CMakeLists.txt cannot state, checked on the sources:
#   - algorithms/ and common/ include no ONNX, protobuf, JSON or ONNX Runtime headers;
#   - only calibration/onnxruntime_backend.cc includes ONNX Runtime's headers;
#   - only the pipeline and evaluation (and the backend itself) name ONNX Runtime's backend
#     (calibration/onnxruntime_backend.h): calibration and bias correction receive an InferenceBackend.
# Run as: cmake -DSOURCE_DIR=<repository> -P check_layers.cmake (a ctest test, tests/CMakeLists.txt).
file(GLOB_RECURSE sources RELATIVE "${SOURCE_DIR}/src" "${SOURCE_DIR}/src/*.h" "${SOURCE_DIR}/src/*.cc")
set(failures "")
foreach(source IN LISTS sources)
  file(STRINGS "${SOURCE_DIR}/src/${source}" includes REGEX "^#include ")
  foreach(line IN LISTS includes)
    if(source MATCHES "^(algorithms|common)/" AND line MATCHES "<(onnx|google|nlohmann|onnxruntime)")
      list(APPEND failures "src/${source}: ${line} (pure math and common code see no models)")
    endif()
    if(line MATCHES "<onnxruntime" AND NOT source STREQUAL "calibration/onnxruntime_backend.cc")
      list(APPEND failures "src/${source}: ${line} (only calibration/onnxruntime_backend.cc sees ONNX Runtime)")
    endif()
    if(line MATCHES "\"calibration/onnxruntime_backend.h\"" AND NOT source MATCHES "^(pipeline|evaluation)/"
       AND NOT source STREQUAL "calibration/onnxruntime_backend.cc")
      list(APPEND failures "src/${source}: ${line} (only the pipeline and evaluation choose the backend)")
    endif()
  endforeach()
endforeach()
if(failures)
  list(JOIN failures "\n" text)
  message(FATAL_ERROR "layering rules broken:\n${text}")
endif()
list(LENGTH sources count)
message(STATUS "layering rules hold in ${count} files")
