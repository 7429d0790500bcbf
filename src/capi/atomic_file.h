// src/capi/atomic_file.h - outputs written atomically: a partial file never replaces an old one.
#pragma once

#include <functional>
#include <string>

namespace cosyvoice::capi {

// Calls write(temp) with a temporary path in the directory of `path`, then renames the temporary
// file onto `path`. If write throws or the rename fails, the temporary file is removed and the
// error propagates (Error(kIo) for the rename), leaving `path` as it was.
void WriteAtomically(const std::string &path, const std::function<void(const std::string &temp)> &write);

}  // namespace cosyvoice::capi
