// Batched matrix product through oneDNN, with TF.js's transposes, batch broadcasting,
// and the bias and activation of _FusedMatMul folded in.
#include <unordered_map>
#include "common.h"

namespace forger {
namespace {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

std::unordered_map<std::string, dnnl::matmul> cache;

}  // namespace

// matmul(a, b, bias|null, c, dims[bA, bB, M, K, N, transA, transB], act, alpha)
// a is [bA, M, K] ([bA, K, M] when transA); b is [bB, K, N] ([bB, N, K] when transB); c is [max(bA, bB), M, N];
// bias has N elements.
Napi::Value MatMul(const Napi::CallbackInfo& info) {
  F32 a, b, bias, c;
  std::vector<int64_t> d;
  if (!getF32(info, 0, a) || !getF32(info, 1, b) || !getF32(info, 2, bias, true) || !getF32(info, 3, c) || !getI32(info, 4, d))
    return info.Env().Undefined();
  int act = info[5].As<Napi::Number>().Int32Value();
  float alpha = info[6].As<Napi::Number>().FloatValue();
  return guarded(info, [&] {
    if (d.size() != 7) throw std::invalid_argument("matmul dims must have 7 entries");
    const int64_t bA = d[0], bB = d[1], M = d[2], K = d[3], N = d[4];
    const bool tA = d[5] != 0, tB = d[6] != 0;
    const int64_t bC = std::max(bA, bB);
    if ((bA != bC && bA != 1) || (bB != bC && bB != 1)) throw std::invalid_argument("matmul batch sizes do not broadcast");
    if (a.length != size_t(bA * M * K) || b.length != size_t(bB * K * N) || c.length != size_t(bC * M * N))
      throw std::invalid_argument("matmul operand sizes do not match their dims");
    if (bias.data && bias.length != size_t(N)) throw std::invalid_argument("matmul bias must have N elements");
    dnnl::memory::desc aMd({bA, M, K}, dt::f32, tA ? dnnl::memory::dims{M * K, 1, M} : dnnl::memory::dims{M * K, K, 1});
    dnnl::memory::desc bMd({bB, K, N}, dt::f32, tB ? dnnl::memory::dims{K * N, 1, K} : dnnl::memory::dims{K * N, N, 1});
    dnnl::memory::desc cMd({bC, M, N}, dt::f32, tag::abc);
    dnnl::memory::desc biasMd({1, 1, N}, dt::f32, tag::abc);
    char key[160];
    snprintf(key, sizeof key, "%ld,%ld,%ld,%ld,%ld,%d,%d,%d,%d,%g", bA, bB, M, K, N, int(tA), int(tB), int(bias.data != nullptr), act, alpha);
    auto it = cache.find(key);
    if (it == cache.end()) {
      auto desc = bias.data ? dnnl::matmul::desc(aMd, bMd, biasMd, cMd) : dnnl::matmul::desc(aMd, bMd, cMd);
      dnnl::matmul::primitive_desc pd(desc, activationAttr(act, alpha), engine());
      it = cache.emplace(key, dnnl::matmul(pd)).first;
    }
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, dnnl::memory(aMd, engine(), a.data)},
                                               {DNNL_ARG_WEIGHTS, dnnl::memory(bMd, engine(), b.data)},
                                               {DNNL_ARG_DST, dnnl::memory(cMd, engine(), c.data)}};
    if (bias.data) args.emplace(DNNL_ARG_BIAS, dnnl::memory(biasMd, engine(), bias.data));
    it->second.execute(stream(), args);
    stream().wait();
  });
}

}  // namespace forger
