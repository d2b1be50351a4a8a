// Forger's native kernels: oneDNN for convolutions and matrix products, OpenMP loops
// for element-wise work, over the Float32Arrays of TF.js's cpu backend (no copies).
#include <malloc.h>
#include <omp.h>
#include "common.h"

namespace forger {

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}
dnnl::stream& stream() {
  static dnnl::stream s(engine());
  return s;
}

bool getF32(const Napi::CallbackInfo& info, size_t i, F32& out, bool nullable) {
  Napi::Value v = info[i];
  if (nullable && (v.IsNull() || v.IsUndefined())) {
    out = F32{};
    return true;
  }
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a Float32Array").ThrowAsJavaScriptException();
    return false;
  }
  auto a = v.As<Napi::Float32Array>();
  out.data = a.Data();
  out.length = a.ElementLength();
  return true;
}

bool getI32(const Napi::CallbackInfo& info, size_t i, std::vector<int64_t>& out) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be an Int32Array").ThrowAsJavaScriptException();
    return false;
  }
  auto a = v.As<Napi::Int32Array>();
  out.assign(a.Data(), a.Data() + a.ElementLength());
  return true;
}

bool getU8(const Napi::CallbackInfo& info, size_t i, uint8_t*& data, size_t& length) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a Uint8Array").ThrowAsJavaScriptException();
    return false;
  }
  auto a = v.As<Napi::Uint8Array>();
  data = a.Data();
  length = a.ElementLength();
  return true;
}

dnnl::primitive_attr activationAttr(int act, float alpha) {
  dnnl::primitive_attr attr;
  if (act == ACT_LINEAR) return attr;
  dnnl::post_ops ops;
  using A = dnnl::algorithm;
  switch (act) {
    case ACT_RELU: ops.append_eltwise(1.f, A::eltwise_relu, 0.f, 0.f); break;
    case ACT_LEAKY: ops.append_eltwise(1.f, A::eltwise_relu, alpha, 0.f); break;
    case ACT_SIGMOID: ops.append_eltwise(1.f, A::eltwise_logistic, 0.f, 0.f); break;
    case ACT_TANH: ops.append_eltwise(1.f, A::eltwise_tanh, 0.f, 0.f); break;
    case ACT_ELU: ops.append_eltwise(1.f, A::eltwise_elu, 1.f, 0.f); break;
    case ACT_RELU6: ops.append_eltwise(1.f, A::eltwise_clip, 0.f, 6.f); break;
    default: throw std::invalid_argument("unknown activation code " + std::to_string(act));
  }
  attr.set_post_ops(ops);
  return attr;
}

static Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && info[0].IsNumber()) omp_set_num_threads(info[0].As<Napi::Number>().Int32Value());
  return Napi::Number::New(info.Env(), omp_get_max_threads());
}

static Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto o = Napi::Object::New(env);
  const dnnl_version_t* v = dnnl_version();
  o.Set("onednn", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  o.Set("threads", omp_get_max_threads());
  const char* isa = "other";
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx512_core_amx: isa = "avx512_core_amx"; break;
    case dnnl::cpu_isa::avx512_core_bf16: isa = "avx512_core_bf16"; break;
    case dnnl::cpu_isa::avx512_core_vnni: isa = "avx512_core_vnni"; break;
    case dnnl::cpu_isa::avx512_core: isa = "avx512_core"; break;
    case dnnl::cpu_isa::avx2_vnni: isa = "avx2_vnni"; break;
    case dnnl::cpu_isa::avx2: isa = "avx2"; break;
    case dnnl::cpu_isa::avx: isa = "avx"; break;
    case dnnl::cpu_isa::sse41: isa = "sse41"; break;
    default: break;
  }
  o.Set("isa", isa);
  return o;
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // TF.js allocates a fresh Float32Array per kernel output; keep freed blocks of up to
  // 256 MiB in malloc's heap instead of unmapping them, so the next output of the same
  // size reuses warm pages rather than page-faulting 3 MB at a time.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  exports.Set("conv2d", Napi::Function::New(env, Conv2D));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Conv2DBackpropInput));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Conv2DBackpropFilter));
  exports.Set("matmul", Napi::Function::New(env, MatMul));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("compare", Napi::Function::New(env, Compare));
  exports.Set("select", Napi::Function::New(env, Select));
  exports.Set("reduce", Napi::Function::New(env, Reduce));
  exports.Set("transpose", Napi::Function::New(env, Transpose));
  exports.Set("adam", Napi::Function::New(env, Adam));
  exports.Set("batchNormTrain", Napi::Function::New(env, BatchNormTrain));
  exports.Set("batchNormGrad", Napi::Function::New(env, BatchNormGrad));
  exports.Set("batchNormInfer", Napi::Function::New(env, BatchNormInfer));
  exports.Set("tile", Napi::Function::New(env, Tile));
  exports.Set("activationGrad", Napi::Function::New(env, ActivationGrad));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("info", Napi::Function::New(env, Info));
  return exports;
}

}  // namespace forger

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return forger::Init(env, exports); }
NODE_API_MODULE(forger_native, InitModule)
