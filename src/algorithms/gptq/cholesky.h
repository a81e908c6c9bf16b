// The factor GPTQ's column loop needs (FORMATS.md §3.2 step 6): for a symmetric positive definite H,
// U = upper Cholesky factor of H^-1 (H^-1 = U^T U), computed as the reference does with LAPACK:
// L = potrf(H), H^-1 = potri(L), U = potrf(H^-1, upper). Arithmetic in float32 (the reference's
// precision) or float64 (cast back to float32 at the end).
#pragma once

#include <cstdint>
#include <vector>

namespace qforge::algorithms::gptq {

// h: [n, n] row-major symmetric (already dampened). On success returns true and overwrites h with U
// (row-major, zeros below the diagonal). Returns false when a factorisation finds H not positive definite.
bool InverseCholeskyUpper(std::vector<float>& h, int64_t n, bool use_f64);

}  // namespace qforge::algorithms::gptq
