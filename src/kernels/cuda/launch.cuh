// Kernel launches with programmatic dependent launch (PDL, sm_90): the
// kernel may start while the one before it in the stream is still running,
// and waits for it inside (pdl_wait(), forge_kernels.cuh) after a prologue
// that needs nothing from it: the decode matrix-vector kernels load their
// weights there. Captured into the decode graph, this hides most of the gap
// between one kernel's last block and the next kernel's first (a decode step
// is ~150-300 launches). FORGE_CUDA_PDL=0 in the environment launches plainly
// (for measuring the difference); every kernel is correct either way.
#pragma once

#include <cuda_runtime.h>

#include <cstdlib>
#include <cstring>
#include <utility>

namespace forge::kernels::cuda {

inline bool pdl_requested() {
  static const bool on = [] {
    const char* e = std::getenv("FORGE_CUDA_PDL");
    return e == nullptr || std::strcmp(e, "0") != 0;
  }();
  return on;
}

// Whether this thread's launches take PDL now. The runtime turns it off for
// prefill steps (CudaModel::enqueue_step): there the next kernel's blocks,
// resident early and waiting, cost more than the launch gap they hide
// (H100, pp512 of llama-3.2-1b Q8_0: 50.2k tok/s with PDL, 61.2k without).
inline bool& pdl_step_allowed() {
  static thread_local bool on = true;
  return on;
}
class PdlScope {
 public:
  explicit PdlScope(bool on) : saved_(pdl_step_allowed()) { pdl_step_allowed() = on; }
  ~PdlScope() { pdl_step_allowed() = saved_; }
  PdlScope(const PdlScope&) = delete;
  PdlScope& operator=(const PdlScope&) = delete;

 private:
  bool saved_;
};

// kernel<<<grid, block, smem, s>>>(args...), with the PDL attribute where requested and allowed.
// Launch errors surface through cudaGetLastError, as with <<<>>>.
template <class... P, class... A>
void launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem, cudaStream_t s, A&&... args) {
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smem;
  cfg.stream = s;
  cfg.attrs = attr;
  cfg.numAttrs = pdl_requested() && pdl_step_allowed() ? 1 : 0;
  (void)cudaLaunchKernelEx(&cfg, kernel, std::forward<A>(args)...);
}

}  // namespace forge::kernels::cuda
