// Autocast switches for kit::precision: tch exposes only CUDA autocast, and only in float16.
#include <ATen/autocast_mode.h>

// Turns bfloat16 autocast on (1) or off (0) for `device` (0 = CPU, 1 = CUDA) on this thread.
// Returns 0, or 1 when libtorch threw.
extern "C" int kit_autocast_bf16(int device, int enabled) {
  try {
    const auto type = device == 1 ? at::kCUDA : at::kCPU;
    at::autocast::set_autocast_dtype(type, at::kBFloat16);
    at::autocast::set_autocast_enabled(type, enabled != 0);
    if (!enabled) at::autocast::clear_cache();
    return 0;
  } catch (...) {
    return 1;
  }
}
