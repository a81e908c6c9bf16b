// Include first in every file of this folder that does float arithmetic that must be bit-exact with ggml.
// g++ contracts a*b - c into one fused multiply-add (one rounding) whenever FMA is available (C++ modes
// default to -ffp-contract=fast), e.g. inside Highway's AVX2/AVX-512 target code; ggml's reference is
// built without FMA, so contraction would change bits. This turns contraction off for the whole file.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#elif defined(__clang__)
#pragma clang fp contract(off)
#endif
