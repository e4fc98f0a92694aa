// Autocast switches for kit::precision: tch exposes only CUDA autocast, and only in float16.
#include <ATen/Context.h>
#include <ATen/autocast_mode.h>

// Turns autocast on (1) or off (0) for `device` (0 = CPU, 1 = CUDA) on this thread, in
// bfloat16 (half = 0) or float16 (half = 1). Returns 0, or 1 when libtorch threw.
extern "C" int kit_autocast(int device, int enabled, int half) {
  try {
    const auto type = device == 1 ? at::kCUDA : at::kCPU;
    at::autocast::set_autocast_dtype(type, half ? at::kHalf : at::kBFloat16);
    at::autocast::set_autocast_enabled(type, enabled != 0);
    if (!enabled) at::autocast::clear_cache();
    return 0;
  } catch (...) {
    return 1;
  }
}

// torch.backends.cudnn.benchmark / .deterministic (tch sets only the first).
extern "C" int kit_cudnn(int benchmark, int deterministic) {
  try {
    at::globalContext().setBenchmarkCuDNN(benchmark != 0);
    at::globalContext().setDeterministicCuDNN(deterministic != 0);
    return 0;
  } catch (...) {
    return 1;
  }
}
