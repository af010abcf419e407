// Background cost of an idle node as the network grows: N nodes join in the simulator, settle,
// then idle for a window; per idle node: bytes sent per second, frames per second, and signature
// verifications per second (first receipts of signed gossip messages plus link handshakes).
// With --rpc every node also runs RPC discovery as createNode composes it (a served name, ads).
//   gossip_scale_bench [--nodes 100,1000,10000] [--idle 60] [--seed 1] [--rpc]
// Prints one JSON object per line.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "nitro/rpc_node.h"
#include "nitro/sim.h"

using namespace nitro;

namespace {

struct Args {
  std::vector<std::size_t> nodes{100, 1000, 10000};
  std::uint64_t idle_s = 60;
  std::uint64_t seed = 1;
  bool rpc = false;
};

std::uint64_t verifications(const NodeStats& s) {
  return (s.payloads_received - s.duplicate_payloads) + s.handshakes_ok;
}

void run(const Args& a, std::size_t n) {
  sim::SimConfig c;
  c.seed = a.seed;
  c.nodes = n;
  c.start_spread_ms = std::max<std::uint64_t>(5000, n * 2);  // joins at up to 500 per second
  const auto wall0 = std::chrono::steady_clock::now();
  sim::Simulator s(c);
  for (std::size_t i = 0; i < n; ++i) {
    (void)s.subscribe(i, "bench");
    if (!a.rpc) continue;
    rpc::NodeRpcConfig rc;
    rc.name = "node-" + std::to_string(i);
    s.with_node(i, [&](Node& node) { (void)node.add_protocol(rpc::kNodeChannel, std::make_unique<rpc::NodeRpc>(rc)); });
  }
  s.run_until(c.start_spread_ms + 60000);  // joined and settled
  const NodeStats st0 = s.total_stats();
  const sim::NetStats net0 = s.net();
  s.run_for(a.idle_s * 1000);
  const NodeStats st1 = s.total_stats();
  const sim::NetStats net1 = s.net();
  const double per = static_cast<double>(n) * static_cast<double>(a.idle_s);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  std::printf(
      "{\"nodes\":%zu,\"rpc\":%s,\"idle_s\":%llu,\"bytes_per_node_s\":%.1f,\"frames_per_node_s\":%.2f,"
      "\"verifications_per_node_s\":%.3f,\"handshakes_per_node_s\":%.4f,\"deaths\":%llu,\"converged\":%s,\"wall_s\":%.1f}\n",
      n, a.rpc ? "true" : "false", static_cast<unsigned long long>(a.idle_s),
      static_cast<double>(net1.bytes_sent - net0.bytes_sent) / per, static_cast<double>(net1.frames_sent - net0.frames_sent) / per,
      static_cast<double>(verifications(st1) - verifications(st0)) / per,
      static_cast<double>(st1.handshakes_ok - st0.handshakes_ok) / per, static_cast<unsigned long long>(st1.deaths),
      s.membership_converged() ? "true" : "false", wall);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : "";
    if (k == "--rpc") {
      a.rpc = true;
    } else if (k == "--nodes") {
      a.nodes.clear();
      for (const char* p = v; *p;) {
        a.nodes.push_back(std::strtoull(p, nullptr, 10));
        p = std::strchr(p, ',');
        if (!p) break;
        ++p;
      }
      ++i;
    } else if (k == "--idle") {
      a.idle_s = std::strtoull(v, nullptr, 10);
      ++i;
    } else if (k == "--seed") {
      a.seed = std::strtoull(v, nullptr, 10);
      ++i;
    } else {
      std::fprintf(stderr, "usage: gossip_scale_bench [--nodes 100,1000,10000] [--idle 60] [--seed 1] [--rpc]\n");
      return 2;
    }
  }
  for (auto n : a.nodes) run(a, n);
  return 0;
}
