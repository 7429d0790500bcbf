# Cross-compile for Linux aarch64 on Debian/Ubuntu x86-64 with crossbuild-essential-arm64 and the
# `:arm64` multiarch -dev packages (scripts/setup/install-arm64-deps.sh installs both; `make
# cross-arm64` uses this file). Libraries are found in /usr/lib/aarch64-linux-gnu, headers in the
# shared /usr/include. ONNX Runtime comes from ONNXRUNTIME_ROOT (the Makefile points it at
# third_party/onnxruntime-arm64: the arm64 library of the same npm onnxruntime-node package).
#
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
#         -DONNXRUNTIME_ROOT=third_party/onnxruntime-arm64
#
# Test programs run under qemu-user (CMAKE_CROSSCOMPILING_EMULATOR): CTest and gtest discovery put
# the emulator in front of every test that runs a target of this build, so `ctest` works unchanged.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(COSYVOICE_CROSS_TRIPLET aarch64-linux-gnu)

set(CMAKE_C_COMPILER ${COSYVOICE_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${COSYVOICE_CROSS_TRIPLET}-g++)
# CMake then sets CMAKE_LIBRARY_ARCHITECTURE=aarch64-linux-gnu from the compiler, so find_library,
# find_package(<config>) and FindICU/FindSQLite3 search /usr/lib/aarch64-linux-gnu, never the
# x86-64 libraries in /usr/lib/x86_64-linux-gnu.

# pkg-config (sndfile, sleef, cpp-httplib): arm64 .pc files only. Debian has no
# aarch64-linux-gnu-pkg-config wrapper without an extra package, so point the host pkg-config at
# the multiarch directory. (The toolchain file is read again by try_compile; setting it twice is
# harmless.)
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${COSYVOICE_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# Programs of this build run on the host through qemu-user. The multiarch libc6:arm64 puts the
# aarch64 loader at /lib/ld-linux-aarch64.so.1, so no QEMU_LD_PREFIX is needed.
find_program(COSYVOICE_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64
  DOC "qemu-user for aarch64 (Debian's qemu-user-static): runs the cross-built tests")
if(COSYVOICE_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${COSYVOICE_QEMU_AARCH64})
endif()
