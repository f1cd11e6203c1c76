// mock_llm_socket.cc: socket tricks for the mock LLM (see the header).
#include "mock_llm_socket.h"

#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdlib>

namespace folio::test {

namespace {

int PortOf(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
  if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
  return -1;
}

// Calls fn(fd, peer_port) for each connected socket whose local port is
// `local_port`, until fn returns false.
template <typename Fn>
void ForEachConnection(int local_port, Fn fn) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return;
  while (dirent* e = readdir(dir)) {
    int fd = std::atoi(e->d_name);
    if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd == dirfd(dir)) continue;
    sockaddr_storage local{}, peer{};
    socklen_t ll = sizeof local, pl = sizeof peer;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &ll) != 0 || PortOf(local) != local_port) continue;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &pl) != 0) continue;
    if (!fn(fd, PortOf(peer))) break;
  }
  closedir(dir);
}

}  // namespace

int FindConnectionFd(int local_port, int peer_port) {
  int found = -1;
  ForEachConnection(local_port, [&](int fd, int peer) {
    if (peer != peer_port) return true;
    found = fd;
    return false;
  });
  return found;
}

void ShutdownConnections(int local_port) {
  ForEachConnection(local_port, [](int fd, int) {
    shutdown(fd, SHUT_RDWR);
    return true;
  });
}

bool ClientGone(int fd) {
  if (fd < 0) return false;
  pollfd p{fd, POLLRDHUP, 0};
  return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

void ResetConnection(int fd) {
  if (fd < 0) return;
  sockaddr unspec{};
  unspec.sa_family = AF_UNSPEC;
  (void)connect(fd, &unspec, sizeof unspec);
}

}  // namespace folio::test
