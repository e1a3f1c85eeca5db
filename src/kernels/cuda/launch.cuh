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

// kernel<<<grid, block, smem, s>>>(args...), with the PDL attribute.
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
  cfg.numAttrs = pdl_requested() ? 1 : 0;
  (void)cudaLaunchKernelEx(&cfg, kernel, std::forward<A>(args)...);
}

}  // namespace forge::kernels::cuda
