#include "algorithms/gptq/cholesky.h"

#include <cstddef>
#include <limits>

#include "core/error.h"

// LAPACK Fortran entry points (the LAPACKE header is not always installed). gfortran passes the length of
// each CHARACTER argument as a trailing hidden size_t.
extern "C" {
void spotrf_(const char* uplo, const int* n, float* a, const int* lda, int* info, size_t uplo_len);
void spotri_(const char* uplo, const int* n, float* a, const int* lda, int* info, size_t uplo_len);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info, size_t uplo_len);
void dpotri_(const char* uplo, const int* n, double* a, const int* lda, int* info, size_t uplo_len);
void dpftrf_(const char* transr, const char* uplo, const int* n, double* a, int* info, size_t transr_len,
             size_t uplo_len);
void dtftri_(const char* transr, const char* uplo, const char* diag, const int* n, double* a, int* info,
             size_t transr_len, size_t uplo_len, size_t diag_len);
}

namespace qforge::algorithms::gptq {
namespace {

void Potrf(char uplo, int n, float* a, int* info) { spotrf_(&uplo, &n, a, &n, info, 1); }
void Potrf(char uplo, int n, double* a, int* info) { dpotrf_(&uplo, &n, a, &n, info, 1); }
void Potri(char uplo, int n, float* a, int* info) { spotri_(&uplo, &n, a, &n, info, 1); }
void Potri(char uplo, int n, double* a, int* info) { dpotri_(&uplo, &n, a, &n, info, 1); }

// Works in column-major storage `a` (a symmetric input reads the same either way).
template <typename T>
bool Factor(std::vector<T>& a, int n) {
  int info = 0;
  Potrf('L', n, a.data(), &info);  // H = L L^T, L in the lower triangle
  if (info != 0) return false;
  Potri('L', n, a.data(), &info);  // lower triangle of H^-1
  if (info != 0) return false;
  const size_t c = static_cast<size_t>(n);
  for (size_t j = 0; j < c; ++j) {  // mirror lower -> upper (column-major: (i,j) at i + j*n)
    for (size_t i = j + 1; i < c; ++i) a[j + i * c] = a[i + j * c];
  }
  Potrf('U', n, a.data(), &info);  // H^-1 = U^T U, U in the upper triangle
  return info == 0;
}

}  // namespace

bool InverseCholeskyUpperInPlace(std::vector<float>& a, int64_t n) {
  QF_CHECK(n > 0 && n <= std::numeric_limits<int>::max());
  QF_CHECK(a.size() == static_cast<size_t>(n) * static_cast<size_t>(n));
  return Factor(a, static_cast<int>(n));
}

bool InverseCholeskyUpperInPlace(std::vector<double>& a, int64_t n) {
  QF_CHECK(n > 0 && n <= std::numeric_limits<int>::max());
  QF_CHECK(a.size() == static_cast<size_t>(n) * static_cast<size_t>(n));
  return Factor(a, static_cast<int>(n));
}

bool ReversedCholeskyInverseRfp(std::vector<double>& a, int64_t n) {
  QF_CHECK(n > 0 && n <= kMaxRfpDim);
  const size_t c = static_cast<size_t>(n);
  QF_CHECK(a.size() == c * (c + 1) / 2);
  const int ni = static_cast<int>(n);
  const char transr = 'N', uplo = 'L', diag = 'N';
  int info = 0;
  dpftrf_(&transr, &uplo, &ni, a.data(), &info, 1, 1);  // B = L L^T
  if (info != 0) return false;
  dtftri_(&transr, &uplo, &diag, &ni, a.data(), &info, 1, 1, 1);  // L^-1
  return info == 0;
}

bool InverseCholeskyUpper(std::vector<float>& h, int64_t n, bool use_f64) {
  QF_CHECK(n > 0 && n <= std::numeric_limits<int>::max());
  const size_t c = static_cast<size_t>(n);
  QF_CHECK(h.size() == c * c);
  // Row-major U[i][j] (i <= j) is column-major element (i, j) at i + j*n, i.e. the transpose of the
  // column-major buffer read row-major: copy it out explicitly.
  if (use_f64) {
    std::vector<double> a(h.begin(), h.end());
    if (!InverseCholeskyUpperInPlace(a, n)) return false;
    for (size_t i = 0; i < c; ++i) {
      for (size_t j = 0; j < c; ++j) h[i * c + j] = j >= i ? static_cast<float>(a[i + j * c]) : 0.0f;
    }
    return true;
  }
  std::vector<float> a = h;
  if (!InverseCholeskyUpperInPlace(a, n)) return false;
  for (size_t i = 0; i < c; ++i) {
    for (size_t j = 0; j < c; ++j) h[i * c + j] = j >= i ? a[i + j * c] : 0.0f;
  }
  return true;
}

}  // namespace qforge::algorithms::gptq
