// mapped_file.cc: mmap(2) wrapper. The fd is closed right after mapping; the
// mapping keeps the file's pages alive on its own.
//
// The truncation guard. Every live mapping is listed in a fixed table of
// [begin, end) ranges made of atomics, which a signal handler may read.
// On SIGBUS at an address inside one of them, the handler maps an anonymous
// zero page over the faulting page (MAP_FIXED: the rest of the mapping is
// untouched; munmap of the whole range later removes it too) and returns, so
// the faulting read runs again and sees zeros. Anything else is handed to the
// disposition that was there before. A mapping that finds the table full is
// simply not guarded.
#include "mapped_file.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace folio {
namespace {

struct GuardedRange {
  std::atomic<uintptr_t> begin{0};  // 0: a free slot; kClaimed: being filled
  std::atomic<uintptr_t> end{0};
};
constexpr size_t kMaxGuarded = 256;  // an index maps 4 files; a few snapshots may overlap
GuardedRange g_guarded[kMaxGuarded];
std::atomic<uint64_t> g_faults{0};
std::atomic<bool> g_guard_installed{false};
uintptr_t g_page_size = 4096;
struct sigaction g_previous_sigbus {};

// A slot is claimed with begin = 1 (never a mapping's address), filled,
// then published by storing the real begin: the handler, which acquires
// begin, never pairs a begin with another mapping's end.
constexpr uintptr_t kClaimed = 1;

void Guard(const char* data, size_t size) {
  const auto begin = reinterpret_cast<uintptr_t>(data);
  for (GuardedRange& r : g_guarded) {
    uintptr_t free_slot = 0;
    if (!r.begin.compare_exchange_strong(free_slot, kClaimed, std::memory_order_acquire)) continue;
    r.end.store(begin + size, std::memory_order_relaxed);
    r.begin.store(begin, std::memory_order_release);
    return;
  }
}

void Unguard(const char* data) {
  const auto begin = reinterpret_cast<uintptr_t>(data);
  for (GuardedRange& r : g_guarded) {
    uintptr_t expected = begin;
    if (r.begin.compare_exchange_strong(expected, 0, std::memory_order_acq_rel)) return;
  }
}

void OnSigbus(int sig, siginfo_t* info, void* context) {
  const auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  for (GuardedRange& r : g_guarded) {
    const uintptr_t begin = r.begin.load(std::memory_order_acquire);
    if (begin <= kClaimed || addr < begin || addr >= r.end.load(std::memory_order_relaxed)) continue;
    void* page = reinterpret_cast<void*>(addr & ~(g_page_size - 1));
    // mmap is a plain system call here, safe in a handler in practice.
    if (mmap(page, g_page_size, PROT_READ, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED) {
      g_faults.fetch_add(1, std::memory_order_relaxed);
      return;  // the read runs again, on zeros
    }
    break;
  }
  // Not ours (or no memory for a page): what would have happened without us.
  if (g_previous_sigbus.sa_flags & SA_SIGINFO) {
    g_previous_sigbus.sa_sigaction(sig, info, context);
  } else if (g_previous_sigbus.sa_handler != SIG_DFL && g_previous_sigbus.sa_handler != SIG_IGN) {
    g_previous_sigbus.sa_handler(sig);
  } else {
    signal(SIGBUS, SIG_DFL);  // returning re-runs the access, which now kills the process
  }
}

}  // namespace

void InstallMappedFileGuard() {
  if (g_guard_installed.exchange(true)) return;
  g_page_size = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  struct sigaction sa {};
  sa.sa_sigaction = OnSigbus;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGBUS, &sa, &g_previous_sigbus);
}

uint64_t MappedFileFaults() { return g_faults.load(std::memory_order_relaxed); }

MappedFile::~MappedFile() { Reset(); }

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      path_(std::move(other.path_)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    Reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    path_ = std::move(other.path_);
  }
  return *this;
}

void MappedFile::Reset() {
  if (data_ != nullptr) {
    Unguard(data_);
    munmap(const_cast<char*>(data_), size_);
  }
  data_ = nullptr;
  size_ = 0;
}

Result<MappedFile> MappedFile::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return NotFound("index_file_missing", "missing file " + path);
    return Unavailable("index_unreadable", "cannot open " + path + ": " + std::strerror(err));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgument("index_corrupt", path + " is not a regular file");
  }
  MappedFile file;
  file.path_ = path;
  file.size_ = static_cast<size_t>(st.st_size);
  if (file.size_ > 0) {
    void* p = mmap(nullptr, file.size_, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      file.size_ = 0;
      return Unavailable("index_unreadable", "cannot map " + path + ": " + std::strerror(err));
    }
    file.data_ = static_cast<const char*>(p);
    Guard(file.data_, file.size_);
  }
  ::close(fd);
  return file;
}

}  // namespace folio
