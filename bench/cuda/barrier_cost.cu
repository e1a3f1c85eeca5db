// What a grid-wide barrier costs inside one persistent kernel, against a
// chain of empty kernels launched with programmatic dependent launch (the
// decode step's handoff): docs/cuda.md, seventh session. Prints microseconds
// a round; measures only (no check). Run on the GPU machine:
//   nvcc -std=c++20 -O2 -arch=sm_90 bench/cuda/barrier_cost.cu -o barrier_cost && ./barrier_cost
// full: every block arrives on one counter and polls it; few: blocks < P
// arrive, all poll; fullv<V>: V 0 fence + relaxed add, relaxed polling and a
// fence; 1 release add, relaxed polling, acq_rel fence; 2 atomicAdd and
// volatile polling; 3 a two-level tree (16 counters, then one).
#include <cuda_runtime.h>

#include <cstdio>
__device__ __forceinline__ void arrive(unsigned* c) {
  asm volatile("red.release.gpu.global.add.u32 [%0], 1;" ::"l"(c) : "memory");
}
__device__ __forceinline__ unsigned ld_acq(const unsigned* c) {
  unsigned v;
  asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(c) : "memory");
  return v;
}
// every block arrives, every block waits for all
__global__ void full(unsigned* c, int iters, float* sink) {
  float acc = 0;
  for (int i = 0; i < iters; ++i) {
    __syncthreads();
    if (threadIdx.x == 0) {
      arrive(c);
      while (ld_acq(c) < (unsigned)(i + 1) * gridDim.x) {
      }
    }
    __syncthreads();
    acc += sink[(i * 37 + threadIdx.x) % 1024];
  }
  if (acc == 12345.f) sink[0] = acc;
}
// blocks < P arrive; all wait for P arrivals
__global__ void few(unsigned* c, int iters, int P, float* sink) {
  float acc = 0;
  for (int i = 0; i < iters; ++i) {
    __syncthreads();
    if (threadIdx.x == 0) {
      if (blockIdx.x < P) arrive(c);
      while (ld_acq(c) < (unsigned)(i + 1) * P) {
      }
    }
    __syncthreads();
    acc += sink[(i * 37 + threadIdx.x) % 1024];
  }
  if (acc == 12345.f) sink[0] = acc;
}
// An empty kernel for the chain of PDL launches.
__global__ void empty_k(float* sink) {
  asm volatile("griddepcontrol.wait;" ::: "memory");
  asm volatile("griddepcontrol.launch_dependents;");
  if (sink[threadIdx.x] == 12345.f) sink[1] = 1;
}

__device__ __forceinline__ unsigned ld_rlx(const unsigned* c) {
  unsigned v;
  asm volatile("ld.relaxed.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(c) : "memory");
  return v;
}
__device__ __forceinline__ void arrive_rlx(unsigned* c) {
  asm volatile("red.relaxed.gpu.global.add.u32 [%0], 1;" ::"l"(c) : "memory");
}
template <int V>
__global__ void fullv(unsigned* c, int iters, float* sink) {
  float acc = 0;
  for (int i = 0; i < iters; ++i) {
    __syncthreads();
    if (threadIdx.x == 0) {
      if (V == 0) {
        __threadfence();
        arrive_rlx(c);
        while (ld_rlx(c) < (unsigned)(i + 1) * gridDim.x) {
        }
        __threadfence();
      }
      if (V == 1) {
        arrive(c);
        while (ld_rlx(c) < (unsigned)(i + 1) * gridDim.x) {
        }
        asm volatile("fence.acq_rel.gpu;" ::: "memory");
      }
      if (V == 2) {
        __threadfence();
        atomicAdd(c, 1);
        while (*(volatile unsigned*)c < (unsigned)(i + 1) * gridDim.x) {
        }
        __threadfence();
      }
      if (V == 3) {  // tree: 16 groups
        unsigned* g = c + 32 * (1 + blockIdx.x % 16);
        unsigned members = gridDim.x / 16 + (blockIdx.x % 16 < gridDim.x % 16);
        unsigned old;
        asm volatile("atom.acq_rel.gpu.global.add.u32 %0, [%1], 1;" : "=r"(old) : "l"(g) : "memory");
        if (old + 1 == (unsigned)(i + 1) * members) arrive(c);
        while (ld_rlx(c) < (unsigned)(i + 1) * 16) {
        }
        asm volatile("fence.acq_rel.gpu;" ::: "memory");
      }
    }
    __syncthreads();
    acc += sink[(i * 37 + threadIdx.x) % 1024];
  }
  if (acc == 12345.f) sink[0] = acc;
}
template <int V>
__global__ void fewv(unsigned* c, int iters, int P, float* sink) {
  float acc = 0;
  for (int i = 0; i < iters; ++i) {
    __syncthreads();
    if (threadIdx.x == 0) {
      if (blockIdx.x < P) {
        if (V == 0) {
          __threadfence();
          arrive_rlx(c);
        } else
          arrive(c);
      }
      while (ld_rlx(c) < (unsigned)(i + 1) * P) {
      }
      asm volatile("fence.acq_rel.gpu;" ::: "memory");
    }
    __syncthreads();
    acc += sink[(i * 37 + threadIdx.x) % 1024];
  }
  if (acc == 12345.f) sink[0] = acc;
}
#define RUN(name, launch)                                                    \
  for (int rep = 0; rep < 2; ++rep) {                                        \
    cudaMemset(c, 0, 4096);                                                  \
    cudaEventRecord(a);                                                      \
    launch;                                                                  \
    cudaEventRecord(b);                                                      \
    cudaEventSynchronize(b);                                                 \
    float ms;                                                                \
    cudaEventElapsedTime(&ms, a, b);                                         \
    if (rep) printf("%s grid %d: %.3f us\n", name, grid, ms * 1000 / iters); \
  }
void variants(unsigned* c, float* sink, cudaEvent_t a, cudaEvent_t b, int iters) {
  for (int grid : {132, 264}) {
    RUN("full fence+relaxed", (fullv<0><<<grid, 256>>>(c, iters, sink)));
    RUN("full release+relaxed poll", (fullv<1><<<grid, 256>>>(c, iters, sink)));
    RUN("full atomicAdd+volatile", (fullv<2><<<grid, 256>>>(c, iters, sink)));
    RUN("full tree16", (fullv<3><<<grid, 256>>>(c, iters, sink)));
    RUN("few9 fence+relaxed", (fewv<0><<<grid, 256>>>(c, iters, 9, sink)));
    RUN("few9 release+relaxed poll", (fewv<1><<<grid, 256>>>(c, iters, 9, sink)));
  }
}
int main() {
  unsigned* c;
  float* sink;
  cudaMalloc(&c, 4096);
  cudaMalloc(&sink, 4096 * 4);
  cudaMemset(sink, 0, 16384);
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  int iters = 2000;
  for (int grid : {132, 264, 528}) {
    for (int rep = 0; rep < 2; ++rep) {
      cudaMemset(c, 0, 4);
      cudaEventRecord(a);
      full<<<grid, 256>>>(c, iters, sink);
      cudaEventRecord(b);
      cudaEventSynchronize(b);
      float ms;
      cudaEventElapsedTime(&ms, a, b);
      if (rep) printf("full barrier grid %d: %.3f us\n", grid, ms * 1000 / iters);
    }
    for (int P : {9, 32}) {
      for (int rep = 0; rep < 2; ++rep) {
        cudaMemset(c, 0, 4);
        cudaEventRecord(a);
        few<<<grid, 256>>>(c, iters, P, sink);
        cudaEventRecord(b);
        cudaEventSynchronize(b);
        float ms;
        cudaEventElapsedTime(&ms, a, b);
        if (rep) printf("flag wait %d producers grid %d: %.3f us\n", P, grid, ms * 1000 / iters);
      }
    }
  }
  // chain of empty PDL kernels in a graph, grid 264
  cudaStream_t s;
  cudaStreamCreate(&s);
  for (int grid : {9, 264}) {
    cudaGraph_t g;
    cudaGraphExec_t ge;
    cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal);
    for (int i = 0; i < 200; ++i) {
      cudaLaunchConfig_t cfg = {};
      cfg.gridDim = grid;
      cfg.blockDim = 256;
      cfg.stream = s;
      cudaLaunchAttribute at[1];
      at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
      at[0].val.programmaticStreamSerializationAllowed = 1;
      cfg.attrs = at;
      cfg.numAttrs = 1;
      cudaLaunchKernelEx(&cfg, empty_k, sink);
    }
    cudaStreamEndCapture(s, &g);
    cudaGraphInstantiate(&ge, g, 0);
    for (int rep = 0; rep < 3; ++rep) {
      cudaEventRecord(a, s);
      cudaGraphLaunch(ge, s);
      cudaEventRecord(b, s);
      cudaEventSynchronize(b);
      float ms;
      cudaEventElapsedTime(&ms, a, b);
      if (rep == 2) printf("empty PDL kernel chain grid %d: %.3f us\n", grid, ms * 1000 / 200);
    }
  }
  variants(c, sink, a, b, iters);
  printf("err %s\n", cudaGetErrorString(cudaGetLastError()));
}
