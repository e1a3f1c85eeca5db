// A kernel timeline of a CUDA program, through CUPTI's activity records
// (kernels inside CUDA graphs are recorded one by one, with programmatic
// dependent launch left on): loaded with LD_PRELOAD, it writes one line a
// kernel, "start_ns end_ns demangled name", to $FORGE_TIMELINE (default timeline.tsv).
// bench/cuda/table.py timeline reads it (gpu_check.sh timeline).
// Build: g++ -O2 -shared -fPIC bench/cuda/timeline.cpp -I$CUDA/include -L$CUDA/lib64 -lcupti -o timeline.so
#include <cupti.h>
#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

FILE* out = nullptr;

// The kernel's demangled name (table.py shortens it).
std::string demangled(const char* mangled) {
  int status = 0;
  char* d = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string s = status == 0 && d ? d : mangled;
  std::free(d);
  return s;
}

void CUPTIAPI buffer_requested(uint8_t** buffer, size_t* size, size_t* max_records) {
  *size = size_t{16} << 20;
  *buffer = static_cast<uint8_t*>(std::aligned_alloc(8, *size));
  *max_records = 0;
}

void CUPTIAPI buffer_completed(CUcontext, uint32_t, uint8_t* buffer, size_t, size_t valid) {
  CUpti_Activity* rec = nullptr;
  while (cuptiActivityGetNextRecord(buffer, valid, &rec) == CUPTI_SUCCESS) {
    if (rec->kind != CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL || out == nullptr) continue;
    const auto* k = reinterpret_cast<const CUpti_ActivityKernel10*>(rec);
    std::fprintf(out, "%llu %llu %s\n", static_cast<unsigned long long>(k->start),
                 static_cast<unsigned long long>(k->end), demangled(k->name).c_str());
  }
  std::free(buffer);
}

void flush() {
  cuptiActivityFlushAll(1);
  if (out) std::fflush(out);
}

__attribute__((constructor)) void start() {
  const char* path = std::getenv("FORGE_TIMELINE");
  out = std::fopen(path && *path ? path : "timeline.tsv", "w");
  if (out == nullptr) {
    std::perror("timeline: cannot write its file");
    return;
  }
  if (cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed) != CUPTI_SUCCESS ||
      cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL) != CUPTI_SUCCESS) {
    std::fprintf(stderr, "timeline: CUPTI did not start\n");
  }
  std::atexit(flush);
}

}  // namespace
