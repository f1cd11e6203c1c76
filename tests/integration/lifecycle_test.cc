// lifecycle_test.cc: starting, failing to start, rate limiting, crashing and
// stopping — each on its own private stack.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "poll_until.h"
#include "stack.h"

namespace folio::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::unique_ptr<TestStack> StartOrFail(const std::map<std::string, std::string>& env) {
  std::string error;
  auto stack = TestStack::Start(env, &error);
  EXPECT_NE(stack, nullptr) << error;
  return stack;
}

TEST(LifecycleTest, InvalidConfigStopsStartWithOneLinePerProblem) {
  std::string out;
  int rc = RunCommand("env PORT=99999 WORKERS=abc LOG_LEVEL=loud DATA_DIR=/tmp/folio-never RUN_DIR=/tmp/folio-never "
                      "LOG_DIR=/tmp/folio-never FOLIO_BIN=" FOLIO_BINARY_DIR "/bin " FOLIO_SOURCE_DIR "/scripts/start",
                      &out);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("PORT: got \"99999\", want an integer in 1..65535"), std::string::npos) << out;
  EXPECT_NE(out.find("WORKERS: got \"abc\""), std::string::npos) << out;
  EXPECT_NE(out.find("LOG_LEVEL: got \"loud\", want one of trace|debug|info|warn|error"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists("/tmp/folio-never")) << "nothing is written before validation passes";
}

TEST(LifecycleTest, RateLimitAnswers429JsonWithRetryAfter) {
  auto stack = StartOrFail({{"RATE_LIMIT_RPS", "2"}, {"RATE_LIMIT_BURST", "3"}});
  ASSERT_NE(stack, nullptr);
  int ok = 0, limited = 0;
  HttpResponse last_limited;
  for (int i = 0; i < 12; ++i) {
    HttpResponse r = stack->Get("/api/health");
    if (r.status == 200) ++ok;
    if (r.status == 429) ++limited, last_limited = r;
    if (r.status != 200 && r.status != 429) ADD_FAILURE() << r.raw.substr(0, 300);
  }
  EXPECT_GE(ok, 3);
  EXPECT_LE(ok, 6);  // burst 3 + at most a couple refilled at 2 r/s
  EXPECT_GE(limited, 6);
  EXPECT_EQ(last_limited.Header("retry-after"), "1");
  EXPECT_EQ(last_limited.Json()["error"]["code"], "rate_limited");
  EXPECT_EQ(last_limited.Json()["request_id"], last_limited.Header("x-request-id"));
  // Probes are never limited: a platform's health check must always pass.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(stack->Get("/ping").status, 200);
}

TEST(LifecycleTest, CrashedWorkerIsRestartedBySupervisord) {
  auto stack = StartOrFail({});
  ASSERT_NE(stack, nullptr);
  std::vector<pid_t> before = stack->WorkerPids();
  ASSERT_EQ(before.size(), 2u);
  kill(before[0], SIGKILL);
  std::vector<pid_t> after;
  PollUntil(
      [&] {
        after = stack->WorkerPids();
        return after.size() == 2 && after != before;
      },
      seconds(10), milliseconds(50));
  EXPECT_EQ(after.size(), 2u);
  EXPECT_NE(after, before);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(stack->Get("/ping").status, 200);
}

TEST(LifecycleTest, NoWorkerGives502Json) {
  auto stack = StartOrFail({});
  ASSERT_NE(stack, nullptr);
  std::string out;
  ASSERT_EQ(stack->Supervisorctl("stop 'folio-worker:*'", &out), 0) << out;
  HttpResponse r = stack->Get("/ping");
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.Json()["error"]["code"], "worker_unavailable");
  EXPECT_EQ(r.Json()["request_id"], r.Header("x-request-id"));
  ASSERT_EQ(stack->Supervisorctl("start 'folio-worker:*'", &out), 0) << out;
  EXPECT_EQ(PollHttp(stack->port(), "/ready", [](const HttpResponse& x) { return x.status == 200; }, seconds(10)).status,
            200);
}

TEST(LifecycleTest, FailedStartupCheckAnswers503WithReasonWithoutCrashLooping) {
  auto stack = StartOrFail({{"WORKERS", "1"}});
  ASSERT_NE(stack, nullptr);
  // Make DATA_DIR unusable (a file where the directory was), then crash the
  // worker so that its replacement runs the start-up checks again.
  std::filesystem::remove_all(stack->data_dir());
  std::ofstream(stack->data_dir()) << "not a directory";
  pid_t old_pid = stack->WorkerPids().at(0);
  kill(old_pid, SIGKILL);
  HttpResponse r = PollHttp(stack->port(), "/ready", [](const HttpResponse& x) {
    return x.status == 503 && x.body.find("DATA_DIR") != std::string::npos;
  }, seconds(10));
  ASSERT_EQ(r.status, 503) << r.raw;
  EXPECT_EQ(r.Json()["ready"], false);
  EXPECT_NE(r.Json()["reason"].get<std::string>().find("DATA_DIR"), std::string::npos) << r.body;
  HttpResponse health = stack->Get("/api/health");
  EXPECT_EQ(health.status, 503);
  EXPECT_EQ(health.Json()["status"], "unhealthy");
  // The not-ready worker keeps serving: same process over two seconds (time
  // that must pass: a crash loop shows as a new pid).
  pid_t failing_pid = stack->WorkerPids().at(0);
  std::this_thread::sleep_for(seconds(2));
  EXPECT_EQ(stack->WorkerPids(), std::vector<pid_t>{failing_pid});
  EXPECT_EQ(stack->Get("/ping").status, 200);
  // Remove the cause (a data directory with an index again) and restart
  // the worker: ready again.
  std::filesystem::remove(stack->data_dir());
  std::filesystem::create_directories(stack->data_dir());
  std::string out;
  ASSERT_EQ(RunCommand(FOLIO_BINARY_DIR "/bin/folio-ingest --kb " FOLIO_SOURCE_DIR "/kb --out " + stack->data_dir() + "/index", &out), 0) << out;
  kill(failing_pid, SIGKILL);
  EXPECT_EQ(PollHttp(stack->port(), "/ready", [](const HttpResponse& x) { return x.status == 200; }, seconds(10)).status,
            200);
}

TEST(LifecycleTest, SigtermDrainsInFlightRequestAndLeavesNoProcess) {
  auto stack = StartOrFail({});
  ASSERT_NE(stack, nullptr);
  std::vector<pid_t> family = stack->Descendants();
  ASSERT_GE(family.size(), 4u);  // 2 workers, nginx master + worker

  // A request in flight: headers and half of the body sent.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(stack->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string head = "POST /ping HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nConnection: close\r\n\r\n{}";
  ASSERT_EQ(send(fd, head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
  ASSERT_TRUE(WaitUntilServerRead(fd)) << "nginx never read the request's head";

  pid_t supervisord = stack->supervisord_pid();
  kill(supervisord, SIGTERM);
  // New connections are refused once nginx stops listening (supervisord
  // acts on the signal at its next loop tick, within a second)...
  EXPECT_EQ(PollHttp(stack->port(), "/ping", [](const HttpResponse& x) { return x.status == 0; }, seconds(5)).status, 0);
  // ...but the request in flight still gets its answer.
  ASSERT_EQ(send(fd, "{}", 2, 0), 2);
  std::string raw;
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) raw.append(buf, static_cast<size_t>(n));
  close(fd);
  HttpResponse answered = ParseHttpResponse(raw);
  EXPECT_EQ(answered.status, 405) << raw;  // the worker's answer to POST /ping
  EXPECT_EQ(answered.Json()["error"]["code"], "method_not_allowed");

  EXPECT_EQ(stack->Terminate(seconds(20)), 0);
  for (pid_t p : family) EXPECT_FALSE(ProcessAlive(p)) << "left behind: " << p << " " << ProcessName(p);
  std::string workers;
  for (const auto& e : std::filesystem::directory_iterator(stack->log_dir()))
    if (e.path().filename().string().rfind("worker-", 0) == 0) workers += stack->ReadLog(e.path().filename().string());
  EXPECT_NE(workers.find("\"event\":\"worker_stopped\",\"drained\":true"), std::string::npos) << workers;
}

}  // namespace
}  // namespace folio::test

namespace folio::test {
namespace {

TEST(DocsTest, EnvExampleIsGeneratedFromTheConfigTable) {
  std::string generated, committed;
  ASSERT_EQ(RunCommand(FOLIO_BINARY_DIR "/bin/folio-worker --env-example", &generated), 0);
  ASSERT_EQ(RunCommand("cat " FOLIO_SOURCE_DIR "/.env.example", &committed), 0);
  EXPECT_EQ(generated, committed) << "regenerate with: build/bin/folio-worker --env-example > .env.example";
}

}  // namespace
}  // namespace folio::test
