# shellcheck shell=bash
# The architecture-specific -dev libraries the C++ build links, sourced by install-debian-deps.sh
# (native build) and install-arm64-deps.sh (the same list as :arm64 packages), so that a library
# added to the build cannot be missing from the cross build (libpng-dev was, until 2026-12-05).
# Header-only packages (nlohmann-json3-dev, libcli11-dev) are Architecture: all and are not here.
LINK_LIBS=(libsndfile1-dev libkissfft-dev libicu-dev
  libgtest-dev libgmock-dev libcpp-httplib-dev
  libpng-dev      # spectrogram pictures of the A/B quality report (src/quality/)
  libsqlite3-dev  # the server's voice library (src/server/sqlite_voice_store.cc)
  libsleef-dev)   # torch's float32 cos/pow/log, for bit-exact feature windows (src/audio/reference_math.h)
