// child.h: forked processes for tests of what processes share (an LMDB
// environment, a mapped file): a Child runs a function in a fork()ed copy
// of the test process and leaves with _exit(), so no gtest or parent state
// runs twice; a Pipe lets a child say it reached a point, and the parent
// wait for that with a deadline instead of sleeping.
//
// In the child: open what the process would open itself (LMDB handles never
// cross fork()), report through the exit code (gtest assertions there go
// nowhere), and, when the test process has threads (an in-process MockLlm),
// keep to what cannot deadlock on a lock another thread held at the fork.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>

namespace folio::test {

// One pipe, created before the fork so that both processes hold it.
class Pipe {
 public:
  Pipe();  // a test failure if pipe(2) fails
  ~Pipe();
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;

  // Writes the byte `c`.
  void Signal(char c = '!') const;
  // The next byte written, or 0 on timeout or end of file.
  char Wait(std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  // Closes this process's write end. Once every process holding the pipe has
  // closed its write end, Wait() returns 0 at once: a "go" for any number
  // of waiting children.
  void CloseWriteEnd();

 private:
  int fds_[2] = {-1, -1};
};

// A forked child running `body`, whose return value is its exit code. The
// destructor SIGKILLs and reaps it if the test has not.
class Child {
 public:
  explicit Child(const std::function<int()>& body);  // a test failure if fork(2) fails
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  // SIGKILL, then reaps.
  void Kill();
  // Waits for it to exit: its exit code, or -1 if a signal ended it.
  int Wait();

 private:
  pid_t pid_ = -1;
};

// Runs `body` in a Child and waits for it: its exit code, or -1 if a
// signal ended it.
int RunInChild(const std::function<int()>& body);

}  // namespace folio::test
