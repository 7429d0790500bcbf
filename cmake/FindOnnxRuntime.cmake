# Locate ONNX Runtime and define the imported target onnxruntime::onnxruntime.
#
# Search order:
#   1. ONNXRUNTIME_ROOT (CMake cache variable or environment): an official release directory
#      (include/onnxruntime_cxx_api.h, lib/libonnxruntime.so|.dylib|onnxruntime.lib) or any prefix
#      that has include/onnxruntime/ (Debian layout);
#   2. <source>/third_party/onnxruntime, written by scripts/setup/fetch-onnxruntime.sh;
#   3. the system (find_path / find_library).
# Result variables: OnnxRuntime_FOUND, OnnxRuntime_INCLUDE_DIR, OnnxRuntime_LIBRARY, OnnxRuntime_LIB_DIR.

set(_ort_hints)
if(ONNXRUNTIME_ROOT)
  list(APPEND _ort_hints "${ONNXRUNTIME_ROOT}")
else()
  list(APPEND _ort_hints "${PROJECT_SOURCE_DIR}/third_party/onnxruntime")
endif()

find_path(OnnxRuntime_INCLUDE_DIR onnxruntime_cxx_api.h
  HINTS ${_ort_hints}
  PATH_SUFFIXES include include/onnxruntime include/onnxruntime/core/session
  NO_DEFAULT_PATH)
find_library(OnnxRuntime_LIBRARY NAMES onnxruntime libonnxruntime.so.1
  HINTS ${_ort_hints} PATH_SUFFIXES lib lib64 NO_DEFAULT_PATH)
if(NOT ONNXRUNTIME_ROOT)
  # fall back to a system-wide install
  find_path(OnnxRuntime_INCLUDE_DIR onnxruntime_cxx_api.h PATH_SUFFIXES onnxruntime)
  find_library(OnnxRuntime_LIBRARY NAMES onnxruntime)
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(OnnxRuntime
  REQUIRED_VARS OnnxRuntime_LIBRARY OnnxRuntime_INCLUDE_DIR
  FAIL_MESSAGE "ONNX Runtime not found. Run `make deps` (fetches it into third_party/onnxruntime) or \
configure with -DONNXRUNTIME_ROOT=/path/to/onnxruntime-release (a directory with include/ and lib/).")

if(OnnxRuntime_FOUND AND NOT TARGET onnxruntime::onnxruntime)
  get_filename_component(OnnxRuntime_LIB_DIR "${OnnxRuntime_LIBRARY}" DIRECTORY)
  add_library(onnxruntime::onnxruntime UNKNOWN IMPORTED)
  set_target_properties(onnxruntime::onnxruntime PROPERTIES
    IMPORTED_LOCATION "${OnnxRuntime_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${OnnxRuntime_INCLUDE_DIR}")
  # Executables in the build tree find the library without LD_LIBRARY_PATH.
  list(APPEND CMAKE_BUILD_RPATH "${OnnxRuntime_LIB_DIR}")
  message(STATUS "ONNX Runtime: ${OnnxRuntime_LIBRARY} (headers ${OnnxRuntime_INCLUDE_DIR})")
endif()
mark_as_advanced(OnnxRuntime_INCLUDE_DIR OnnxRuntime_LIBRARY)
