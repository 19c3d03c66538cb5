// A scope in which the critic's network runs in bfloat16 (TrainingPrecision::kBFloat16).
#pragma once

#include <ATen/autocast_mode.h>
#include <c10/core/Device.h>
#include <torch/version.h>

namespace dd::critic {

// Autocast to bfloat16 on the critic's device for the life of the scope, when asked. LibTorch 2.4
// added setters that take the device type and deprecated the per-device ones (set_enabled,
// set_cpu_enabled, ...); Debian's 1.13 has only the per-device ones.
class BFloat16Autocast {
 public:
  BFloat16Autocast(c10::Device device, bool enabled) : device_(device), enabled_(enabled) {
    if (!enabled_) return;
    SetDtype(at::kBFloat16);
    SetEnabled(true);
  }
  ~BFloat16Autocast() {
    if (!enabled_) return;
    SetEnabled(false);
    at::autocast::clear_cache();  // Weight casts made in the scope; the weights change next step.
  }
  BFloat16Autocast(const BFloat16Autocast&) = delete;
  BFloat16Autocast& operator=(const BFloat16Autocast&) = delete;

 private:
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  void SetDtype(at::ScalarType dtype) {
    at::autocast::set_autocast_dtype(device_.type(), dtype);
  }
  void SetEnabled(bool on) {
    at::autocast::set_autocast_enabled(device_.type(), on);
  }
#else
  void SetDtype(at::ScalarType dtype) {
    if (device_.is_cuda()) {
      at::autocast::set_autocast_gpu_dtype(dtype);
    } else {
      at::autocast::set_autocast_cpu_dtype(dtype);
    }
  }
  void SetEnabled(bool on) {
    if (device_.is_cuda()) {
      at::autocast::set_enabled(on);
    } else {
      at::autocast::set_cpu_enabled(on);
    }
  }
#endif

  c10::Device device_;
  bool enabled_;
};

}  // namespace dd::critic
