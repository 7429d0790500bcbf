# `cmake --install <build> --prefix <dir>`: the shared library, the public headers, the CLI, a CMake
# package (find_package(cosyvoice) -> cosyvoice::cosyvoice) and a pkg-config file (cosyvoice.pc).
#
# ONNX Runtime is a private dependency of libcosyvoice.so: no public header includes it, so a
# consumer never compiles against it; it only has to be found at run time. Unless it lives in a
# system directory, its shared library is installed next to libcosyvoice.so, which finds it through
# RUNPATH $ORIGIN (and the CLI through $ORIGIN/../lib).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

get_filename_component(_ort_dir "${OnnxRuntime_LIBRARY}" DIRECTORY)
if(_ort_dir MATCHES "^(/usr)?/lib")
  set(_ort_default OFF)
else()
  set(_ort_default ON)
endif()
option(COSYVOICE_INSTALL_ONNXRUNTIME "Install ONNX Runtime's shared library next to libcosyvoice" ${_ort_default})

install(TARGETS cosyvoice_shared EXPORT cosyvoiceTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/cosyvoice DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  COMPONENT dev FILES_MATCHING PATTERN "*.h")
if(COSYVOICE_INSTALL_ONNXRUNTIME)
  # libonnxruntime.so, .so.1 (and versioned names, provider libraries) as they are: links stay links.
  file(GLOB _ort_files "${_ort_dir}/libonnxruntime*.so*" "${_ort_dir}/libonnxruntime*.dylib")
  install(FILES ${_ort_files} DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime)
endif()
if(TARGET cosyvoice_cli)
  set_target_properties(cosyvoice_cli PROPERTIES INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
  install(TARGETS cosyvoice_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
endif()

# CMake package: <prefix>/lib/cmake/cosyvoice/
set(_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/cosyvoice)
install(EXPORT cosyvoiceTargets NAMESPACE cosyvoice:: DESTINATION ${_cmake_dir} COMPONENT dev)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/cosyvoice-config.cmake.in
  ${PROJECT_BINARY_DIR}/cosyvoice-config.cmake INSTALL_DESTINATION ${_cmake_dir})
# Pre-1.0 the ABI follows MAJOR.MINOR (see the SONAME in src/capi/CMakeLists.txt).
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(_compat SameMinorVersion)
else()
  set(_compat SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cosyvoice-config-version.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY ${_compat})
install(FILES ${PROJECT_BINARY_DIR}/cosyvoice-config.cmake ${PROJECT_BINARY_DIR}/cosyvoice-config-version.cmake
  DESTINATION ${_cmake_dir} COMPONENT dev)

# pkg-config: <prefix>/lib/pkgconfig/cosyvoice.pc, relocatable (paths relative to the .pc file).
file(RELATIVE_PATH COSYVOICE_PC_TO_PREFIX "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
string(REGEX REPLACE "/$" "" COSYVOICE_PC_TO_PREFIX "${COSYVOICE_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/cosyvoice.pc.in ${PROJECT_BINARY_DIR}/cosyvoice.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/cosyvoice.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
