#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, then builds the examples of docs/api.md
# (examples/synthesize.c and .cc) against the installed tree only - once with find_package(cosyvoice)
# (tests/capi/consumer/), once with pkg-config - and runs each on the tiny model. Checks that the binaries load libcosyvoice and ONNX
# Runtime from the prefix, not from the build tree.
#
#   install_consumer.sh BUILD_DIR WORK_DIR SOURCE_DIR BUNDLE PROMPT_WAV VERSION
set -euo pipefail
build=$1 work=$2 src=$3 bundle=$4 prompt=$5 version=$6
prefix=$work/prefix
rm -rf "$work" && mkdir -p "$work"
unset LD_LIBRARY_PATH

echo "== cmake --install into $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
for f in include/cosyvoice/cosyvoice_c.h include/cosyvoice/cosyvoice.h lib/libcosyvoice.so lib/pkgconfig/cosyvoice.pc \
         lib/cmake/cosyvoice/cosyvoice-config.cmake; do
  [[ -e $prefix/$f ]] || { echo "missing from the install: $f"; exit 1; }
done
if [[ -x $build/bin/cosyvoice ]]; then  # the CLI, when built, is installed and runs from the prefix
  "$prefix/bin/cosyvoice" version | head -n 1
fi

check_links() {  # the binary resolves libcosyvoice and ONNX Runtime inside the prefix
  local deps
  deps=$(ldd "$1")
  for lib in libcosyvoice.so libonnxruntime.so; do
    if ! grep -q "$lib[^ ]* => $prefix/" <<<"$deps"; then
      echo "$1 does not take $lib from $prefix:"; echo "$deps"; exit 1
    fi
  done
}
run() {  # run NAME BINARY: synthesize and check that audio came out (synthesize.cc writes OUT0/OUT1.wav)
  "$2" "$bundle" "$prompt" "Front center." "$work/$1.wav" >"$work/$1.log" 2>&1 || { cat "$work/$1.log"; exit 1; }
  ls "$work/$1".wav* >/dev/null 2>&1 || { echo "$1 wrote no audio"; cat "$work/$1.log"; exit 1; }
  echo "$1: $(tail -n 1 "$work/$1.log")"
}

echo "== find_package(cosyvoice): tests/capi/consumer"
cmake -S "$src/tests/capi/consumer" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DEXAMPLES="$src/examples" \
  -DCMAKE_BUILD_TYPE=Release >"$work/cmake.log"
cmake --build "$work/cmake" -j 2 >>"$work/cmake.log"
for exe in synthesize_c synthesize_cpp; do
  check_links "$work/cmake/$exe"
  run "cmake_$exe" "$work/cmake/$exe"
done

echo "== pkg-config --cflags --libs cosyvoice"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
[[ $(pkg-config --modversion cosyvoice) == "$version" ]] || { echo "cosyvoice.pc: version is not $version"; exit 1; }
flags=$(pkg-config --cflags cosyvoice)
libs="$(pkg-config --libs cosyvoice) -Wl,-rpath,$(pkg-config --variable=libdir cosyvoice)"
# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror -pedantic $flags "$src/examples/synthesize.c" -o "$work/pc_synthesize_c" $libs
# shellcheck disable=SC2086
c++ -std=c++17 -Wall -Wextra -Werror -pedantic $flags "$src/examples/synthesize.cc" -o "$work/pc_synthesize_cpp" \
  $libs -pthread
for exe in pc_synthesize_c pc_synthesize_cpp; do
  check_links "$work/$exe"
  run "$exe" "$work/$exe"
done
echo "installed-consumer test passed: 2 CMake + 2 pkg-config consumers built and run against $prefix"
