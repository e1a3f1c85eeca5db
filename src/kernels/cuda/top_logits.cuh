// The k highest logits of a row on the GPU (CudaModel::decode_top): what a
// sampler drawing from the top k needs, so that k (id, logit) pairs cross
// PCIe instead of the whole row. Their order is model::top_first's (a NaN or
// +infinity first, then the higher logit, then the lower id), as one 64-bit
// key a logit: the logit's bits made to order as unsigned integers, above
// the complement of its id.
//
// Blocks of kTopThreads take kTopChunk logits each (kTopPer a thread, in
// registers), find the k-th largest key among them by radix selection (8
// bits a pass, a shared histogram; k 1, greedy: one reduction to the largest
// key) and keep the keys from it up; the block that finishes last (a ticket
// counter) does the same over the kept keys (kTopMerge a round), then places
// each of the k by its rank. Where asked, the row's softmax mass too
// (model::softmax_mass: the sum of exp(l - m) over every logit, m the
// highest, in double): each block its highest logit and its sum below it,
// the last block the sum of theirs, rescaled.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/launch.cuh"

namespace forge::kernels::cuda {

constexpr int kTopMax = 128;  // most pairs a launch selects
constexpr int kTopThreads = 1024, kTopPer = 4, kTopChunk = kTopThreads * kTopPer;
constexpr int kTopMergePer = 8, kTopMerge = kTopThreads * kTopMergePer;  // kept keys a round of the last block

// Layout-compatible with model::TokenLogit (cuda_model.h checks).
struct TopPair {
  int32_t id;
  float logit;
};

// Device memory for a row of n logits: each block's kept keys, the ticket
// (zero before the first launch; the last block resets it), each block's
// highest logit and sum below it (BlockMass).
inline size_t top_logits_blocks(int n) { return (static_cast<size_t>(n) + kTopChunk - 1) / kTopChunk; }
struct BlockMass {
  double max, sum;
};
inline size_t top_logits_scratch_bytes(int n) {
  return top_logits_blocks(n) * (kTopMax * 8 + sizeof(BlockMass)) + 16;
}

__device__ __forceinline__ unsigned long long top_key(float v, int id) {
  uint32_t o = 0xffffffffu;  // NaN, +infinity: first
  if (!isnan(v) && v != INFINITY) {
    const uint32_t b = v == 0.0f ? 0u : __float_as_uint(v);  // -0 ties with 0, as floats compare
    o = (b & 0x80000000u) ? ~b : (b | 0x80000000u);
  }
  return (static_cast<unsigned long long>(o) << 32) | static_cast<uint32_t>(~static_cast<uint32_t>(id));
}

// The block's reduction of v by op (every thread calls it; all get the result).
template <class T, class Op>
__device__ T block_reduce(T v, Op op) {
  __shared__ T part[kTopThreads / 32];
#pragma unroll
  for (int off = 16; off > 0; off /= 2) v = op(v, __shfl_xor_sync(0xffffffffu, v, off));
  __syncthreads();  // part free (an earlier call read it)
  if (threadIdx.x % 32 == 0) part[threadIdx.x / 32] = v;
  __syncthreads();
  v = part[0];
  for (int i = 1; i < kTopThreads / 32; ++i) v = op(v, part[i]);
  return v;
}

// The k-th largest of the block's keys (kPer a thread; k <= kPer *
// kTopThreads): the largest T with at least k keys >= T, one 8-bit digit of
// T a pass, most significant first; done early once every key left with
// T's digits so far is needed (then T's lower digits are zeros). Every
// thread calls it.
template <int kPer>
__device__ unsigned long long block_kth_key(const unsigned long long (&key)[kPer], int k) {
  __shared__ unsigned hist[2][256];  // this pass's, the next's (zeroed meanwhile)
  __shared__ unsigned long long found;
  __shared__ int found_need;
  __shared__ bool found_all;
  const int lane = threadIdx.x % 32;
  unsigned long long prefix = 0;  // T's digits above `shift`
  int need = k;                   // keys >= T still to count among those matching prefix
  for (int i = threadIdx.x; i < 256; i += kTopThreads) hist[0][i] = 0;
  __syncthreads();
  for (int shift = 56, pass = 0; shift >= 0; shift -= 8, ++pass) {
    unsigned* h = hist[pass % 2];
    const unsigned long long above = shift == 56 ? 0ull : ~0ull << (shift + 8);
    for (int i = threadIdx.x; i < 256; i += kTopThreads) hist[1 - pass % 2][i] = 0;
#pragma unroll
    for (int j = 0; j < kPer; ++j) {
      const bool match = (key[j] & above) == prefix;
      const unsigned digit = static_cast<unsigned>(key[j] >> shift) & 255u;
      const unsigned active = __ballot_sync(0xffffffffu, match);
      if (match) {  // one atomic for the lanes of a warp with the same digit
        const unsigned peers = __match_any_sync(active, digit);
        if (lane == __ffs(peers) - 1) atomicAdd(&h[digit], __popc(peers));
      }
    }
    __syncthreads();
    if (threadIdx.x < 32) {  // lane l: digits 255 - 8l down to 248 - 8l
      unsigned c[8], sum = 0;
#pragma unroll
      for (int i = 0; i < 8; ++i) sum += c[i] = h[255 - 8 * lane - i];
      unsigned incl = sum;
#pragma unroll
      for (int off = 1; off < 32; off *= 2) {
        const unsigned v = __shfl_up_sync(0xffffffffu, incl, off);
        if (lane >= off) incl += v;
      }
      unsigned cum = incl - sum;  // keys with a higher digit
      if (cum < static_cast<unsigned>(need) && incl >= static_cast<unsigned>(need)) {
        for (int i = 0; i < 8; ++i) {
          if (cum + c[i] >= static_cast<unsigned>(need)) {
            found = prefix | (static_cast<unsigned long long>(255 - 8 * lane - i) << shift);
            found_need = need - static_cast<int>(cum);
            found_all = cum + c[i] == static_cast<unsigned>(need);
            break;
          }
          cum += c[i];
        }
      }
    }
    __syncthreads();
    prefix = found;
    need = found_need;
    if (found_all) break;  // the same for every thread
  }
  __syncthreads();  // found read before a next call writes it
  return prefix;
}

// The block's keys >= its k-th largest (at most k; the zeros of padding
// left out) into list[0, k), zeros after them. Every thread calls it.
template <int kPer>
__device__ void block_top_keys(const unsigned long long (&key)[kPer], int k, unsigned long long* list) {
  if (k == 1) {  // the largest: one reduction instead of the radix passes
    unsigned long long m = key[0];
#pragma unroll
    for (int j = 1; j < kPer; ++j) m = key[j] > m ? key[j] : m;
    m = block_reduce(m, [](unsigned long long a, unsigned long long b) { return a > b ? a : b; });
    if (threadIdx.x == 0) list[0] = m;
    __syncthreads();
    return;
  }
  __shared__ int count;
  const unsigned long long t = block_kth_key<kPer>(key, k);
  if (threadIdx.x == 0) count = 0;
  __syncthreads();
#pragma unroll
  for (int j = 0; j < kPer; ++j) {
    if (key[j] >= t && key[j] != 0ull) list[atomicAdd(&count, 1)] = key[j];
  }
  __syncthreads();
  for (int j = count + threadIdx.x; j < k; j += kTopThreads) list[j] = 0ull;
  __syncthreads();
}

// sum over the block's values v of exp(v - m), m their highest (mass.max;
// -infinity and sum 0 where all are -infinity).
template <int kPer>
__device__ BlockMass block_mass(const float (&v)[kPer]) {
  float m = -INFINITY;
#pragma unroll
  for (int j = 0; j < kPer; ++j) m = fmaxf(m, v[j]);
  m = block_reduce(m, [](float a, float b) { return fmaxf(a, b); });
  double s = 0.0;
  if (m != -INFINITY) {
#pragma unroll
    for (int j = 0; j < kPer; ++j) s += exp(static_cast<double>(v[j]) - m);
  }
  s = block_reduce(s, [](double a, double b) { return a + b; });
  return {static_cast<double>(m), s};
}

// k in 1..kTopMax; scratch: top_logits_scratch_bytes(n), zeroed once; mass:
// where not null, the row's softmax mass.
__global__ void __launch_bounds__(kTopThreads)
    top_logits(const float* logits, int n, int k, TopPair* out, double* mass, unsigned long long* scratch) {
  __shared__ unsigned long long list[kTopMax];
  __shared__ bool last;
  pdl_wait();
  pdl_launch_dependents();
  const int base = blockIdx.x * kTopChunk;
  unsigned long long key[kTopPer];
  float v[kTopPer];
#pragma unroll
  for (int j = 0; j < kTopPer; ++j) {
    const int i = base + j * kTopThreads + threadIdx.x;
    v[j] = i < n ? logits[i] : -INFINITY;
    key[j] = i < n ? top_key(v[j], i) : 0ull;  // 0: below every logit
  }
  unsigned* ticket = reinterpret_cast<unsigned*>(scratch + static_cast<size_t>(gridDim.x) * kTopMax);
  BlockMass* masses = reinterpret_cast<BlockMass*>(ticket + 4);
  if (mass) {
    const BlockMass bm = block_mass(v);
    if (threadIdx.x == 0) masses[blockIdx.x] = bm;
  }
  block_top_keys<kTopPer>(key, k, list);
  for (int j = threadIdx.x; j < k; j += kTopThreads) scratch[static_cast<size_t>(blockIdx.x) * k + j] = list[j];
  __threadfence();  // the kept keys before the ticket
  __syncthreads();
  if (threadIdx.x == 0) last = atomicAdd(ticket, 1u) == gridDim.x - 1;
  __syncthreads();
  if (!last) return;
  __threadfence();  // the other blocks' keys after their tickets
  if (mass && threadIdx.x < 32) {  // the blocks' sums rescaled to the highest logit of all
    double m = -INFINITY;
    for (unsigned b = threadIdx.x; b < gridDim.x; b += 32) m = fmax(m, __ldcg(&masses[b].max));
#pragma unroll
    for (int off = 16; off > 0; off /= 2) m = fmax(m, __shfl_xor_sync(0xffffffffu, m, off));
    double s = 0.0;
    for (unsigned b = threadIdx.x; b < gridDim.x; b += 32) {
      const double bm = __ldcg(&masses[b].max);
      if (bm != -INFINITY) s += __ldcg(&masses[b].sum) * exp(bm - m);
    }
#pragma unroll
    for (int off = 16; off > 0; off /= 2) s += __shfl_xor_sync(0xffffffffu, s, off);
    if (threadIdx.x == 0) *mass = s;
  }
  // Rounds over the kept keys: the best k so far (list) and up to
  // kTopMerge - k more.
  const int kept = static_cast<int>(gridDim.x) * k;
  for (int from = 0; from < kept;) {
    const int carried = from == 0 ? 0 : k, take = min(kTopMerge - carried, kept - from);
    unsigned long long mk[kTopMergePer];
#pragma unroll
    for (int j = 0; j < kTopMergePer; ++j) {
      const int i = j * kTopThreads + threadIdx.x;
      mk[j] = i < carried ? list[i] : (i - carried < take ? __ldcg(scratch + from + i - carried) : 0ull);
    }
    __syncthreads();  // list read before it is rewritten
    block_top_keys<kTopMergePer>(mk, k, list);
    from += take;
  }
  // Each key's place: how many of the k are larger (they are distinct).
  for (int j = threadIdx.x; j < k; j += kTopThreads) {
    const unsigned long long mine = list[j];
    int rank = 0;
    for (int i = 0; i < k; ++i) rank += list[i] > mine;
    const int id = static_cast<int>(~static_cast<uint32_t>(mine));
    out[rank] = {id, logits[id]};
  }
  if (threadIdx.x == 0) *ticket = 0;  // for the next launch (after this one, in stream order)
}

// The min(k, n) first of logits[0, n) in top_first order into out[0, ..),
// and where mass is not null, the row's softmax mass into *mass.
inline void launch_top_logits(cudaStream_t s, const float* logits, int n, int k, TopPair* out, double* mass,
                              unsigned long long* scratch) {
  launch(top_logits, dim3(static_cast<unsigned>(top_logits_blocks(n))), dim3(kTopThreads), 0, s, logits, n,
         k < n ? k : n, out, mass, scratch);
}

}  // namespace forge::kernels::cuda
