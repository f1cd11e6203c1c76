// metrics_reader.cc: ReadMetricsFile over a PROT_READ mapping. Atomic loads
// from a read-only mapping are plain loads on every target we build for; no
// store, CAS or lock ever touches the file from here.
#include "metrics_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "metrics.h"
#include "metrics_layout.h"

namespace folio {

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

Status FileError(const std::string& what, const std::string& path) {
  return Internal("metrics_file", what + " " + path + ": " + std::strerror(errno));
}

// RAII owner of the read-only mapping.
class ReadMapping {
 public:
  ReadMapping(void* addr, size_t size) : addr_(addr), size_(size) {}
  ~ReadMapping() { ::munmap(addr_, size_); }
  ReadMapping(const ReadMapping&) = delete;
  ReadMapping& operator=(const ReadMapping&) = delete;
  const Metrics::Shared* shared() const { return static_cast<const Metrics::Shared*>(addr_); }

 private:
  void* addr_;
  size_t size_;
};

// Requests of every route and class, and the 5xx among them (class index 3).
void CountRequests(const MetricsSlot& s, int64_t* all, int64_t* errors) {
  *all = *errors = 0;
  for (int r = 0; r < kRouteCount; ++r) {
    for (int c = 0; c < kStatusClassCount; ++c) *all += s.counts.requests[r][c].load(kRelaxed);
    *errors += s.counts.requests[r][kStatusClassCount - 1].load(kRelaxed);
  }
}

MetricsFileView ReadView(const Metrics::Shared* shared) {
  // Bounded like Metrics::Read: after many retries a slightly inconsistent
  // view beats hanging an operator's command.
  constexpr int kMaxAttempts = 100;
  MetricsFileView view;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    const int64_t seq = shared->fold_seq.load(std::memory_order_acquire);
    if (seq % 2 != 0 && attempt + 1 < kMaxAttempts) {
      std::this_thread::yield();
      continue;
    }
    view = MetricsFileView{};
    int64_t errors = 0;
    CountRequests(shared->retired, &view.retired_requests, &errors);
    view.total_requests = view.retired_requests;
    for (int i = 0; i < Metrics::kMaxProcesses; ++i) {
      const MetricsSlot& s = shared->slots[i];
      MetricsProcess p;
      CountRequests(s, &p.requests, &p.errors);
      view.total_requests += p.requests;  // free slots too: see Metrics::Read
      const int64_t pid = s.owner_pid.load(std::memory_order_acquire);
      if (pid == 0) continue;
      p.slot = i;
      p.pid = static_cast<int>(pid);
      p.in_flight = std::max<int64_t>(0, s.in_flight.load(kRelaxed));
      p.in_flight_peak = s.in_flight_peak.load(kRelaxed);
      p.upstream_calls = s.counts.counters[static_cast<int>(Counter::kUpstreamCalls)].load(kRelaxed);
      p.alive = IsAlive(OwnerOf(s));
      view.processes.push_back(p);
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (shared->fold_seq.load(kRelaxed) == seq) break;
  }
  return view;
}

}  // namespace

Result<MetricsFileView> ReadMetricsFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("metrics_not_found", "no metrics file at " + path);
    return FileError("cannot open", path);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    Status s = FileError("cannot stat", path);
    ::close(fd);
    return s;
  }
  if (!S_ISREG(st.st_mode) || st.st_size != static_cast<off_t>(kMetricsFileSize)) {
    ::close(fd);
    return Unavailable("metrics_uninitialised", path + " is not a metrics file of this version");
  }
  void* addr = ::mmap(nullptr, kMetricsFileSize, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);  // the mapping keeps the file
  if (addr == MAP_FAILED) return FileError("cannot map", path);
  ReadMapping mapping(addr, kMetricsFileSize);
  const Metrics::Shared* shared = mapping.shared();
  if (shared->magic != kMetricsMagic || shared->version != kMetricsVersion || shared->size != kMetricsFileSize) {
    return Unavailable("metrics_uninitialised", path + " is not a metrics file of this version");
  }
  return ReadView(shared);
}

}  // namespace folio
