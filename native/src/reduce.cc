// Reductions (sum, mean, max, min) over any set of axes, and transposes. After dropping
// size-1 dims and merging neighbours of the same kind, the shape is [K?, R, K?] or [R, K]
// or [K, R]; other patterns return false and the caller uses TF.js's own kernel.
#include <omp.h>
#include <cmath>
#include <limits>
#include "common.h"

namespace forger {
namespace {

enum ReduceOp { R_SUM, R_MEAN, R_MAX, R_MIN };

template <typename F>
void parallelRange(int64_t n, int64_t work, F f) {
  if (work < (1 << 15) || n < 2) {
    f(0, n);
    return;
  }
#pragma omp parallel
  {
    int t = omp_get_thread_num(), nt = omp_get_num_threads();
    f(n * t / nt, n * (t + 1) / nt);
  }
}

// out[o, k] = reduce over r of x[o, r, k], for o < outer, r < R, k < inner.
void reduceMiddle(int op, const float* x, float* out, int64_t outer, int64_t R, int64_t inner) {
  const double scale = op == R_MEAN ? 1.0 / double(R) : 1.0;
  if (inner == 1) {
    parallelRange(outer, outer * R, [&](int64_t lo, int64_t hi) {
      for (int64_t o = lo; o < hi; o++) {
        const float* p = x + o * R;
        if (op == R_SUM || op == R_MEAN) {
          double acc = 0;
#pragma omp simd reduction(+ : acc)
          for (int64_t r = 0; r < R; r++) acc += p[r];
          out[o] = float(acc * scale);
        } else {
          float acc = p[0];
          for (int64_t r = 1; r < R; r++) acc = op == R_MAX ? (p[r] > acc || std::isnan(p[r]) ? p[r] : acc) : (p[r] < acc || std::isnan(p[r]) ? p[r] : acc);
          out[o] = acc;
        }
      }
    });
    return;
  }
  // Columns: split the k range across threads when there is one outer block, else the outer blocks.
  auto block = [&](int64_t o, int64_t k0, int64_t k1) {
    const float* base = x + o * R * inner;
    float* dst = out + o * inner;
    if (op == R_SUM || op == R_MEAN) {
      std::vector<double> acc(size_t(k1 - k0), 0.0);
      double* a = acc.data();
      for (int64_t r = 0; r < R; r++) {
        const float* row = base + r * inner + k0;
#pragma omp simd
        for (int64_t k = 0; k < k1 - k0; k++) a[k] += row[k];
      }
      for (int64_t k = k0; k < k1; k++) dst[k] = float(a[k - k0] * scale);
    } else {
      for (int64_t k = k0; k < k1; k++) dst[k] = base[k];
      for (int64_t r = 1; r < R; r++) {
        const float* row = base + r * inner;
        for (int64_t k = k0; k < k1; k++) {
          float v = row[k];
          if (op == R_MAX ? (v > dst[k] || std::isnan(v)) : (v < dst[k] || std::isnan(v))) dst[k] = v;
        }
      }
    }
  };
  if (outer >= 2) {
    parallelRange(outer, outer * R * inner, [&](int64_t lo, int64_t hi) {
      for (int64_t o = lo; o < hi; o++) block(o, 0, inner);
    });
  } else {
    parallelRange(inner, R * inner, [&](int64_t lo, int64_t hi) { block(0, lo, hi); });
  }
}

}  // namespace

// reduce(op, x, shape, axes, out) -> true, or false for a pattern it does not handle
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  F32 x, out;
  std::vector<int64_t> shape, axes;
  if (!getF32(info, 1, x) || !getI32(info, 2, shape) || !getI32(info, 3, axes) || !getF32(info, 4, out)) return info.Env().Undefined();
  const int op = info[0].As<Napi::Number>().Int32Value();
  bool handled = false;
  Napi::Value r = guarded(info, [&] {
    std::vector<bool> red(shape.size(), false);
    for (int64_t a : axes) {
      if (a < 0 || size_t(a) >= shape.size()) throw std::invalid_argument("reduce: axis out of range");
      red[size_t(a)] = true;
    }
    std::vector<int64_t> sizes;
    std::vector<bool> kinds;
    int64_t total = 1;
    for (size_t k = 0; k < shape.size(); k++) {
      total *= shape[k];
      if (shape[k] == 1) continue;
      if (!kinds.empty() && kinds.back() == red[k]) sizes.back() *= shape[k];
      else sizes.push_back(shape[k]), kinds.push_back(red[k]);
    }
    if (x.length != size_t(total)) throw std::invalid_argument("reduce: x length does not match shape");
    int64_t outer = 1, R = 1, inner = 1;
    size_t i = 0;
    if (i < sizes.size() && !kinds[i]) outer = sizes[i++];
    if (i < sizes.size() && kinds[i]) R = sizes[i++];
    if (i < sizes.size() && !kinds[i]) inner = sizes[i++];
    if (i != sizes.size()) return;  // e.g. [R, K, R]: not handled here
    if (out.length != size_t(outer * inner)) throw std::invalid_argument("reduce: out has the wrong length");
    if (total == 0) throw std::invalid_argument("reduce: empty input");
    reduceMiddle(op, x.data, out.data, outer, R, inner);
    handled = true;
  });
  if (info.Env().IsExceptionPending()) return r;
  return Napi::Boolean::New(info.Env(), handled);
}

// transpose(x, shape, perm, out): out = x permuted, any rank up to 8
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  F32 x, out;
  std::vector<int64_t> shape, perm;
  if (!getF32(info, 0, x) || !getI32(info, 1, shape) || !getI32(info, 2, perm) || !getF32(info, 3, out)) return info.Env().Undefined();
  return guarded(info, [&] {
    const size_t r = shape.size();
    if (perm.size() != r || r > 8) throw std::invalid_argument("transpose: bad perm");
    std::vector<int64_t> inStride(r), outShape(r), srcStride(r);
    int64_t p = 1, total = 1;
    for (size_t k = r; k-- > 0;) inStride[k] = p, p *= shape[k];
    for (size_t k = 0; k < r; k++) outShape[k] = shape[size_t(perm[k])], srcStride[k] = inStride[size_t(perm[k])], total *= outShape[k];
    if (x.length != size_t(total) || out.length != size_t(total)) throw std::invalid_argument("transpose: lengths do not match");
    if (total == 0) return;
    const int64_t inner = outShape[r - 1], innerStride = srcStride[r - 1];
    const int64_t rows = total / inner;
    parallelRange(rows, total, [&](int64_t lo, int64_t hi) {
      std::vector<int64_t> idx(r, 0);
      int64_t rem = lo;
      for (size_t k = r - 1; k-- > 0;) idx[k] = rem % outShape[k], rem /= outShape[k];
      for (int64_t row = lo; row < hi; row++) {
        int64_t off = 0;
        for (size_t k = 0; k + 1 < r; k++) off += idx[k] * srcStride[k];
        float* dst = out.data + row * inner;
        const float* src = x.data + off;
        for (int64_t j = 0; j < inner; j++) dst[j] = src[j * innerStride];
        for (size_t k = r - 1; k-- > 0;) {
          if (++idx[k] < outShape[k]) break;
          idx[k] = 0;
        }
      }
    });
  });
}

}  // namespace forger
