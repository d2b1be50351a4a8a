// Element-wise kernels with NumPy broadcasting, split across OpenMP threads. Float math
// mirrors TF.js's cpu kernels (same formulas), so results agree to float rounding.
#include <omp.h>
#include <algorithm>
#include <cmath>
#include <cstring>
#include "common.h"

namespace forger {
namespace {

constexpr int64_t kParallelMin = 1 << 15;  // below this, threads cost more than they save

// out = f(a, b) over broadcast shapes, right-aligned. Dims are collapsed so the inner loop
// runs over a contiguous stretch in which each operand steps by 0 or 1.
struct Broadcast {
  std::vector<int64_t> shape, sa, sb;  // collapsed out shape and element strides of a and b (0 = broadcast)
  int64_t total = 1;
  Broadcast(const std::vector<int64_t>& as, const std::vector<int64_t>& bs, const std::vector<int64_t>& os) {
    const size_t r = os.size();
    std::vector<int64_t> ea(r, 1), eb(r, 1);
    if (as.size() > r || bs.size() > r) throw std::invalid_argument("operand rank exceeds output rank");
    for (size_t i = 0; i < as.size(); i++) ea[r - as.size() + i] = as[i];
    for (size_t i = 0; i < bs.size(); i++) eb[r - bs.size() + i] = bs[i];
    std::vector<int64_t> da(r), db(r);  // strides before collapsing
    int64_t pa = 1, pb = 1;
    for (size_t k = r; k-- > 0;) {
      if ((ea[k] != os[k] && ea[k] != 1) || (eb[k] != os[k] && eb[k] != 1)) throw std::invalid_argument("shapes do not broadcast");
      da[k] = ea[k] == 1 && os[k] != 1 ? 0 : pa;
      db[k] = eb[k] == 1 && os[k] != 1 ? 0 : pb;
      pa *= ea[k], pb *= eb[k], total *= os[k];
    }
    for (size_t k = 0; k < r; k++)
      if (os[k] != 1) shape.push_back(os[k]), sa.push_back(da[k]), sb.push_back(db[k]);
    // collapse from the inside out: dims i-1 and i merge when each operand's stride at i-1 is stride_i * n_i
    // (both 0 when broadcast in both)
    std::vector<int64_t> cs, ca, cb;
    for (size_t k = shape.size(); k-- > 0;) {
      if (!cs.empty()) {
        int64_t n = cs.back();
        bool okA = (ca.back() == 0 && sa[k] == 0) || (ca.back() != 0 && sa[k] == ca.back() * n);
        bool okB = (cb.back() == 0 && sb[k] == 0) || (cb.back() != 0 && sb[k] == cb.back() * n);
        if (okA && okB) {
          cs.back() *= shape[k];
          continue;
        }
      }
      cs.push_back(shape[k]), ca.push_back(sa[k]), cb.push_back(sb[k]);
    }
    shape.assign(cs.rbegin(), cs.rend()), sa.assign(ca.rbegin(), ca.rend()), sb.assign(cb.rbegin(), cb.rend());
    if (shape.empty()) shape = {1}, sa = {1}, sb = {1};
  }

  // Calls row(offsetA, offsetB, offsetOut, stepA, stepB, length) over the flat range [lo, hi).
  template <typename Row>
  void walk(int64_t lo, int64_t hi, Row row) const {
    const size_t r = shape.size();
    const int64_t inner = shape[r - 1];
    std::vector<int64_t> idx(r, 0);
    int64_t rem = lo;
    for (size_t k = r; k-- > 0;) idx[k] = rem % shape[k], rem /= shape[k];
    int64_t i = lo;
    while (i < hi) {
      int64_t oa = 0, ob = 0;
      for (size_t k = 0; k < r; k++) oa += idx[k] * sa[k], ob += idx[k] * sb[k];
      int64_t len = std::min(inner - idx[r - 1], hi - i);
      row(oa, ob, i, sa[r - 1], sb[r - 1], len);
      i += len;
      idx[r - 1] += len;
      for (size_t k = r - 1; k > 0 && idx[k] >= shape[k]; k--) idx[k] = 0, idx[k - 1]++;
    }
  }

  template <typename Row>
  void run(Row row) const {
    if (total < kParallelMin) return walk(0, total, row);
#pragma omp parallel
    {
      int t = omp_get_thread_num(), nt = omp_get_num_threads();
      int64_t lo = total * t / nt, hi = total * (t + 1) / nt;
      walk(lo, hi, row);
    }
  }
};

template <typename T, typename F>
void binaryLoop(const Broadcast& bc, const float* a, const float* b, T* out, F f) {
  bc.run([&](int64_t oa, int64_t ob, int64_t oo, int64_t stA, int64_t stB, int64_t n) {
    const float* pa = a + oa;
    const float* pb = b + ob;
    T* po = out + oo;
    if (stA && stB) {
#pragma omp simd
      for (int64_t j = 0; j < n; j++) po[j] = f(pa[j], pb[j]);
    } else if (stA) {
      const float y = pb[0];
#pragma omp simd
      for (int64_t j = 0; j < n; j++) po[j] = f(pa[j], y);
    } else if (stB) {
      const float x = pa[0];
#pragma omp simd
      for (int64_t j = 0; j < n; j++) po[j] = f(x, pb[j]);
    } else {
      const T v = f(pa[0], pb[0]);
      for (int64_t j = 0; j < n; j++) po[j] = v;
    }
  });
}

template <typename F>
void parallelFor(int64_t n, F f) {
  if (n < kParallelMin) {
    f(0, n);
    return;
  }
#pragma omp parallel
  {
    int t = omp_get_thread_num(), nt = omp_get_num_threads();
    f(n * t / nt, n * (t + 1) / nt);
  }
}

// e^x for the simd loops (Cephes' expf: range reduction, degree-6 polynomial, about 2 ulp).
// Clamped to |x| <= 87 so 2^n stays a normal float; callers recompute |x| > 80 exactly.
inline float expApprox(float x) {
  x = std::min(std::max(x, -87.f), 87.f);  // NaN stays NaN
  const float fx = std::floor(x * 1.44269504088896341f + 0.5f);
  const float r = x - fx * 0.693359375f + fx * 2.12194440e-4f;
  const float y = (((((1.9875691500E-4f * r + 1.3981999507E-3f) * r + 8.3334519073E-3f) * r + 4.1665795894E-2f) * r + 1.6666665459E-1f) * r +
                   5.0000001201E-1f) * (r * r) + r + 1.0f;
  const int32_t bits = (int32_t(fx) + 127) << 23;
  float pow2;
  std::memcpy(&pow2, &bits, sizeof pow2);
  return y * pow2;
}

// tanh for the simd loops: Cephes' odd polynomial below 0.625, 1 - 2 / (e^2|x| + 1) above.
inline float tanhApprox(float x) {
  const float ax = std::fabs(x);
  const float s = x * x;
  const float small = ((((-5.70498872745E-3f * s + 2.06390887954E-2f) * s - 5.37397155531E-2f) * s + 1.33314422036E-1f) * s - 3.33332819422E-1f) * s * x + x;
  const float big = 1.f - 2.f / (expApprox(2.f * ax) + 1.f);
  return ax < 0.625f ? small : (x < 0.f ? -big : big);
}

}  // namespace

// Codes mirror src/node/backend/native-kernels.ts.
enum UnaryOp { U_RELU, U_LEAKY, U_TANH, U_SIGMOID, U_EXP, U_LOG, U_SQRT, U_RSQRT, U_SQUARE, U_NEG, U_ABS, U_STEP, U_RECIPROCAL,
               U_SOFTPLUS, U_ELU, U_LOG1P, U_RELU6, U_SIGN };

// unary(op, x, y, alpha)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  F32 x, y;
  if (!getF32(info, 1, x) || !getF32(info, 2, y)) return info.Env().Undefined();
  const int op = info[0].As<Napi::Number>().Int32Value();
  const float alpha = info[3].As<Napi::Number>().FloatValue();
  return guarded(info, [&] {
    if (x.length != y.length) throw std::invalid_argument("unary: x and y differ in length");
    const float* a = x.data;
    float* o = y.data;
    // Locals, not captures, inside the loops: a store through o could otherwise alias the
    // closure (alpha), and GCC would then leave the loop scalar despite the simd pragma.
    auto each = [&](auto f) {
      parallelFor(int64_t(x.length), [a, o, f](int64_t lo, int64_t hi) {
        const float* __restrict in = a;
        float* __restrict out = o;
        const auto fn = f;
#pragma omp simd
        for (int64_t i = lo; i < hi; i++) out[i] = fn(in[i]);
      });
    };
    switch (op) {
      case U_RELU: each([](float v) { return v < 0.f ? 0.f : v; }); break;
      case U_LEAKY:
        parallelFor(int64_t(x.length), [a, o, alpha](int64_t lo, int64_t hi) {
          const float* __restrict in = a;
          float* __restrict out = o;
          const float al = alpha;
#pragma omp simd
          for (int64_t i = lo; i < hi; i++) out[i] = in[i] < 0.f ? al * in[i] : in[i];
        });
        break;
      case U_TANH: each([](float v) { return tanhApprox(v); }); break;
      case U_SIGMOID:
        parallelFor(int64_t(x.length), [a, o](int64_t lo, int64_t hi) {
          const float* __restrict in = a;
          float* __restrict out = o;
#pragma omp simd
          for (int64_t i = lo; i < hi; i++) out[i] = 1.f / (1.f + expApprox(-in[i]));
          // exactly where the polynomial's clamp would show (sigmoid of x < -80 is a denormal),
          // while this thread's stretch is still in cache
          for (int64_t i = lo; i < hi; i++)
            if (std::fabs(in[i]) > 80.f) out[i] = 1.f / (1.f + std::exp(-in[i]));
        });
        break;
      case U_EXP: each([](float v) { return std::exp(v); }); break;
      case U_LOG: each([](float v) { return std::log(v); }); break;
      case U_SQRT: each([](float v) { return std::sqrt(v); }); break;
      case U_RSQRT: each([](float v) { return 1.f / std::sqrt(v); }); break;
      case U_SQUARE: each([](float v) { return v * v; }); break;
      case U_NEG: each([](float v) { return -v; }); break;
      case U_ABS: each([](float v) { return std::fabs(v); }); break;
      case U_STEP: each([alpha](float v) { return std::isnan(v) ? NAN : (v > 0.f ? 1.f : alpha); }); break;
      case U_RECIPROCAL: each([](float v) { return 1.f / v; }); break;
      case U_SOFTPLUS: each([](float v) { return v > 0.f ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v)); }); break;
      case U_ELU: each([](float v) { return v >= 0.f ? v : std::expm1(v); }); break;
      case U_LOG1P: each([](float v) { return std::log1p(v); }); break;
      case U_RELU6: each([](float v) { return v < 0.f ? 0.f : (v > 6.f ? 6.f : v); }); break;
      case U_SIGN: each([](float v) { return v > 0.f ? 1.f : (v < 0.f ? -1.f : 0.f); }); break;
      default: throw std::invalid_argument("unknown unary op " + std::to_string(op));
    }
  });
}

// activationGrad(op, dy, x, dx, alpha): 0 relu: x > 0 ? dy : 0;  1 leaky relu: x > 0 ? dy : alpha dy
Napi::Value ActivationGrad(const Napi::CallbackInfo& info) {
  F32 dy, x, dx;
  if (!getF32(info, 1, dy) || !getF32(info, 2, x) || !getF32(info, 3, dx)) return info.Env().Undefined();
  const int op = info[0].As<Napi::Number>().Int32Value();
  const float alpha = op == 1 ? info[4].As<Napi::Number>().FloatValue() : 0.f;
  const bool nanPasses = op == 0;  // relu's gradient is dy * step(x), NaN at NaN; leaky relu's is alpha dy there
  return guarded(info, [&] {
    if (dy.length != x.length || dx.length != x.length) throw std::invalid_argument("activationGrad: operands differ in length");
    if (op != 0 && op != 1) throw std::invalid_argument("unknown activation gradient " + std::to_string(op));
    const float* g = dy.data;
    const float* v = x.data;
    float* o = dx.data;
    parallelFor(int64_t(x.length), [g, v, o, alpha, nanPasses](int64_t lo, int64_t hi) {
      const float* __restrict pg = g;
      const float* __restrict pv = v;
      float* __restrict po = o;
      const float al = alpha;
      if (nanPasses) {
#pragma omp simd
        for (int64_t i = lo; i < hi; i++) po[i] = pv[i] > 0.f ? pg[i] : (pv[i] != pv[i] ? pv[i] : al * pg[i]);
      } else {
#pragma omp simd
        for (int64_t i = lo; i < hi; i++) po[i] = pv[i] > 0.f ? pg[i] : al * pg[i];
      }
    });
  });
}

enum BinaryOp { B_ADD, B_SUB, B_MUL, B_DIV, B_MAX, B_MIN, B_SQDIFF, B_POW };

// binary(op, a, aShape, b, bShape, out, outShape)
Napi::Value Binary(const Napi::CallbackInfo& info) {
  F32 a, b, o;
  std::vector<int64_t> as, bs, os;
  if (!getF32(info, 1, a) || !getI32(info, 2, as) || !getF32(info, 3, b) || !getI32(info, 4, bs) || !getF32(info, 5, o) ||
      !getI32(info, 6, os))
    return info.Env().Undefined();
  const int op = info[0].As<Napi::Number>().Int32Value();
  return guarded(info, [&] {
    Broadcast bc(as, bs, os);
    if (o.length != size_t(bc.total)) throw std::invalid_argument("binary: out has the wrong length");
    switch (op) {
      case B_ADD: binaryLoop(bc, a.data, b.data, o.data, [](float x, float y) { return x + y; }); break;
      case B_SUB: binaryLoop(bc, a.data, b.data, o.data, [](float x, float y) { return x - y; }); break;
      case B_MUL: binaryLoop(bc, a.data, b.data, o.data, [](float x, float y) { return x * y; }); break;
      case B_DIV: binaryLoop(bc, a.data, b.data, o.data, [](float x, float y) { return x / y; }); break;
      case B_MAX: binaryLoop(bc, a.data, b.data, o.data, [](float x, float y) { return std::isnan(x) || std::isnan(y) ? NAN : (x > y ? x : y); }); break;
      case B_MIN: binaryLoop(bc, a.data, b.data, o.data, [](float x, float y) { return std::isnan(x) || std::isnan(y) ? NAN : (x < y ? x : y); }); break;
      case B_SQDIFF: binaryLoop(bc, a.data, b.data, o.data, [](float x, float y) { return (x - y) * (x - y); }); break;
      // as JS's Math.pow, which C's pow differs from: pow(1, NaN) and pow(+-1, +-inf) are NaN
      case B_POW: binaryLoop(bc, a.data, b.data, o.data, [](float x, float y) { return std::isnan(y) || (std::isinf(y) && std::fabs(x) == 1.f) ? (y == 0.f ? 1.f : NAN) : std::pow(x, y); }); break;
      default: throw std::invalid_argument("unknown binary op " + std::to_string(op));
    }
  });
}

enum CompareOp { C_GREATER, C_GREATER_EQUAL, C_LESS, C_LESS_EQUAL, C_EQUAL, C_NOT_EQUAL };

// compare(op, a, aShape, b, bShape, out: Uint8Array, outShape)
Napi::Value Compare(const Napi::CallbackInfo& info) {
  F32 a, b;
  uint8_t* o;
  size_t on;
  std::vector<int64_t> as, bs, os;
  if (!getF32(info, 1, a) || !getI32(info, 2, as) || !getF32(info, 3, b) || !getI32(info, 4, bs) || !getU8(info, 5, o, on) ||
      !getI32(info, 6, os))
    return info.Env().Undefined();
  const int op = info[0].As<Napi::Number>().Int32Value();
  return guarded(info, [&] {
    Broadcast bc(as, bs, os);
    if (on != size_t(bc.total)) throw std::invalid_argument("compare: out has the wrong length");
    switch (op) {
      case C_GREATER: binaryLoop(bc, a.data, b.data, o, [](float x, float y) -> uint8_t { return x > y; }); break;
      case C_GREATER_EQUAL: binaryLoop(bc, a.data, b.data, o, [](float x, float y) -> uint8_t { return x >= y; }); break;
      case C_LESS: binaryLoop(bc, a.data, b.data, o, [](float x, float y) -> uint8_t { return x < y; }); break;
      case C_LESS_EQUAL: binaryLoop(bc, a.data, b.data, o, [](float x, float y) -> uint8_t { return x <= y; }); break;
      case C_EQUAL: binaryLoop(bc, a.data, b.data, o, [](float x, float y) -> uint8_t { return x == y; }); break;
      case C_NOT_EQUAL: binaryLoop(bc, a.data, b.data, o, [](float x, float y) -> uint8_t { return x != y; }); break;
      default: throw std::invalid_argument("unknown compare op " + std::to_string(op));
    }
  });
}

// select(cond: Uint8Array, a, b, out): out = cond ? a : b, all the same length
Napi::Value Select(const Napi::CallbackInfo& info) {
  uint8_t* c;
  size_t cn;
  F32 a, b, o;
  if (!getU8(info, 0, c, cn) || !getF32(info, 1, a) || !getF32(info, 2, b) || !getF32(info, 3, o)) return info.Env().Undefined();
  return guarded(info, [&] {
    if (cn != o.length || a.length != o.length || b.length != o.length) throw std::invalid_argument("select: operands differ in length");
    parallelFor(int64_t(o.length), [c, pa = a.data, pb = b.data, po = o.data](int64_t lo, int64_t hi) {
      const uint8_t* __restrict pc = c;
      const float* __restrict x = pa;
      const float* __restrict y = pb;
      float* __restrict out = po;
#pragma omp simd
      for (int64_t i = lo; i < hi; i++) out[i] = pc[i] ? x[i] : y[i];
    });
  });
}

// adam(param, m, v, grad, newParam, newM, newV, lrOverC1, c2, beta1, beta2, epsilon), as core/optim.ts:
//   m' = b1 m + (1 - b1) g;  v' = b2 v + (1 - b2) g^2;  p' = p - (m' / (sqrt(v') / c2 + eps)) * lrOverC1
// with c1 = 1 - b1^t and c2 = sqrt(1 - b2^t) the bias corrections. Outputs may alias inputs.
Napi::Value Adam(const Napi::CallbackInfo& info) {
  F32 p, m, v, g, np, nm, nv;
  if (!getF32(info, 0, p) || !getF32(info, 1, m) || !getF32(info, 2, v) || !getF32(info, 3, g) || !getF32(info, 4, np) ||
      !getF32(info, 5, nm) || !getF32(info, 6, nv))
    return info.Env().Undefined();
  const float lrC1 = info[7].As<Napi::Number>().FloatValue();
  const float c2 = info[8].As<Napi::Number>().FloatValue();
  // (1 - b) in double before rounding, as the TF.js ops get it (1 - 0.999f is 1.3e-5 off)
  const double b1d = info[9].As<Napi::Number>().DoubleValue(), b2d = info[10].As<Napi::Number>().DoubleValue();
  const float b1 = float(b1d), b2 = float(b2d), omb1 = float(1.0 - b1d), omb2 = float(1.0 - b2d);
  const float eps = info[11].As<Napi::Number>().FloatValue();
  return guarded(info, [&] {
    const size_t n = p.length;
    if (m.length != n || v.length != n || g.length != n || np.length != n || nm.length != n || nv.length != n)
      throw std::invalid_argument("adam: operands differ in length");
    // outputs may alias inputs (in place), element by element, so no __restrict here
    parallelFor(int64_t(n), [&](int64_t lo, int64_t hi) {
      const float *pp = p.data, *pm = m.data, *pv = v.data, *pg = g.data;
      float *op = np.data, *om = nm.data, *ov = nv.data;
      const float kb1 = b1, kb2 = b2, k1 = omb1, k2 = omb2, kc2 = c2, keps = eps, klr = lrC1;
#pragma omp simd
      for (int64_t i = lo; i < hi; i++) {
        const float gi = pg[i];
        const float mi = kb1 * pm[i] + k1 * gi;
        const float vi = kb2 * pv[i] + k2 * (gi * gi);
        const float pi = pp[i];
        om[i] = mi;
        ov[i] = vi;
        op[i] = pi - (mi / (std::sqrt(vi) / kc2 + keps)) * klr;
      }
    });
  });
}

}  // namespace forger
