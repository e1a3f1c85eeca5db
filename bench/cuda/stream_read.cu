// How fast one kernel reads a weight matrix it has not seen (the L2 cold), by
// the pattern the decode kernels read them in. Each launch reads a fresh
// window of a 4 GiB buffer (the windows cycle through it), so its bytes come
// from DRAM; per pattern the median of 200 launches, as GB/s of the window
// (docs/cuda.md, eighth session). Measures only (no check). On the GPU machine:
//   nvcc -O3 -arch=sm_90 bench/cuda/stream_read.cu -o stream_read && ./stream_read
// Patterns (16-byte loads past L1, as matvec.cuh's ld128_once):
//   linear D   the grid reads the window front to back, D loads a thread in flight
//   rows R/S xA A rows of R bytes (a stride of S) a warp at a time, all their loads in flight
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <vector>

__device__ __forceinline__ uint4 ld_once(const uint8_t* p) {
  uint4 v;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}

template <int D>
__global__ void __launch_bounds__(256) linear(const uint8_t* w, size_t bytes, unsigned* sink) {
  const size_t threads = static_cast<size_t>(gridDim.x) * blockDim.x;
  const size_t t = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  unsigned acc = 0;
  for (size_t base = 0; base < bytes; base += 16 * threads * D) {
    uint4 v[D];
#pragma unroll
    for (int i = 0; i < D; ++i) {
      const size_t o = base + 16 * (t + threads * i);
      v[i] = o < bytes ? ld_once(w + o) : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int i = 0; i < D; ++i) acc ^= v[i].x ^ v[i].y ^ v[i].z ^ v[i].w;
  }
  if (acc == 0x9e3779b9u) *sink = acc;
}

// Warp g takes rows kAt g .. kAt g + kAt - 1, then the next kAt rows a grid
// further: R bytes of each (a stride of S), all kAt R / 512 loads a lane at once.
template <int R, int S, int kAt>
__global__ void __launch_bounds__(256, 2) rows(const uint8_t* w, int nrows, unsigned* sink) {
  constexpr int kPer = R / 512;
  const int lane = threadIdx.x % 32;
  const int warps = gridDim.x * 8;
  unsigned acc = 0;
  for (int r = kAt * (blockIdx.x * 8 + threadIdx.x / 32); r < nrows; r += kAt * warps) {
    uint4 v[kAt][kPer];
#pragma unroll
    for (int a = 0; a < kAt; ++a) {
#pragma unroll
      for (int i = 0; i < kPer; ++i) {
        const uint8_t* p = w + static_cast<size_t>(r + a) * S + 16 * (lane + 32 * i);
        v[a][i] = r + a < nrows ? ld_once(p) : make_uint4(0, 0, 0, 0);
      }
    }
#pragma unroll
    for (int a = 0; a < kAt; ++a) {
#pragma unroll
      for (int i = 0; i < kPer; ++i) acc ^= v[a][i].x ^ v[a][i].y ^ v[a][i].z ^ v[a][i].w;
    }
  }
  if (acc == 0x9e3779b9u) *sink = acc;
}

template <class Launch>
double gbs(const char* name, const uint8_t* buf, size_t total, size_t window, Launch launch) {
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  const size_t windows = total / window;
  std::vector<float> ms;
  for (int i = 0; i < 210; ++i) {
    const uint8_t* w = buf + (static_cast<size_t>(i) * 7 % windows) * window;  // 7: not the one just read
    cudaEventRecord(e0);
    launch(w);
    cudaEventRecord(e1);
    cudaEventSynchronize(e1);
    float t = 0;
    cudaEventElapsedTime(&t, e0, e1);
    if (i >= 10) ms.push_back(t);
  }
  std::sort(ms.begin(), ms.end());
  const double us = ms[ms.size() / 2] * 1e3, g = window / (us * 1e-6) / 1e9;
  std::printf("%-28s %6.1f MB  %7.2f us  %6.0f GB/s\n", name, window / 1e6, us, g);
  return g;
}

int main() {
  const size_t total = size_t{4} << 30;
  uint8_t* buf = nullptr;
  unsigned* sink = nullptr;
  if (cudaMalloc(&buf, total) != cudaSuccess || cudaMalloc(&sink, 4) != cudaSuccess) {
    std::fprintf(stderr, "stream_read: cudaMalloc failed\n");
    return 1;
  }
  cudaMemset(buf, 1, total);
  int sms = 0;
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
  // An empty launch: what the events measure besides the reads.
  gbs("empty (launch)", buf, total, 1 << 20, [&](const uint8_t* w) { linear<1><<<1, 32>>>(w, 0, sink); });
  for (size_t mb : {18, 36}) {
    const size_t win = mb * 1000000 / 8704 * 8704;
    char n[64];
    for (int blocks : {sms, 2 * sms, 4 * sms}) {
      std::snprintf(n, sizeof n, "linear 4, %d blocks", blocks);
      gbs(n, buf, total, win, [&](const uint8_t* w) { linear<4><<<blocks, 256>>>(w, win, sink); });
      std::snprintf(n, sizeof n, "linear 8, %d blocks", blocks);
      gbs(n, buf, total, win, [&](const uint8_t* w) { linear<8><<<blocks, 256>>>(w, win, sink); });
      std::snprintf(n, sizeof n, "linear 16, %d blocks", blocks);
      gbs(n, buf, total, win, [&](const uint8_t* w) { linear<16><<<blocks, 256>>>(w, win, sink); });
    }
    const int n8704 = static_cast<int>(win / 8704), n2176 = static_cast<int>(win / 2176);
    gbs("rows 8192/8704 x1 (down)", buf, total, win,
        [&](const uint8_t* w) { rows<8192, 8704, 1><<<2 * sms, 256>>>(w, n8704, sink); });
    gbs("rows 2048/2176 x4 (gate/up)", buf, total, win,
        [&](const uint8_t* w) { rows<2048, 2176, 4><<<2 * sms, 256>>>(w, n2176, sink); });
    gbs("rows 2048/2176 x2", buf, total, win,
        [&](const uint8_t* w) { rows<2048, 2176, 2><<<2 * sms, 256>>>(w, n2176, sink); });
    gbs("rows 2048/2176 x8", buf, total, win,
        [&](const uint8_t* w) { rows<2048, 2176, 8><<<2 * sms, 256>>>(w, n2176, sink); });
  }
  return 0;
}
