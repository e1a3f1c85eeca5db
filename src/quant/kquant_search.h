// Scale searches used by the K-quant reference quantizers (internal). They
// follow the published ggml reference algorithms (ggml-quants.c:
// make_qx_quants, make_q3_quants, make_qkx2_quants) without importance
// weights, so our output matches llama-quantize run without an imatrix.
#pragma once

#include <cstdint>

namespace forge::quant::detail {

// Below this a group is treated as all zero (ggml's GROUP_MAX_EPS).
inline constexpr float kGroupMaxEps = 1e-15f;

// Symmetric quantization of n values to L[i] in [0, 2*nmax) (value = scale *
// (L - nmax)), searching 19 candidate scales around -nmax/vmax and keeping the
// one with the least weighted squared error (weights x^2 when rmse_type == 1).
// Returns the scale.
float make_qx_quants(int n, int nmax, const float* x, int8_t* L, int rmse_type);

// Symmetric quantization for Q3_K: L[i] in [0, 2*nmax); with do_rmse, a few
// rounds of coordinate descent on the x^2-weighted error. Returns the scale.
float make_q3_quants(int n, int nmax, const float* x, int8_t* L, bool do_rmse);

// Asymmetric quantization value = scale * L - the_min, L[i] in [0, nmax],
// searching nstep+1 scales (rmin + rdelta * k) around (max - min) / nmax with a
// weighted least-squares fit of scale and min for each; squared error, or
// absolute error with use_mad. Returns the scale; *the_min >= 0.
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                       uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad);

}  // namespace forge::quant::detail
