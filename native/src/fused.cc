// Fused kernels over a channels-last view x = [R, C] (C the last dim):
//  - batch norm in training: y = (x - mean) / sqrt(var + eps) * gamma + beta with the batch's
//    mean and (biased) variance, and its backward pass, each in two or three sweeps;
//  - batch norm with given statistics (TF.js's FusedBatchNorm kernel, channels-last);
//  - tile.
#include <omp.h>
#include <cmath>
#include "common.h"

namespace forger {
namespace {

// Per-channel sums over rows, threads each taking a block of rows, in double.
template <typename F>
void channelSums(int64_t R, int64_t C, int nAcc, std::vector<double>& out, F rowFn) {
  int nt = R * C < (1 << 15) ? 1 : omp_get_max_threads();
  std::vector<double> part(size_t(nt) * size_t(nAcc) * size_t(C), 0.0);
#pragma omp parallel num_threads(nt)
  {
    int t = omp_get_thread_num(), n = omp_get_num_threads();
    double* acc = part.data() + size_t(t) * size_t(nAcc) * size_t(C);
    for (int64_t r = R * t / n; r < R * (t + 1) / n; r++) rowFn(r, acc);
  }
  out.assign(size_t(nAcc) * size_t(C), 0.0);
  for (int t = 0; t < nt; t++)
    for (size_t k = 0; k < out.size(); k++) out[k] += part[size_t(t) * out.size() + k];
}

template <typename F>
void rows(int64_t R, int64_t C, F rowFn) {
  if (R * C < (1 << 15)) {
    for (int64_t r = 0; r < R; r++) rowFn(r);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < R; r++) rowFn(r);
}

}  // namespace

// batchNormTrain(x, gamma, beta, y, mean, variance, C, epsilon)
Napi::Value BatchNormTrain(const Napi::CallbackInfo& info) {
  F32 x, g, b, y, mean, var;
  if (!getF32(info, 0, x) || !getF32(info, 1, g) || !getF32(info, 2, b) || !getF32(info, 3, y) || !getF32(info, 4, mean) ||
      !getF32(info, 5, var))
    return info.Env().Undefined();
  const int64_t C = info[6].As<Napi::Number>().Int64Value();
  const float eps = info[7].As<Napi::Number>().FloatValue();
  return guarded(info, [&] {
    if (C <= 0 || x.length % size_t(C) != 0 || y.length != x.length || g.length != size_t(C) || b.length != size_t(C) ||
        mean.length != size_t(C) || var.length != size_t(C))
      throw std::invalid_argument("batchNormTrain: operand sizes do not match");
    const int64_t R = int64_t(x.length) / C;
    std::vector<double> s;
    channelSums(R, C, 1, s, [&](int64_t r, double* acc) {
      const float* p = x.data + r * C;
#pragma omp simd
      for (int64_t c = 0; c < C; c++) acc[c] += p[c];
    });
    std::vector<float> mu(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; c++) mu[size_t(c)] = float(s[size_t(c)] / double(R)), mean.data[c] = mu[size_t(c)];
    channelSums(R, C, 1, s, [&](int64_t r, double* acc) {
      const float* p = x.data + r * C;
      const float* m = mu.data();
#pragma omp simd
      for (int64_t c = 0; c < C; c++) {
        const float d = p[c] - m[c];
        acc[c] += double(d) * double(d);
      }
    });
    std::vector<float> scale(static_cast<size_t>(C)), shift(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; c++) {
      var.data[c] = float(s[size_t(c)] / double(R));
      const float inv = 1.f / std::sqrt(var.data[c] + eps);
      scale[size_t(c)] = inv * g.data[c];
      shift[size_t(c)] = b.data[c] - mu[size_t(c)] * scale[size_t(c)];
    }
    const float* sc = scale.data();
    const float* sh = shift.data();
    rows(R, C, [&](int64_t r) {
      const float* __restrict p = x.data + r * C;
      float* __restrict o = y.data + r * C;
      const float* __restrict k0 = sc;
      const float* __restrict k1 = sh;
#pragma omp simd
      for (int64_t c = 0; c < C; c++) o[c] = p[c] * k0[c] + k1[c];
    });
  });
}

// batchNormGrad(dy, x, mean, variance, gamma, dx, dgamma, dbeta, C, epsilon):
//   xhat = (x - mean) * invstd;  dbeta = sum(dy);  dgamma = sum(dy * xhat)
//   dx = gamma * invstd / R * (R * dy - dbeta - xhat * dgamma)
Napi::Value BatchNormGrad(const Napi::CallbackInfo& info) {
  F32 dy, x, mean, var, g, dx, dg, db;
  if (!getF32(info, 0, dy) || !getF32(info, 1, x) || !getF32(info, 2, mean) || !getF32(info, 3, var) || !getF32(info, 4, g) ||
      !getF32(info, 5, dx) || !getF32(info, 6, dg) || !getF32(info, 7, db))
    return info.Env().Undefined();
  const int64_t C = info[8].As<Napi::Number>().Int64Value();
  const float eps = info[9].As<Napi::Number>().FloatValue();
  return guarded(info, [&] {
    const size_t uc = size_t(C);
    if (C <= 0 || x.length % uc != 0 || dy.length != x.length || dx.length != x.length || mean.length != uc || var.length != uc ||
        g.length != uc || dg.length != uc || db.length != uc)
      throw std::invalid_argument("batchNormGrad: operand sizes do not match");
    const int64_t R = int64_t(x.length) / C;
    std::vector<float> inv(uc);
    for (size_t c = 0; c < uc; c++) inv[c] = 1.f / std::sqrt(var.data[c] + eps);
    std::vector<double> s;
    channelSums(R, C, 2, s, [&](int64_t r, double* acc) {
      const float* pd = dy.data + r * C;
      const float* px = x.data + r * C;
      double* a1 = acc + C;
#pragma omp simd
      for (int64_t c = 0; c < C; c++) {
        acc[c] += pd[c];
        a1[c] += double(pd[c]) * double((px[c] - mean.data[c]) * inv[size_t(c)]);
      }
    });
    std::vector<float> k0(uc), k1(uc), k2(uc);
    for (size_t c = 0; c < uc; c++) {
      db.data[c] = float(s[c]);
      dg.data[c] = float(s[uc + c]);
      // dx = k0 * dy - k1 - (x - mean) * k2
      k0[c] = g.data[c] * inv[c];
      k1[c] = float(double(k0[c]) * s[c] / double(R));
      k2[c] = float(double(k0[c]) * double(inv[c]) * s[uc + c] / double(R));
    }
    const float *q0 = k0.data(), *q1 = k1.data(), *q2 = k2.data(), *mu = mean.data;
    rows(R, C, [&](int64_t r) {
      const float* __restrict pd = dy.data + r * C;
      const float* __restrict px = x.data + r * C;
      float* __restrict o = dx.data + r * C;
      const float *__restrict a0 = q0, *__restrict a1 = q1, *__restrict a2 = q2, *__restrict m = mu;
#pragma omp simd
      for (int64_t c = 0; c < C; c++) o[c] = a0[c] * pd[c] - a1[c] - (px[c] - m[c]) * a2[c];
    });
  });
}

// batchNormInfer(x, mean, variance, offset|null, scale|null, y, C, epsilon): statistics given, channels-last
Napi::Value BatchNormInfer(const Napi::CallbackInfo& info) {
  F32 x, mean, var, off, sc, y;
  if (!getF32(info, 0, x) || !getF32(info, 1, mean) || !getF32(info, 2, var) || !getF32(info, 3, off, true) || !getF32(info, 4, sc, true) ||
      !getF32(info, 5, y))
    return info.Env().Undefined();
  const int64_t C = info[6].As<Napi::Number>().Int64Value();
  const float eps = info[7].As<Napi::Number>().FloatValue();
  return guarded(info, [&] {
    const size_t uc = size_t(C);
    if (C <= 0 || x.length % uc != 0 || y.length != x.length || mean.length != uc || var.length != uc || (off.data && off.length != uc) ||
        (sc.data && sc.length != uc))
      throw std::invalid_argument("batchNormInfer: operand sizes do not match");
    // as TF.js's cpu kernel: (x - mean) * scale * rsqrt(var + eps) + offset
    std::vector<float> k(uc);
    for (size_t c = 0; c < uc; c++) k[c] = (sc.data ? sc.data[c] : 1.f) / std::sqrt(var.data[c] + eps);
    const int64_t R = int64_t(x.length) / C;
    std::vector<float> zero(off.data ? 0 : uc, 0.f);
    const float* ofs = off.data ? off.data : zero.data();
    const float *kk = k.data(), *mu = mean.data;
    rows(R, C, [&](int64_t r) {
      const float* __restrict p = x.data + r * C;
      float* __restrict o = y.data + r * C;
      const float *__restrict a = kk, *__restrict m = mu, *__restrict b = ofs;
#pragma omp simd
      for (int64_t c = 0; c < C; c++) o[c] = (p[c] - m[c]) * a[c] + b[c];
    });
  });
}

// tile(x, shape, reps, out): out[i] = x[i mod shape], any rank
Napi::Value Tile(const Napi::CallbackInfo& info) {
  F32 x, out;
  std::vector<int64_t> shape, reps;
  if (!getF32(info, 0, x) || !getI32(info, 1, shape) || !getI32(info, 2, reps) || !getF32(info, 3, out)) return info.Env().Undefined();
  return guarded(info, [&] {
    const size_t r = shape.size();
    if (reps.size() != r || r == 0) throw std::invalid_argument("tile: reps must match the rank");
    std::vector<int64_t> os(r), is(r);
    int64_t total = 1, p = 1;
    for (size_t k = r; k-- > 0;) os[k] = shape[k] * reps[k], is[k] = p, p *= shape[k];
    for (size_t k = 0; k < r; k++) total *= os[k];
    if (out.length != size_t(total) || x.length != size_t(p)) throw std::invalid_argument("tile: lengths do not match");
    if (total == 0) return;
    const int64_t inner = os[r - 1], period = shape[r - 1];
    const int64_t nrows = total / inner;
    rows(nrows, inner, [&](int64_t row) {
      int64_t rem = row, off = 0;
      for (size_t k = r - 1; k-- > 0;) off += (rem % os[k]) % shape[k] * is[k], rem /= os[k];
      const float* src = x.data + off;
      float* dst = out.data + row * inner;
      for (int64_t j = 0; j < inner; j += period)
        for (int64_t q = 0; q < period; q++) dst[j + q] = src[q];
    });
  });
}

}  // namespace forger
