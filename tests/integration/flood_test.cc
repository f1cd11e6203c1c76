// flood_test.cc: one address holds thousands of connections to nginx — half
// of them sending headers that never end, half idle — while other addresses
// (127.0.0.2, 127.0.0.3, ...) keep asking for /ping and /api/search. Those
// must be answered 200, each within 2 s, for the whole flood. The attacker
// reopens every connection nginx closes (a timeout), as a real one would.
// Prints the figures README reports: connections held, probe latency and
// nginx's memory under the flood.
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "stack.h"

namespace folio::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr int kSlowHeaders = 1500;  // sent part of a request's headers, never the rest
constexpr int kIdle = 1500;         // half never send a byte, half idle in keep-alive after a request
constexpr auto kFlood = seconds(12);  // longer than nginx's header and keep-alive timeouts
constexpr auto kProbeDeadline = seconds(2);

// The attacker: keeps its connections open from 127.0.0.1, reopening any
// that the server closes. Owns its descriptors; closes them all when destroyed.
class Flood {
 public:
  enum class Kind { kSlowHeaders, kQuiet, kKeptAlive };

  explicit Flood(int port) : port_(port) {}
  ~Flood() {
    for (const Conn& c : conns_)
      if (c.fd >= 0) close(c.fd);
  }

  void Open(Kind kind, int n) {
    for (int i = 0; i < n; ++i) conns_.push_back({Connect(kind), kind});
  }

  // Drains what the server sent and reopens every closed connection.
  // Returns how many connections are open now.
  int Maintain() {
    std::vector<pollfd> fds;
    for (const Conn& c : conns_) fds.push_back({c.fd, POLLIN | POLLRDHUP, 0});
    poll(fds.data(), fds.size(), 0);
    int open = 0;
    char buf[4096];
    for (size_t i = 0; i < conns_.size(); ++i) {
      Conn& c = conns_[i];
      bool closed = c.fd < 0;
      if (!closed && (fds[i].revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR))) {
        ssize_t n = recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
        closed = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ||
                 (fds[i].revents & (POLLRDHUP | POLLHUP | POLLERR));
      }
      if (closed) {
        if (c.fd >= 0) close(c.fd);
        c.fd = Connect(c.kind);
        ++reopened_;
      }
      open += c.fd >= 0;
    }
    return open;
  }

  int reopened() const { return reopened_; }

 private:
  struct Conn {
    int fd;
    Kind kind;
  };

  int Connect(Kind kind) {
    // Short: a server that stopped accepting must not stall the attacker.
    int fd = ConnectLoopback(port_, 0, "127.0.0.1", milliseconds(200));
    if (fd < 0) return -1;
    static const std::string kPartial = "GET /ping HTTP/1.1\r\nHost: folio\r\nX-Slow: ";
    static const std::string kWhole = "GET /ping HTTP/1.1\r\nHost: folio\r\n\r\n";
    const std::string* bytes = kind == Kind::kSlowHeaders ? &kPartial : kind == Kind::kKeptAlive ? &kWhole : nullptr;
    if (bytes && send(fd, bytes->data(), bytes->size(), MSG_NOSIGNAL) != static_cast<ssize_t>(bytes->size())) {
      close(fd);
      return -1;
    }
    return fd;
  }

  int port_;
  std::vector<Conn> conns_;
  int reopened_ = 0;
};

// Sum of a field ("Rss", "Pss") over the processes, in kB.
long SumSmaps(const std::vector<pid_t>& pids, const std::string& field) {
  long total = 0;
  for (pid_t pid : pids) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
    for (std::string line; std::getline(in, line);)  // "Rss:     3352 kB"
      if (line.rfind(field + ":", 0) == 0) total += std::atol(line.c_str() + field.size() + 1);
  }
  return total;
}

size_t OpenFiles(const std::vector<pid_t>& pids) {
  size_t n = 0;
  for (pid_t pid : pids) {
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
      ++n;
  }
  return n;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

TEST(FloodTest, OtherAddressesAreAnsweredWhileOneHoldsThousandsOfConnections) {
  // The attacker's 3,000 sockets and the stack's own descriptors.
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = std::min<rlim_t>(nofile.rlim_max, 16384);
  setrlimit(RLIMIT_NOFILE, &nofile);
  ASSERT_GE(nofile.rlim_cur, static_cast<rlim_t>(kSlowHeaders + kIdle + 512)) << "raise the open-file limit";

  std::string error;
  auto stack = TestStack::Start({}, &error);
  ASSERT_TRUE(stack) << error;
  const long nginx_rss_before = SumSmaps(stack->NginxPids(), "Rss");

  Flood flood(stack->port());
  flood.Open(Flood::Kind::kSlowHeaders, kSlowHeaders);
  flood.Open(Flood::Kind::kQuiet, kIdle / 2);
  flood.Open(Flood::Kind::kKeptAlive, kIdle - kIdle / 2);

  std::atomic<bool> done{false};
  std::vector<int> held;
  std::vector<size_t> nginx_files;
  long nginx_rss = 0, nginx_pss = 0;
  std::thread attacker([&] {
    while (!done.load()) {
      held.push_back(flood.Maintain());
      nginx_files.push_back(OpenFiles(stack->NginxPids()));
      nginx_rss = std::max(nginx_rss, SumSmaps(stack->NginxPids(), "Rss"));
      nginx_pss = std::max(nginx_pss, SumSmaps(stack->NginxPids(), "Pss"));
      std::this_thread::sleep_for(milliseconds(100));
    }
  });

  const std::vector<std::string> sources = {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"};
  std::vector<double> latencies_ms;
  std::vector<std::string> failures;
  const auto until = Clock::now() + kFlood;
  for (size_t i = 0; Clock::now() < until; ++i) {
    HttpOptions options{{}, milliseconds(kProbeDeadline), sources[i % sources.size()]};
    const bool search = i % 2 == 1;
    const auto start = Clock::now();
    HttpResponse r = search ? Http(stack->port(), "POST", "/api/search", R"({"query":"projects","k":3})", options)
                            : Http(stack->port(), "GET", "/ping", "", options);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    latencies_ms.push_back(ms);
    if (r.status != 200 || ms > 2000)
      failures.push_back((search ? "search" : "ping") + std::string(" from ") + options.source + ": status " +
                         std::to_string(r.status) + " after " + std::to_string(static_cast<int>(ms)) + " ms");
    std::this_thread::sleep_for(milliseconds(50));
  }
  done = true;
  attacker.join();

  std::vector<int> sorted_held = held;
  std::sort(sorted_held.begin(), sorted_held.end());
  const int held_median = sorted_held.empty() ? 0 : sorted_held[sorted_held.size() / 2];
  const size_t files_max = nginx_files.empty() ? 0 : *std::max_element(nginx_files.begin(), nginx_files.end());
  std::printf("[flood] attacker held %d connections (median of %zu samples; min %d), reopened %d; nginx had up to "
              "%zu descriptors open\n",
              held_median, held.size(), sorted_held.empty() ? 0 : sorted_held.front(), flood.reopened(), files_max);
  std::printf("[flood] %zu probes from other addresses: p50 %.1f ms, p99 %.1f ms, max %.1f ms; %zu failed\n",
              latencies_ms.size(), Percentile(latencies_ms, 0.5), Percentile(latencies_ms, 0.99),
              Percentile(latencies_ms, 1.0), failures.size());
  std::printf("[flood] nginx memory: RSS %.1f MB before, up to %.1f MB during (PSS up to %.1f MB)\n",
              nginx_rss_before / 1024.0, nginx_rss / 1024.0, nginx_pss / 1024.0);

  // The flood was real: nginx itself held the attacker's connections.
  EXPECT_GE(held_median, (kSlowHeaders + kIdle) * 95 / 100);
  EXPECT_GE(files_max, static_cast<size_t>((kSlowHeaders + kIdle) * 9 / 10));
  EXPECT_GE(latencies_ms.size(), 50u);
  for (size_t i = 0; i < std::min<size_t>(failures.size(), 10); ++i) ADD_FAILURE() << failures[i];
  EXPECT_TRUE(failures.empty()) << failures.size() << " probes failed";
}

}  // namespace
}  // namespace folio::test
