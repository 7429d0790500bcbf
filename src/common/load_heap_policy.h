// src/common/load_heap_policy.h - the C heap's policy while ONNX Runtime creates sessions.
//
// Creating a session for a graph whose weights ONNX Runtime pre-packs allocates, fills and frees
// buffers per weight, one after the other, even when the packed weights come memory-mapped from
// `cosyvoice optimize`'s files (ONNX Runtime 1.30 packs again, then uses the mapped copy: with
// pre-packing off the float32 LLM's session takes 0.2 s instead of 3.4 s). With glibc's defaults the
// large ones are fresh mappings, each paid again in page faults and zeroing (perf: memset of fresh
// pages and the faults under it). Serving them from the heap and keeping the freed pages there lets
// each buffer reuse the last one's pages: the full-size float32 optimized load goes from 5.3-5.8 s
// to 3.2 s of CPU (docs/quantization.md §7).
#pragma once

namespace cosyvoice {

// While at least one exists (in any thread), allocations up to 1 GiB come from the heap and freed
// heap memory is kept; when the last one goes, the thresholds are set where glibc's dynamic ones
// end up after such a load (mmap 32 MiB, trim 64 MiB: mallopt(3), DEFAULT_MMAP_THRESHOLD_MAX) and the
// heap's free memory is returned to the system (malloc_trim). Setting them turns glibc's dynamic
// thresholds off for the process. No-op outside glibc.
class LoadHeapPolicy {
 public:
  LoadHeapPolicy();
  ~LoadHeapPolicy();
  LoadHeapPolicy(const LoadHeapPolicy &) = delete;
  LoadHeapPolicy &operator=(const LoadHeapPolicy &) = delete;
};

}  // namespace cosyvoice
