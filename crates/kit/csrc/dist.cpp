// Data-parallel collectives for kit::distributed on PyTorch's own c10d: a TCPStore rendezvous
// and a ProcessGroupGloo (CPU tensors). libtorch ships ProcessGroupGloo's code but not gloo's
// headers, so the few members called here are declared below with their exact signatures; the
// group is used only through its base class c10d::Backend, whose header libtorch ships.
#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include <chrono>
#include <cstring>
#include <new>
#include <string>

namespace gloo {
namespace transport {
class Device;
}
}  // namespace gloo

namespace c10d {
class ProcessGroupGloo {
 public:
  struct Options : public Backend::Options {
    explicit Options(std::chrono::milliseconds timeout);
    std::vector<std::shared_ptr<::gloo::transport::Device>> devices;
    int threads{2};
  };
  static std::shared_ptr<::gloo::transport::Device> createDeviceForHostname(
      const std::string& hostname, bool lazyInit);
  ProcessGroupGloo(const c10::intrusive_ptr<Store>& store, int rank, int size,
                   c10::intrusive_ptr<Options> options);
};
}  // namespace c10d

namespace {
struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10d::Backend* backend;  // never destroyed: the process ends with it
  std::chrono::milliseconds timeout;
};

void set_error(char* err, int len, const std::string& message) {
  if (err && len > 0) {
    std::strncpy(err, message.c_str(), len - 1);
    err[len - 1] = 0;
  }
}

// The first line of a c10::Error (its "what" carries a C++ backtrace after it).
std::string first_line(const char* what) {
  std::string s(what);
  auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}
}  // namespace

// Joins the group: `addr:port` is rank 0's TCPStore (rank 0 starts it). `bind` is the
// address this rank's Gloo transport listens on. Returns a handle, or null with `err` set.
extern "C" void* kit_dist_new(const char* addr, int port, const char* bind, int rank, int size,
                              int timeout_ms, char* err, int errlen) {
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(port);
    so.isServer = rank == 0;
    so.numWorkers = size;
    so.waitWorkers = true;
    so.timeout = std::chrono::milliseconds(timeout_ms);
    auto store = c10::make_intrusive<c10d::TCPStore>(std::string(addr), so);
    auto opts = c10::make_intrusive<c10d::ProcessGroupGloo::Options>(
        std::chrono::milliseconds(timeout_ms));
    opts->devices.push_back(
        c10d::ProcessGroupGloo::createDeviceForHostname(std::string(bind), false));
    // Room for the real object (its size is not in any shipped header; it is a few hundred
    // bytes): constructed by libtorch's own constructor, used through c10d::Backend.
    void* mem = ::operator new(1 << 16);
    auto* pg = new (mem) c10d::ProcessGroupGloo(store, rank, size, opts);
    return new Group{store, reinterpret_cast<c10d::Backend*>(pg),
                     std::chrono::milliseconds(timeout_ms)};
  } catch (const std::exception& e) {
    set_error(err, errlen, first_line(e.what()));
    return nullptr;
  }
}

// Sums `t` over the ranks, in place.
extern "C" int kit_dist_allreduce_sum(void* h, at::Tensor* t, char* err, int errlen) {
  try {
    auto* g = static_cast<Group*>(h);
    std::vector<at::Tensor> v{*t};
    g->backend->allreduce(v)->wait(g->timeout);
    return 0;
  } catch (const std::exception& e) {
    set_error(err, errlen, first_line(e.what()));
    return 1;
  }
}

namespace {
// y = Σ_ranks x, differentiable: every rank's x feeds every rank's y, so the gradient of a
// rank's x is the sum over the ranks of the gradients of their y — one more all-reduce in
// backward (what SyncBatchNorm's statistics need). Every rank runs the same graph, so the
// collectives of backward happen in the same order everywhere.
struct AllReduceSum : public torch::autograd::Function<AllReduceSum> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                            int64_t handle) {
    ctx->saved_data["h"] = handle;
    auto* g = reinterpret_cast<Group*>(handle);
    std::vector<at::Tensor> v{x.contiguous().clone()};
    g->backend->allreduce(v)->wait(g->timeout);
    return v[0];
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto* g = reinterpret_cast<Group*>(ctx->saved_data["h"].toInt());
    std::vector<at::Tensor> v{grads[0].contiguous().clone()};
    g->backend->allreduce(v)->wait(g->timeout);
    return {v[0], at::Tensor()};
  }
};
}  // namespace

// `*out` = Σ over the ranks of `x`, with the gradient of AllReduceSum above (a new tensor
// the caller owns). An error in backward is thrown there and reaches the caller's backward.
extern "C" int kit_dist_allreduce_sum_autograd(void* h, const at::Tensor* x, at::Tensor** out,
                                               char* err, int errlen) {
  try {
    auto y = AllReduceSum::apply(*x, reinterpret_cast<int64_t>(h));
    *out = new at::Tensor(y);
    return 0;
  } catch (const std::exception& e) {
    set_error(err, errlen, first_line(e.what()));
    return 1;
  }
}

// Copies `root`'s `t` into every rank's `t`.
extern "C" int kit_dist_broadcast(void* h, at::Tensor* t, int root, char* err, int errlen) {
  try {
    auto* g = static_cast<Group*>(h);
    std::vector<at::Tensor> v{*t};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    g->backend->broadcast(v, o)->wait(g->timeout);
    return 0;
  } catch (const std::exception& e) {
    set_error(err, errlen, first_line(e.what()));
    return 1;
  }
}

// Sets `key` to `value` in the store (each rank records its host and pid there).
extern "C" int kit_dist_store_set(void* h, const char* key, const char* value, char* err,
                                  int errlen) {
  try {
    auto* g = static_cast<Group*>(h);
    std::string v(value);
    g->store->set(std::string(key), std::vector<uint8_t>(v.begin(), v.end()));
    return 0;
  } catch (const std::exception& e) {
    set_error(err, errlen, first_line(e.what()));
    return 1;
  }
}

// Reads `key` (waiting up to the timeout) into `out`.
extern "C" int kit_dist_store_get(void* h, const char* key, char* out, int outlen, char* err,
                                  int errlen) {
  try {
    auto* g = static_cast<Group*>(h);
    auto v = g->store->get(std::string(key));
    set_error(out, outlen, std::string(v.begin(), v.end()));
    return 0;
  } catch (const std::exception& e) {
    set_error(err, errlen, first_line(e.what()));
    return 1;
  }
}

// Whether `key` is in the store, without waiting: 1 yes, 0 no, -1 when the store is gone.
extern "C" int kit_dist_store_check(void* h, const char* key) {
  try {
    auto* g = static_cast<Group*>(h);
    return g->store->check({std::string(key)}) ? 1 : 0;
  } catch (const std::exception&) {
    return -1;
  }
}
