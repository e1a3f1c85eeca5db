// Device memory bandwidth as perf/README.md measures it: a 4 GiB
// device-to-device copy, bytes read plus bytes written, median of 10.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <vector>

int main() {
  const size_t bytes = 2ull << 30;  // 2 GiB each way: 4 GiB moved per copy
  void *a = nullptr, *b = nullptr;
  if (cudaMalloc(&a, bytes) != cudaSuccess || cudaMalloc(&b, bytes) != cudaSuccess) {
    std::fprintf(stderr, "bandwidth: cudaMalloc failed\n");
    return 1;
  }
  cudaMemset(a, 1, bytes);
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  std::vector<float> ms;
  for (int i = 0; i < 11; ++i) {
    cudaEventRecord(e0);
    cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice);
    cudaEventRecord(e1);
    cudaEventSynchronize(e1);
    float t = 0;
    cudaEventElapsedTime(&t, e0, e1);
    if (i > 0) ms.push_back(t);
  }
  std::sort(ms.begin(), ms.end());
  const double gbs = 2.0 * bytes / (ms[ms.size() / 2] * 1e-3) / 1e9;
  cudaDeviceProp p{};
  cudaGetDeviceProperties(&p, 0);
  std::printf("{\"device\": \"%s\", \"d2d_copy_gb_s\": %.1f}\n", p.name, gbs);
  return 0;
}
