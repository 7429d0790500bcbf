// src/common/load_heap_policy.cc
#include "common/load_heap_policy.h"

#include <mutex>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace cosyvoice {
namespace {

std::mutex g_mutex;
int g_active = 0;  // LoadHeapPolicy objects alive (concurrent loads share one setting)

}  // namespace

LoadHeapPolicy::LoadHeapPolicy() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_active++ > 0) return;
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

LoadHeapPolicy::~LoadHeapPolicy() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (--g_active > 0) return;
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  malloc_trim(0);
#endif
}

}  // namespace cosyvoice
