// Compile check (no GPU needed): every weight type's matrix-vector kernel
// and the attention kernel at a few head sizes instantiate under nvcc.
#include "kernels/cuda/attention_mma.cuh"
#include "kernels/cuda/forge_kernels.cuh"
#include "kernels/cuda/matvec.cuh"
#include "kernels/cuda/gemm.cuh"
#include "kernels/cuda/mmq.cuh"

namespace kc = forge::kernels::cuda;
using namespace forge::quant;

template <class... B>
void all_types(cudaStream_t s) {
  (kc::launch_matvec<B, 256>(s, nullptr, 0, 0, nullptr, nullptr, 1, nullptr, nullptr), ...);
  // the decode paths by row length: whole warps of 16-byte pieces (K % 512), partial ones, small rows
  (kc::launch_matvec<B, 576>(s, nullptr, 0, 0, nullptr, nullptr, 1, nullptr, nullptr), ...);
  (kc::launch_matvec<B, 544>(s, nullptr, 0, 0, nullptr, nullptr, 1, nullptr, nullptr), ...);
  (kc::launch_matvec<B, 8192>(s, nullptr, 0, 0, nullptr, nullptr, 1, nullptr, nullptr), ...);
  // several projections in one launch (q, k, v)
  (kc::launch_matvec_parts<B, 2048, 3>(s, kc::MatvecParts<3>{}, nullptr, nullptr, 1), ...);
  // prefill through cuBLAS (every mode is a run-time branch of one instantiation)
  const kc::GemmContext g;
  (kc::gemm_matmul<B, 2048>(g, s, nullptr, 0, 0, nullptr, nullptr, 16, nullptr, nullptr), ...);
}

// int8 tensor-core prefill: whole stages (K % 128 == 0) and a partial last one (576)
template <class B>
void mmq_lengths(cudaStream_t s) {
  kc::launch_mmq<B, 2048>(s, nullptr, 0, 0, nullptr, nullptr, 16, nullptr, nullptr);
  kc::launch_mmq<B, 576>(s, nullptr, 0, 0, nullptr, nullptr, 16, nullptr, nullptr);
  // the decode matvec of split rows on int8 levels (__dp4a): 1, 2 and 4 rows a warp
  const int8_t* levels = nullptr;
  const float* scales = nullptr;
  kc::launch_matvec<B, 8192>(s, nullptr, 0, 0, nullptr, nullptr, 1, nullptr, nullptr, levels, scales);
  kc::launch_matvec<B, 2048>(s, nullptr, 0, 0, nullptr, nullptr, 1, nullptr, nullptr, levels, scales);
  kc::launch_matvec<B, 576>(s, nullptr, 0, 0, nullptr, nullptr, 1, nullptr, nullptr, levels, scales);
  kc::launch_matvec<B, 64>(s, nullptr, 0, 0, nullptr, nullptr, 1, nullptr, nullptr, levels, scales);
  // with the input computed by the projection's blocks: a norm (q, k, v), a GLU (down)
  kc::launch_matvec_split<B, 576, 3>(s, kc::MatvecParts<3>{}, kc::NormInput{});
  kc::launch_matvec_split<B, 2048, 2>(s, kc::MatvecParts<2>{}, kc::NormInput{});
  kc::launch_matvec_split<B, 1536, 1>(s, kc::MatvecParts<1>{}, kc::GluInput{});
  kc::launch_matvec_split<B, 8192, 1>(s, kc::MatvecParts<1>{}, kc::GluInput{});
  // the first projection, embedding its token (tables of any type); the output projection with the argmax
  kc::launch_matvec_split<B, 576, 3>(s, kc::MatvecParts<3>{}, kc::EmbedInput<BlockQ8_0>{});
  kc::launch_matvec_split<B, 2048, 3>(s, kc::MatvecParts<3>{}, kc::EmbedInput<BlockQ4_1>{});
  kc::launch_matvec_split<B, 3072, 3>(s, kc::MatvecParts<3>{}, kc::EmbedInput<BlockQ6_K>{});
  kc::launch_matvec_split<B, 2048, 1>(s, kc::MatvecParts<1>{}, kc::NormInput{}, kc::ArgmaxNext{});
  // a gate/up projection with the GLU after it (matvec_glu)
  kc::launch_matvec_glu<B, 2048, 2>(s, kc::MatvecParts<2>{}, kc::NormInput{}, kc::GluOut{});
  kc::launch_matvec_glu<B, 3072, 2>(s, kc::MatvecParts<2>{}, kc::NormInput{}, kc::GluOut{});
}

void instantiate(cudaStream_t s) {
  all_types<BlockF32, BlockF16, BlockBF16, BlockQ4_0, BlockQ4_1, BlockQ5_0, BlockQ5_1, BlockQ8_0, BlockQ4_K, BlockQ5_K,
            BlockQ6_K>(s);
  mmq_lengths<BlockQ8_0>(s);
  mmq_lengths<BlockQ4_0>(s);
  kc::attention<64, 64, 32, 8, __half><<<1, kc::kAttnThreads, 0, s>>>(nullptr, nullptr, nullptr, nullptr, 0, 1.0f, 0.0f, nullptr);
  kc::attention<128, 128, 24, 8, __half><<<1, kc::kAttnThreads, 0, s>>>(nullptr, nullptr, nullptr, nullptr, 0, 1.0f, 0.0f,
                                                                nullptr);
  kc::attention<64, 64, 32, 8, float><<<1, kc::kAttnThreads, 0, s>>>(nullptr, nullptr, nullptr, nullptr, 0, 1.0f, 0.0f,
                                                                   nullptr);
  kc::attention_prefill<64, 64, 32, 8, __half><<<1, kc::kPaThreads, 0, s>>>(nullptr, nullptr, nullptr, nullptr, 0, 1.0f,
                                                                         0.0f, nullptr, 16);
  kc::attention_prefill<128, 128, 24, 8, float><<<1, kc::kPaThreads, 0, s>>>(nullptr, nullptr, nullptr, nullptr, 0, 1.0f,
                                                                         0.0f, nullptr, 16);
  kc::launch_attention_mma<64, 64, 9, 3, __half>(s, nullptr, nullptr, nullptr, nullptr, 0, 1.0f, 0.0f, nullptr, 16);
  kc::launch_attention_mma<128, 128, 24, 8, float>(s, nullptr, nullptr, nullptr, nullptr, 0, 1.0f, 0.0f, nullptr, 16);
  kc::rope_kv<__half><<<1, 64, 0, s>>>(nullptr, nullptr, nullptr, nullptr, nullptr, 8, 2, 64, 64, 32, false, nullptr,
                                       1.0f, nullptr);
  kc::launch_fake_quant_q8_0(s, nullptr, kc::Q8Out{}, 0);
  kc::launch_norm_rows(s, 1, nullptr, nullptr, nullptr, nullptr, nullptr, 0, 0, false, false, 0.0f, 0.0f, kc::Q8Out{});
  kc::launch_glu(s, nullptr, nullptr, 0, false, kc::Q8Out{});
  kc::kv_write<float><<<1, 64, 0, s>>>(nullptr, nullptr, nullptr, nullptr, 0, 0, nullptr);
  kc::kv_write<__half><<<1, 64, 0, s>>>(nullptr, nullptr, nullptr, nullptr, 0, 0, nullptr);
  kc::embed<BlockQ4_1, 256><<<1, 64, 0, s>>>(nullptr, 0, 1.0f, nullptr, nullptr);
  kc::embed<BlockQ6_K, 256><<<1, 64, 0, s>>>(nullptr, 0, 1.0f, nullptr, nullptr);
  kc::embed<BlockQ8_0, 576><<<1, 64, 0, s>>>(nullptr, 0, 1.0f, nullptr, nullptr);
  kc::launch(kc::embed<BlockQ4_0, 576>, dim3(1), dim3(64), 0, s, nullptr, 0, 1.0f, nullptr, nullptr);
}

int main() { return 0; }
