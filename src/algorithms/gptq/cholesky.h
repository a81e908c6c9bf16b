// The factor GPTQ's column loop needs (FORMATS.md §3.2 step 6): for a symmetric positive definite H,
// U = upper Cholesky factor of H^-1 (H^-1 = U^T U), computed as the reference does with LAPACK:
// L = potrf(H), H^-1 = potri(L), U = potrf(H^-1, upper). Arithmetic in float32 (the reference's
// precision) or float64 (cast back to float32 by the caller).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace qforge::algorithms::gptq {

// a: [n, n] COLUMN-major; on entry its lower triangle (i >= j at a[i + j*n]) holds the symmetric A (already
// dampened); the strict upper triangle is not read. On success returns true and a's upper triangle
// (i <= j at a[i + j*n]) holds U with A^-1 = U^T U; the strict lower triangle is scratch. Returns false
// when a factorisation finds A not positive definite. T = float or double.
bool InverseCholeskyUpperInPlace(std::vector<float>& a, int64_t n);
bool InverseCholeskyUpperInPlace(std::vector<double>& a, int64_t n);

// The same U in float64 Rectangular Full Packed storage (LAPACK RFP, TRANSR = 'N', UPLO = 'L'): n(n+1)/2
// doubles instead of n^2, level-3 BLAS speed, and half the flops of potrf/potri/potrf. With J the order
// reversal and B = J A J: B = L L^T (dpftrf) gives A = (J L J)(J L J)^T with J L J upper, so
// A^-1 = U^T U for U = (J L J)^-1 = J L^-1 J (dtftri); U is unique (positive diagonal), so it is the factor
// above, only rounded differently. Element (i, j), i >= j, of a lower triangle lives at
// a[RfpLowerIndex(i, j, n)]. On entry `a` holds B's lower triangle (B(i, j) = A(n-1-i, n-1-j)); on success
// it holds L^-1, and U(i, j) = L^-1(n-1-i, n-1-j) for i <= j. n must be at most kMaxRfpDim (LAPACK's int
// offsets).
inline constexpr int64_t kMaxRfpDim = 46340;
inline size_t RfpLowerIndex(size_t i, size_t j, size_t n) {
  if (n % 2 == 0) {
    const size_t k = n / 2;
    return j < k ? (i + 1) + j * (n + 1) : (j - k) + (i - k) * (n + 1);
  }
  const size_t k = (n + 1) / 2;
  return j < k ? i + j * n : (j - k) + (i - k + 1) * n;
}
bool ReversedCholeskyInverseRfp(std::vector<double>& a, int64_t n);

// h: [n, n] row-major symmetric (already dampened). On success returns true and overwrites h with U
// (row-major, zeros below the diagonal). Returns false when a factorisation finds H not positive definite.
bool InverseCholeskyUpper(std::vector<float>& h, int64_t n, bool use_f64);

}  // namespace qforge::algorithms::gptq
