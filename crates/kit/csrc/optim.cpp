// AdamW in one fused kernel per parameter for kit::optim: libtorch's `_fused_adamw_` (what
// `torch.optim.AdamW(fused=True)` calls), which tch does not expose.
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cstring>
#include <string>
#include <vector>

namespace {
void set_error(char* err, int len, const std::string& message) {
  if (err && len > 0) {
    std::strncpy(err, message.c_str(), len - 1);
    err[len - 1] = 0;
  }
}
}  // namespace

// One AdamW update of `n` parameters with their gradients and moments (in place), all with
// `step` (a float scalar tensor, already counting this update) and one weight decay. The
// kernel walks each tensor's memory flat, so a gradient laid out unlike its parameter (the
// moments are made like the parameter) is first copied into the parameter's layout.
// Returns 0, or 1 with `err` set when libtorch threw.
extern "C" int kit_fused_adamw(at::Tensor** params, at::Tensor** grads, at::Tensor** exp_avgs,
                               at::Tensor** exp_avg_sqs, const at::Tensor* step, int n,
                               double lr, double beta1, double beta2, double weight_decay,
                               double eps, char* err, int errlen) {
  try {
    c10::AutoGradMode no_grad(false);
    std::vector<at::Tensor> p, g, m, v, steps;
    p.reserve(n);
    g.reserve(n);
    m.reserve(n);
    v.reserve(n);
    steps.reserve(n);
    for (int i = 0; i < n; ++i) {
      const at::Tensor& param = *params[i];
      TORCH_CHECK(param.is_non_overlapping_and_dense(), "a parameter is not dense in memory");
      TORCH_CHECK(exp_avgs[i]->strides() == param.strides() &&
                      exp_avg_sqs[i]->strides() == param.strides(),
                  "optimiser moments laid out unlike their parameter");
      const at::Tensor& grad = *grads[i];
      g.push_back(grad.strides() == param.strides() ? grad
                                                    : at::empty_like(param).copy_(grad));
      p.push_back(param);
      m.push_back(*exp_avgs[i]);
      v.push_back(*exp_avg_sqs[i]);
      steps.push_back(*step);
    }
    at::_fused_adamw_(p, g, m, v, {}, steps, lr, beta1, beta2, weight_decay, eps,
                      /*amsgrad=*/false, /*maximize=*/false);
    return 0;
  } catch (const std::exception& e) {
    std::string s(e.what());
    auto nl = s.find('\n');
    set_error(err, errlen, nl == std::string::npos ? s : s.substr(0, nl));
    return 1;
  }
}
