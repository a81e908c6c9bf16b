// GPTQ timings and memory (issue 5 benchmark), two modes:
//
//   gptq_bench layer [--tokens N] [--linears q,o,gate,down,...] [--hessian f32|f64] [--solve f32|f64]
//       one decoder layer of llama-3.1-8b shape (hidden 4096, q 4096, kv 1024, mlp 14336) with random
//       weights and correlated random inputs: Hessian accumulation (syrk over N tokens) and factorisation
//       (Cholesky inverse) per distinct input, and the column loop per Linear (W4 g128, actorder static),
//       reported separately.
//   gptq_bench model DIR --calib FILE [--samples N] [--seq-len L] [--bf16-acts] [--no-share] [--no-release]
//       the sequential pipeline on a whole model (e.g. `qforge synth --shape llama-3.1-8b --layers 4`):
//       wall time per phase, VmRSS / VmHWM after every Linear and the process's peak RSS (getrusage).
//       --no-share factors each Linear's H again; --no-release keeps mapped weights resident; --trim calls
//       malloc_trim after each Linear and shows the RSS after it (freed heap that glibc had kept).
#include <malloc.h>
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "algorithms/gptq/gptq_math.h"
#include "algorithms/gptq/hessian.h"
#include "calib/calib_data.h"
#include "pipeline/calibrate.h"
#include "pipeline/load_model.h"

namespace gptq = qforge::algorithms::gptq;
using Clock = std::chrono::steady_clock;

namespace {

double Seconds(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
double PeakRssMiB() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}
std::string Arg(int argc, char** argv, const std::string& key, const std::string& def) {
  for (int i = 0; i + 1 < argc; ++i) {
    if (argv[i] == key) return argv[i + 1];
  }
  return def;
}
bool Flag(int argc, char** argv, const std::string& key) {
  for (int i = 0; i < argc; ++i) {
    if (argv[i] == key) return true;
  }
  return false;
}

// Whether comma-separated `list` has the item `name` (no temporaries: g++ 12 -Werror=restrict misfires on
// `"," + std::string + ","` concatenations).
bool ListHas(const std::string& list, std::string_view name) {
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t end = list.find(',', pos);
    if (end == std::string::npos) end = list.size();
    if (std::string_view(list).substr(pos, end - pos) == name) return true;
    pos = end + 1;
  }
  return false;
}

struct Lin {
  const char* name;
  int64_t out, in;
  int input;  // Linears with the same input share its Hessian and its factorisation: q/k/v, o, gate/up, down
};

// VmRSS / VmHWM of this process in MiB, from /proc/self/status.
std::string RssNow() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return "";
  char line[256];
  long rss = -1, hwm = -1;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::sscanf(line, "VmRSS: %ld kB", &rss) == 1) continue;
    std::sscanf(line, "VmHWM: %ld kB", &hwm);
  }
  std::fclose(f);
  char buf[96];
  std::snprintf(buf, sizeof buf, "RSS %ld MiB, peak %ld MiB", rss / 1024, hwm / 1024);
  return buf;
}

int LayerMode(int argc, char** argv) {
  const int64_t tokens = std::stoll(Arg(argc, argv, "--tokens", "2048"));
  const std::string which = Arg(argc, argv, "--linears", "q,k,v,o,gate,up,down");
  const bool h64 = Arg(argc, argv, "--hessian", "f32") == "f64";
  const bool s64 = Arg(argc, argv, "--solve", "f64") == "f64";
  const Lin all[] = {{"q", 4096, 4096, 0}, {"k", 1024, 4096, 0}, {"v", 1024, 4096, 0}, {"o", 4096, 4096, 1},
                     {"gate", 14336, 4096, 2}, {"up", 14336, 4096, 2}, {"down", 4096, 14336, 3}};
  std::mt19937 rng(1);
  std::normal_distribution<float> n01;
  std::printf("llama-3.1-8b layer, %lld calibration tokens, Hessian %s, solve %s; the H factorisation "
              "(dead columns, order, damping, U = chol(H^-1)^T) is shared by Linears with the same input\n",
              static_cast<long long>(tokens), h64 ? "f64" : "f32", s64 ? "f64" : "f32");
  double total_h = 0, total_f = 0, total_s = 0;
  int cur_input = -1;
  std::unique_ptr<gptq::Factorization> fac;
  gptq::Options o;
  o.solve_in_f64 = s64;
  o.keep_wq = false;
  for (const Lin& l : all) {
    if (!ListHas(which, l.name)) continue;
    double th = 0, tf = 0;
    if (l.input != cur_input) {
      fac.reset();
      cur_input = l.input;
      // Correlated inputs through 16 shared factors (an almost diagonal H would make the solve trivial).
      std::vector<float> x(static_cast<size_t>(tokens * l.in)), b(static_cast<size_t>(16 * l.in));
      for (float& v : b) v = 0.25f * n01(rng);
      for (int64_t t = 0; t < tokens; ++t) {
        float f[16];
        for (float& v : f) v = n01(rng);
        for (int64_t c = 0; c < l.in; ++c) {
          float v = n01(rng);
          for (int k = 0; k < 16; ++k) v += f[k] * b[static_cast<size_t>(k * l.in + c)];
          x[static_cast<size_t>(t * l.in + c)] = v;
        }
      }
      auto t0 = Clock::now();
      gptq::HessianAccumulator acc(l.in, h64 ? gptq::HessianPrecision::kF64 : gptq::HessianPrecision::kF32);
      for (int64_t t = 0; t < tokens; t += 512) acc.Add(x.data() + t * l.in, std::min<int64_t>(512, tokens - t), 1);
      std::vector<float> h = acc.TakeFinalized();
      th = Seconds(t0);
      std::vector<float>().swap(x);
      t0 = Clock::now();
      fac = std::make_unique<gptq::Factorization>(gptq::Factorize(std::move(h), l.in, o));
      tf = Seconds(t0);
      total_h += th;
      total_f += tf;
    }
    std::vector<float> w(static_cast<size_t>(l.out * l.in));
    for (float& v : w) v = 0.02f * n01(rng);
    const auto t0 = Clock::now();
    const gptq::Result r = gptq::Solve(w.data(), l.out, *fac, o);
    const double ts = Seconds(t0);
    total_s += ts;
    std::printf("  %-5s [%5lld x %5lld]  hessian %7.2f s   factor %7.2f s   solve %7.2f s   (loss %.4g; %s)\n",
                l.name, static_cast<long long>(l.out), static_cast<long long>(l.in), th, tf, ts, r.loss,
                RssNow().c_str());
  }
  std::printf("layer total: hessians %.2f s, factorisations %.2f s (each distinct input once), column loops "
              "%.2f s; peak RSS %.0f MiB\n", total_h, total_f, total_s, PeakRssMiB());
  return 0;
}

int ModelMode(int argc, char** argv) {
  const std::string dir = argv[2];
  qforge::calib::CalibDataOptions co;
  co.path = Arg(argc, argv, "--calib", "");
  co.num_samples = std::stoll(Arg(argc, argv, "--samples", "16"));
  co.seq_len = std::stoll(Arg(argc, argv, "--seq-len", "512"));
  auto t0 = Clock::now();
  qforge::pipeline::LoadedModel m = qforge::pipeline::LoadModel(dir);
  const auto data = qforge::calib::LoadCalibData(co, *m.tokenizer);
  std::printf("load + tokenize %.2f s: %zu samples, %lld tokens\n", Seconds(t0), data.samples.size(),
              static_cast<long long>(data.total_tokens()));
  qforge::pipeline::CalibrateOptions o;
  qforge::codecs::IntQuantSpec spec;
  o.gptq_spec = spec;  // W4 g128 sym
  o.bf16_activations = Flag(argc, argv, "--bf16-acts");
  o.share_factorization = !Flag(argc, argv, "--no-share");
  o.release_mapped_pages = !Flag(argc, argv, "--no-release");
  // --trim: also show how much of the RSS is freed heap that glibc keeps (malloc_trim gives it back).
  const bool trim = Flag(argc, argv, "--trim");
  o.log = [trim](const std::string& line) {
    std::printf("%s  [%s]", line.c_str(), RssNow().c_str());
    if (trim) {
      malloc_trim(0);
      std::printf(" [after malloc_trim: %s]", RssNow().c_str());
    }
    std::printf("\n");
    std::fflush(stdout);
  };
  std::printf("before calibration: %s\n", RssNow().c_str());
  std::fflush(stdout);
  const auto r = qforge::pipeline::Calibrate(*m.model, data.samples, o);
  std::printf("%d layers: total %.2f s, forward+hessians %.2f s, gptq solves %.2f s (of which H factorisations "
              "%.2f s); activations %.0f MiB, peak hessian accumulators %.0f MiB; peak RSS %.0f MiB\n",
              m.model->num_layers(), r.total_seconds, r.hessian_seconds, r.solve_seconds, r.factor_seconds,
              static_cast<double>(r.activation_bytes) / (1 << 20),
              static_cast<double>(r.peak_hessian_bytes) / (1 << 20), PeakRssMiB());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc >= 2 && std::string(argv[1]) == "layer") return LayerMode(argc, argv);
    if (argc >= 3 && std::string(argv[1]) == "model") return ModelMode(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gptq_bench: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: gptq_bench layer [--tokens N] [--linears q,down] [--hessian f32|f64] [--solve f32|f64]\n"
                       "       gptq_bench model DIR --calib FILE [--samples N] [--seq-len L] [--bf16-acts] "
                       "[--no-share] [--no-release] [--trim]\n");
  return 2;
}
