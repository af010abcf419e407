// Native cost of the RPC engine per unary call, on the path a JS host drives: a client and a
// server engine, `--inflight` calls started per step through apply_step(), frames coalesced by
// LinkBatcher, requests and responses drained with write_drain(), handlers answering through
// apply_step(). Prints CPU nanoseconds per call (client + server, process CPU time, median of 5
// samples) and heap allocations per call. No sockets, no wasm, no JS: the engine's own share of
// `npm run bench -- rpc`, measurable on a loaded machine.
//   build/native/rpc_bench [--steps N] [--inflight K]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <new>
#include <string>
#include <vector>

#include "nitro/rpc.h"
#include "nitro/rpc_batch.h"
#include "../../native-tests/rpc_step_writer.h"

namespace {
std::size_t g_allocations = 0;
}  // namespace

void* operator new(std::size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using namespace nitro;
using namespace nitro::rpc;
using nitro::test::StepWriter;

// Walks a drain batch of request and done events; answers each request into `answers`.
struct Drain {
  const Bytes& b;
  std::size_t p = 0;
  std::uint32_t u32() {
    std::uint32_t v;
    std::memcpy(&v, &b[p], 4);
    p += 4;
    return v;
  }
  double f64() {
    double v;
    std::memcpy(&v, &b[p], 8);
    p += 8;
    return v;
  }
  std::span<const std::uint8_t> bin() {
    std::uint32_t n = u32();
    std::span<const std::uint8_t> s(&b[p], n);
    p += n;
    return s;
  }
  void md() {
    for (std::uint32_t n = u32(); n > 0; --n) bin(), bin();
  }
  int events(StepWriter* answers) {
    f64();
    int n = 0;
    for (; p < b.size(); ++n) {
      ++p;  // record type: an event
      const auto kind = static_cast<EventKind>(b[p++]);
      const double handle = f64();
      ++p;  // stream kind
      bin();  // peer
      if (kind == EventKind::kRequest) {
        bin(), bin(), md();
        auto payload = bin();
        ++p;
        f64();
        if (answers) answers->respond(handle, payload);
      } else {  // kDone
        bin(), bin(), bin(), md(), bin(), u32(), md();
      }
    }
    return n;
  }
};

double cpu_ns() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

void send(Engine& from, Engine& to, std::int64_t now) {
  LinkBatcher batcher;
  while (auto t = from.poll_transmit()) batcher.push(t->peer, t->bytes);
  for (const auto& [peer, message] : batcher.take()) receive_link_message(to, from.self(), message, now);
}

// One step of `inflight` calls there and back; false if a call did not complete.
bool round_trip(Engine& client, Engine& server, int inflight, std::int64_t now, Bytes& drain) {
  static const Bytes payload(84, 'x');  // the size of bench/rpc.mjs's message
  StepWriter starts;
  starts.service = "echo";
  const CallHandle first = client.reserve_handles(static_cast<std::uint32_t>(inflight));
  for (int i = 0; i < inflight; ++i) starts.start(static_cast<double>(first + static_cast<CallHandle>(i)), "", "Echo.Echo", "", payload, 10000);
  (void)apply_step(client, starts.b, now);
  send(client, server, now);
  drain.clear();
  write_drain(server, std::nullopt, false, drain);
  StepWriter answers;
  Drain{drain}.events(&answers);
  (void)apply_step(server, answers.b, now);
  send(server, client, now);
  drain.clear();
  write_drain(client, std::nullopt, false, drain);
  return Drain{drain}.events(nullptr) == inflight;
}

}  // namespace

int main(int argc, char** argv) {
  int steps = 2000, inflight = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--steps") == 0) steps = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--inflight") == 0) inflight = std::atoi(argv[i + 1]);
  }
  // Peer keys as long as a node's (52-char peer id text), as in createNode.
  Engine client(std::string(52, 'c'), 1), server(std::string(52, 's'), 2);
  server.serve("echo");
  (void)server.register_method("Echo.Echo", StreamKind::kUnary);
  (void)client.registry().upsert("echo", server.self(), {}, 0, 0);
  Bytes drain;
  std::int64_t now = 1000;
  std::vector<double> ns;
  double allocations = 0;
  for (int sample = 0; sample < 6; ++sample) {  // the first warms up
    const std::size_t a0 = g_allocations;
    const double t0 = cpu_ns();
    for (int s = 0; s < steps; ++s) {
      if (!round_trip(client, server, inflight, now++, drain)) return std::fprintf(stderr, "a call did not complete\n"), 1;
    }
    const double calls = static_cast<double>(steps) * inflight;
    if (sample == 0) continue;
    ns.push_back((cpu_ns() - t0) / calls);
    allocations = static_cast<double>(g_allocations - a0) / calls;
  }
  std::sort(ns.begin(), ns.end());
  std::printf("{\"inflight\":%d,\"cpu_ns_per_call\":%.0f,\"allocations_per_call\":%.1f}\n", inflight, ns[ns.size() / 2],
              allocations);
}
