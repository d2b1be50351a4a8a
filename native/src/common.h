// Shared helpers for Forger's native kernels: typed-array access and the oneDNN engine.
#pragma once
#include <napi.h>
#include <dnnl.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace forger {

// The one CPU engine and in-order stream every primitive runs on.
dnnl::engine& engine();
dnnl::stream& stream();

// A Float32Array argument (or null when allowed). Throws a JS TypeError otherwise.
struct F32 {
  float* data = nullptr;
  size_t length = 0;
};
bool getF32(const Napi::CallbackInfo& info, size_t i, F32& out, bool nullable = false);
bool getI32(const Napi::CallbackInfo& info, size_t i, std::vector<int64_t>& out);
bool getU8(const Napi::CallbackInfo& info, size_t i, uint8_t*& data, size_t& length);

// Run fn(); turn a dnnl::error or std::exception into a pending JS Error.
template <typename Fn>
Napi::Value guarded(const Napi::CallbackInfo& info, Fn fn) {
  try {
    fn();
  } catch (const dnnl::error& e) {
    Napi::Error::New(info.Env(), std::string("oneDNN: ") + e.what() + " (status " + std::to_string(int(e.status)) + ")")
        .ThrowAsJavaScriptException();
  } catch (const std::exception& e) {
    Napi::Error::New(info.Env(), e.what()).ThrowAsJavaScriptException();
  }
  return info.Env().Undefined();
}

// Post-op activations shared by conv and matmul. Codes mirror src/node/backend/native.ts.
enum Act { ACT_LINEAR = 0, ACT_RELU = 1, ACT_LEAKY = 2, ACT_SIGMOID = 3, ACT_TANH = 4, ACT_ELU = 5, ACT_RELU6 = 6 };
dnnl::primitive_attr activationAttr(int act, float alpha);

// Kernel entry points, registered in addon.cc.
Napi::Value Conv2D(const Napi::CallbackInfo& info);
Napi::Value Conv2DBackpropInput(const Napi::CallbackInfo& info);
Napi::Value Conv2DBackpropFilter(const Napi::CallbackInfo& info);
Napi::Value MatMul(const Napi::CallbackInfo& info);
Napi::Value Unary(const Napi::CallbackInfo& info);
Napi::Value Binary(const Napi::CallbackInfo& info);
Napi::Value Compare(const Napi::CallbackInfo& info);
Napi::Value Select(const Napi::CallbackInfo& info);
Napi::Value Reduce(const Napi::CallbackInfo& info);
Napi::Value Transpose(const Napi::CallbackInfo& info);
Napi::Value Adam(const Napi::CallbackInfo& info);
Napi::Value BatchNormTrain(const Napi::CallbackInfo& info);
Napi::Value BatchNormGrad(const Napi::CallbackInfo& info);
Napi::Value BatchNormInfer(const Napi::CallbackInfo& info);
Napi::Value Tile(const Napi::CallbackInfo& info);
Napi::Value ActivationGrad(const Napi::CallbackInfo& info);

}  // namespace forger
