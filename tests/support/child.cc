// child.cc: see child.h.
#include "child.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace folio::test {

Pipe::Pipe() {
  if (pipe(fds_) != 0) {
    fds_[0] = fds_[1] = -1;
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
  }
}

Pipe::~Pipe() {
  for (int fd : fds_)
    if (fd >= 0) close(fd);
}

void Pipe::Signal(char c) const { (void)!write(fds_[1], &c, 1); }

char Pipe::Wait(std::chrono::milliseconds timeout) const {
  pollfd p{fds_[0], POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) != 1) return 0;
  char c = 0;
  return read(fds_[0], &c, 1) == 1 ? c : 0;
}

void Pipe::CloseWriteEnd() {
  if (fds_[1] >= 0) close(fds_[1]);
  fds_[1] = -1;
}

Child::Child(const std::function<int()>& body) {
  pid_ = fork();
  if (pid_ == 0) _exit(body());
  if (pid_ < 0) ADD_FAILURE() << "fork: " << std::strerror(errno);
}

Child::~Child() {
  if (pid_ > 0) Kill();
}

void Child::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

int Child::Wait() {
  if (pid_ <= 0) return -1;
  int status = 0;
  const pid_t reaped = waitpid(pid_, &status, 0);
  pid_ = -1;
  return reaped > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int RunInChild(const std::function<int()>& body) { return Child(body).Wait(); }

}  // namespace folio::test
