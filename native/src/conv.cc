// 2D convolution forward, backward-data (the transposed convolution) and backward-weights
// through oneDNN, in TF.js's layouts: activations NHWC, filters [kh, kw, in, out] (hwio).
#include <algorithm>
#include <unordered_map>
#include "common.h"

namespace forger {
namespace {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;
using dims = dnnl::memory::dims;

// p = [n, ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, dh, dw, pt, pl]; padding_r is derived so the
// output size is exact (TF's 'same' may put more padding than oneDNN accepts).
struct ConvShape {
  int64_t n, ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
  explicit ConvShape(const std::vector<int64_t>& p) {
    if (p.size() != 15) throw std::invalid_argument("conv params must have 15 entries");
    n = p[0], ih = p[1], iw = p[2], ic = p[3], oh = p[4], ow = p[5], oc = p[6], kh = p[7], kw = p[8];
    sh = p[9], sw = p[10], dh = p[11], dw = p[12], pt = p[13], pl = p[14];
    pb = (oh - 1) * sh + (kh - 1) * dh + 1 - ih - pt;
    pr = (ow - 1) * sw + (kw - 1) * dw + 1 - iw - pl;
  }
  std::string key(char kind, bool bias, int act, float alpha) const {
    char b[256];
    snprintf(b, sizeof b, "%c%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld,%d,%d,%g", kind, n, ih, iw, ic, oh, ow, oc, kh, kw,
             sh, sw, dh, dw, pt, pl, int(bias), act, alpha);
    return b;
  }
  dnnl::memory::desc src() const { return {{n, ic, ih, iw}, dt::f32, tag::nhwc}; }
  dnnl::memory::desc dst() const { return {{n, oc, oh, ow}, dt::f32, tag::nhwc}; }
  dnnl::memory::desc wei() const { return {{oc, ic, kh, kw}, dt::f32, tag::hwio}; }
  dnnl::memory::desc any(const dnnl::memory::desc& d) const { return {d.dims(), dt::f32, tag::any}; }
  dnnl::memory::desc bias() const { return {{oc}, dt::f32, tag::x}; }
  dims strides() const { return {sh, sw}; }
  dims dilates() const { return {dh - 1, dw - 1}; }
  dims padL() const { return {pt, pl}; }
  dims padR() const { return {pb, pr}; }
  size_t srcSize() const { return size_t(n * ih * iw * ic); }
  size_t dstSize() const { return size_t(n * oh * ow * oc); }
  size_t weiSize() const { return size_t(kh * kw * ic * oc); }
};

dnnl::convolution_forward::primitive_desc forwardPd(const ConvShape& s, bool bias, const dnnl::primitive_attr& attr, dnnl::prop_kind prop) {
  auto d = bias ? dnnl::convolution_forward::desc(prop, dnnl::algorithm::convolution_direct, s.src(), s.any(s.wei()), s.bias(), s.dst(),
                                                 s.strides(), s.dilates(), s.padL(), s.padR())
                : dnnl::convolution_forward::desc(prop, dnnl::algorithm::convolution_direct, s.src(), s.any(s.wei()), s.dst(), s.strides(),
                                                 s.dilates(), s.padL(), s.padR());
  return dnnl::convolution_forward::primitive_desc(d, attr, engine());
}

// A primitive with the weights layout it wants; weights arrive as hwio and are reordered when that differs.
struct Prim {
  dnnl::primitive prim;
  dnnl::memory::desc wantWei;
  bool reorderWei = false;
  dnnl::primitive toWant;    // hwio -> wanted (forward, backward-data)
  dnnl::primitive fromWant;  // wanted -> hwio (backward-weights)
  dnnl::memory scratchWei;
};

std::unordered_map<std::string, Prim> cache;

// A Prim for `prim` whose weights (or weight gradient) use layout `want`; when that is not
// hwio, a scratch buffer and the reorder into it (toWant) or out of it (fromWant).
Prim makePrim(const ConvShape& s, dnnl::primitive prim, const dnnl::memory::desc& want, bool gradient) {
  Prim p;
  p.prim = std::move(prim);
  p.wantWei = want;
  p.reorderWei = want != s.wei();
  if (p.reorderWei) {
    p.scratchWei = dnnl::memory(want, engine());
    auto r = gradient ? dnnl::reorder::primitive_desc(engine(), want, engine(), s.wei()) : dnnl::reorder::primitive_desc(engine(), s.wei(), engine(), want);
    (gradient ? p.fromWant : p.toWant) = dnnl::reorder(r);
  }
  return p;
}

// The cached Prim under key k, or the one make() builds.
template <typename Make>
Prim& cached(const std::string& k, Make make) {
  auto it = cache.find(k);
  if (it == cache.end()) it = cache.emplace(k, make()).first;
  return it->second;
}

Prim& forwardPrim(const ConvShape& s, bool bias, int act, float alpha) {
  return cached(s.key('f', bias, act, alpha), [&] {
    auto pd = forwardPd(s, bias, activationAttr(act, alpha), dnnl::prop_kind::forward_inference);
    return makePrim(s, dnnl::convolution_forward(pd), pd.weights_desc(), false);
  });
}

Prim& backwardDataPrim(const ConvShape& s) {
  return cached(s.key('d', false, 0, 0), [&] {
    auto hint = forwardPd(s, false, dnnl::primitive_attr(), dnnl::prop_kind::forward_training);
    dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, s.src(), s.any(s.wei()), s.dst(), s.strides(), s.dilates(),
                                            s.padL(), s.padR());
    dnnl::convolution_backward_data::primitive_desc pd(d, engine(), hint);
    return makePrim(s, dnnl::convolution_backward_data(pd), pd.weights_desc(), false);
  });
}

Prim& backwardWeightsPrim(const ConvShape& s) {
  return cached(s.key('w', false, 0, 0), [&] {
    auto hint = forwardPd(s, false, dnnl::primitive_attr(), dnnl::prop_kind::forward_training);
    dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, s.src(), s.any(s.wei()), s.dst(), s.strides(),
                                               s.dilates(), s.padL(), s.padR());
    dnnl::convolution_backward_weights::primitive_desc pd(d, engine(), hint);
    return makePrim(s, dnnl::convolution_backward_weights(pd), pd.diff_weights_desc(), true);
  });
}

// The filter (hwio) in the layout pr wants: the user's buffer itself, or pr's scratch after a reorder.
dnnl::memory weightsFor(Prim& pr, const ConvShape& s, float* w) {
  dnnl::memory user(s.wei(), engine(), w);
  if (!pr.reorderWei) return user;
  pr.toWant.execute(stream(), {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, pr.scratchWei}});
  return pr.scratchWei;
}

void checkLen(const F32& a, size_t want, const char* what) {
  if (a.length != want) throw std::invalid_argument(std::string(what) + " has " + std::to_string(a.length) + " elements, expected " + std::to_string(want));
}

// For few input channels (a generator's RGB or grey output layer), oneDNN's direct kernels run
// far below peak. There: cols = dy [N*OH*OW, OC] x W^T [OC, KH*KW*IC] in one matmul, then col2im
// scatters each output pixel's KH*KW*IC values into dx.
bool smallChannelBackwardData(const ConvShape& s, const float* dy, const float* w, float* dx) {
  if (s.ic > 4) return false;
  const int64_t rows = s.n * s.oh * s.ow, kk = s.kh * s.kw * s.ic;
  static std::unordered_map<std::string, dnnl::matmul> mm;
  static std::vector<float> cols;
  cols.resize(size_t(rows * kk));
  // w is hwio = [KH*KW*IC, OC] row-major; we want dy x w^T
  dnnl::memory::desc aMd({rows, s.oc}, dt::f32, dnnl::memory::dims{s.oc, 1});
  dnnl::memory::desc bMd({s.oc, kk}, dt::f32, dnnl::memory::dims{1, s.oc});
  dnnl::memory::desc cMd({rows, kk}, dt::f32, dnnl::memory::dims{kk, 1});
  std::string key = s.key('c', false, 0, 0);
  auto it = mm.find(key);
  if (it == mm.end()) it = mm.emplace(key, dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(aMd, bMd, cMd), engine()))).first;
  it->second.execute(stream(), {{DNNL_ARG_SRC, dnnl::memory(aMd, engine(), const_cast<float*>(dy))},
                                {DNNL_ARG_WEIGHTS, dnnl::memory(bMd, engine(), const_cast<float*>(w))},
                                {DNNL_ARG_DST, dnnl::memory(cMd, engine(), cols.data())}});
  stream().wait();
  const float* c = cols.data();
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < s.n; n++) {
    float* img = dx + n * s.ih * s.iw * s.ic;
    std::fill(img, img + s.ih * s.iw * s.ic, 0.f);
    for (int64_t oh = 0; oh < s.oh; oh++)
      for (int64_t ow = 0; ow < s.ow; ow++) {
        const float* src = c + ((n * s.oh + oh) * s.ow + ow) * kk;
        for (int64_t kh = 0; kh < s.kh; kh++) {
          const int64_t ih = oh * s.sh - s.pt + kh * s.dh;
          if (ih < 0 || ih >= s.ih) continue;
          for (int64_t kw = 0; kw < s.kw; kw++) {
            const int64_t iw = ow * s.sw - s.pl + kw * s.dw;
            if (iw < 0 || iw >= s.iw) continue;
            float* d = img + (ih * s.iw + iw) * s.ic;
            const float* v = src + (kh * s.kw + kw) * s.ic;
            for (int64_t ci = 0; ci < s.ic; ci++) d[ci] += v[ci];
          }
        }
      }
  }
  return true;
}

}  // namespace

// conv2d(x, w, bias|null, y, params, act, alpha)
Napi::Value Conv2D(const Napi::CallbackInfo& info) {
  F32 x, w, b, y;
  std::vector<int64_t> p;
  if (!getF32(info, 0, x) || !getF32(info, 1, w) || !getF32(info, 2, b, true) || !getF32(info, 3, y) || !getI32(info, 4, p)) return info.Env().Undefined();
  int act = info[5].As<Napi::Number>().Int32Value();
  float alpha = info[6].As<Napi::Number>().FloatValue();
  return guarded(info, [&] {
    ConvShape s(p);
    checkLen(x, s.srcSize(), "x"), checkLen(w, s.weiSize(), "filter"), checkLen(y, s.dstSize(), "y");
    if (b.data) checkLen(b, size_t(s.oc), "bias");
    Prim& pr = forwardPrim(s, b.data != nullptr, act, alpha);
    auto& st = stream();
    dnnl::memory wMem = weightsFor(pr, s, w.data);
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, dnnl::memory(s.src(), engine(), x.data)},
                                               {DNNL_ARG_WEIGHTS, wMem},
                                               {DNNL_ARG_DST, dnnl::memory(s.dst(), engine(), y.data)}};
    if (b.data) args.emplace(DNNL_ARG_BIAS, dnnl::memory(s.bias(), engine(), b.data));
    pr.prim.execute(st, args);
    st.wait();
  });
}

// conv2dBackpropInput(dy, w, dx, params): dx = conv^T(dy, w), the transposed convolution.
Napi::Value Conv2DBackpropInput(const Napi::CallbackInfo& info) {
  F32 dy, w, dx;
  std::vector<int64_t> p;
  if (!getF32(info, 0, dy) || !getF32(info, 1, w) || !getF32(info, 2, dx) || !getI32(info, 3, p)) return info.Env().Undefined();
  return guarded(info, [&] {
    ConvShape s(p);
    checkLen(dy, s.dstSize(), "dy"), checkLen(w, s.weiSize(), "filter"), checkLen(dx, s.srcSize(), "dx");
    if (smallChannelBackwardData(s, dy.data, w.data, dx.data)) return;
    Prim& pr = backwardDataPrim(s);
    auto& st = stream();
    dnnl::memory wMem = weightsFor(pr, s, w.data);
    pr.prim.execute(st, {{DNNL_ARG_DIFF_DST, dnnl::memory(s.dst(), engine(), dy.data)},
                         {DNNL_ARG_WEIGHTS, wMem},
                         {DNNL_ARG_DIFF_SRC, dnnl::memory(s.src(), engine(), dx.data)}});
    st.wait();
  });
}

// conv2dBackpropFilter(x, dy, dw, params)
Napi::Value Conv2DBackpropFilter(const Napi::CallbackInfo& info) {
  F32 x, dy, dw;
  std::vector<int64_t> p;
  if (!getF32(info, 0, x) || !getF32(info, 1, dy) || !getF32(info, 2, dw) || !getI32(info, 3, p)) return info.Env().Undefined();
  return guarded(info, [&] {
    ConvShape s(p);
    checkLen(x, s.srcSize(), "x"), checkLen(dy, s.dstSize(), "dy"), checkLen(dw, s.weiSize(), "dw");
    Prim& pr = backwardWeightsPrim(s);
    auto& st = stream();
    dnnl::memory dwUser(s.wei(), engine(), dw.data);
    pr.prim.execute(st, {{DNNL_ARG_SRC, dnnl::memory(s.src(), engine(), x.data)},
                         {DNNL_ARG_DIFF_DST, dnnl::memory(s.dst(), engine(), dy.data)},
                         {DNNL_ARG_DIFF_WEIGHTS, pr.reorderWei ? pr.scratchWei : dwUser}});
    if (pr.reorderWei) pr.fromWant.execute(st, {{DNNL_ARG_FROM, pr.scratchWei}, {DNNL_ARG_TO, dwUser}});
    st.wait();
  });
}

}  // namespace forger
