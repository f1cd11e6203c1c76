// process_test.cc: process identity and liveness (process.h) against real
// processes: this one, a fork()ed child alive, a zombie, a reaped one, and an
// id whose pid was reused; the packed form every owner word uses.
#include "process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>

namespace folio {
namespace {

// A child that waits for SIGKILL; reaped by the destructor.
class Child {
 public:
  Child() : pid_(fork()) {
    if (pid_ == 0) {
      pause();
      _exit(0);
    }
  }
  ~Child() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_;
};

TEST(ProcessTest, SelfIsAliveAndAnEarlierProcessWithItsPidIsNot) {
  const ProcessId self = SelfProcessId();
  ASSERT_EQ(self.pid, getpid());
  ASSERT_GT(self.start_ticks, 0u);
  EXPECT_TRUE(IsAlive(self));
  EXPECT_TRUE(IsAlive(ProcessId{self.pid, 0})) << "an unknown start time trusts the pid";
  EXPECT_FALSE(IsAlive(ProcessId{self.pid, self.start_ticks + 1})) << "same pid, another process";
  EXPECT_FALSE(IsAlive(ProcessId{}));
}

TEST(ProcessTest, AForkedChildHasItsOwnIdentity) {
  const ProcessId parent = SelfProcessId();
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    const ProcessId child = SelfProcessId();
    const bool right = child.pid == getpid() && child != parent && IsAlive(parent);
    (void)!write(pipe_fds[1], right ? "y" : "n", 1);
    _exit(0);
  }
  char answer = 0;
  EXPECT_EQ(read(pipe_fds[0], &answer, 1), 1);
  EXPECT_EQ(answer, 'y') << "the child saw its parent's cached id, or thought its parent dead";
  ASSERT_EQ(waitpid(pid, nullptr, 0), pid);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
}

TEST(ProcessTest, AnotherLiveProcessIsAliveOnlyWithItsOwnStartTime) {
  Child child;
  ASSERT_TRUE(IsAlive(ProcessId{child.pid(), 0}));
  // The child started after this process, so it has a start time of its own
  // on every machine; any other start time means its pid was reused.
  EXPECT_FALSE(IsAlive(ProcessId{child.pid(), 1}));
}

TEST(ProcessTest, ZombiesAndReapedProcessesAreDead) {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  siginfo_t info{};
  ASSERT_EQ(waitid(P_PID, pid, &info, WEXITED | WNOWAIT), 0);  // exited, not reaped
  EXPECT_FALSE(IsAlive(ProcessId{pid, 0})) << "a zombie never writes again";
  ASSERT_EQ(waitpid(pid, nullptr, 0), pid);
  EXPECT_FALSE(IsAlive(ProcessId{pid, 0}));
}

TEST(ProcessTest, PackingIsLosslessAndLeavesTheTopBitFree) {
  const ProcessId ids[] = {{1, 0}, {4'194'303, (uint64_t{1} << 41) - 1}, SelfProcessId(), {12345, 987654321}};
  for (const ProcessId& id : ids) {
    const uint64_t word = PackProcessId(id);
    EXPECT_EQ(word >> 63, 0u);
    EXPECT_NE(word, 0u);
    EXPECT_EQ(UnpackProcessId(word), id);
    EXPECT_EQ(UnpackProcessId(word | uint64_t{1} << 63), id) << "callers' flag bit is ignored";
  }
  EXPECT_EQ(PackProcessId(ProcessId{}), 0u);
}

}  // namespace
}  // namespace folio
