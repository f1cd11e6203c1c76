// deploy_run_test.cc: the process tree the image runs, running — the
// supervisord.conf a local run and the image share, supervisorctl for an
// operator, and the Dockerfile's runtime stage laid out on this host and
// started by its own entry command as an unprivileged user, the way
// `docker run` starts it (support/image_stack.h): ready from the baked index,
// every process that user's, nginx with no root-only path, stopped cleanly
// by the image's STOPSIGNAL. deploy_test.cc checks the files themselves.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <thread>

#include "dockerfile.h"
#include "image_stack.h"
#include "stack.h"

namespace folio::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

// The user the image is run as here (the image's own is folio, uid 10001).
constexpr char kTestUser[] = "folio-test";

std::string ReadSource(const std::string& relative) {
  std::ifstream f(std::string(FOLIO_SOURCE_DIR) + "/" + relative);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// ---------------------------------------------------------------- supervisord.conf

using IniSections = std::map<std::string, std::map<std::string, std::string>>;

IniSections ReadIni(const std::string& text) {
  IniSections out;
  std::string section, line;
  std::istringstream in(text);
  while (std::getline(in, line)) {
    line = std::regex_replace(line, std::regex(R"(^\s+|\s+$)"), "");
    if (line.empty() || line[0] == ';' || line[0] == '#') continue;
    if (line[0] == '[') {
      section = line.substr(1, line.find(']') - 1);
      out[section];
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    out[section][std::regex_replace(line.substr(0, eq), std::regex(R"(\s+$)"), "")] =
        std::regex_replace(line.substr(eq + 1), std::regex(R"(^\s+)"), "");
  }
  return out;
}

long Bytes(const std::string& size) {  // "20MB" → bytes
  long n = std::atol(size.c_str());
  if (size.find("KB") != std::string::npos) return n << 10;
  if (size.find("MB") != std::string::npos) return n << 20;
  if (size.find("GB") != std::string::npos) return n << 30;
  return n;
}

class SupervisordConfTest : public ::testing::Test {
 protected:
  void SetUp() override { conf_ = ReadIni(ReadSource("supervisord.conf")); }
  IniSections conf_;
  const std::vector<std::string> kPrograms = {"fcgi-program:folio-worker", "program:nginx"};
};

TEST_F(SupervisordConfTest, RunsTheWorkerPoolAndNginx) {
  ASSERT_TRUE(conf_.count("fcgi-program:folio-worker"));
  ASSERT_TRUE(conf_.count("program:nginx"));
  auto& worker = conf_["fcgi-program:folio-worker"];
  EXPECT_EQ(worker["command"], "%(ENV_FOLIO_WORKER)s");
  EXPECT_EQ(worker["socket"], "unix://%(ENV_RUN_DIR)s/folio.sock");
  EXPECT_EQ(worker["numprocs"], "%(ENV_WORKERS)s");
  EXPECT_NE(conf_["program:nginx"]["command"].find("-e stderr"), std::string::npos) << "non-root nginx";
  // Workers start first and stop last; nginx drains with QUIT.
  EXPECT_LT(std::stoi(worker["priority"]), std::stoi(conf_["program:nginx"]["priority"]));
  EXPECT_EQ(conf_["program:nginx"]["stopsignal"], "QUIT");
  EXPECT_EQ(worker["stopsignal"], "TERM");
}

TEST_F(SupervisordConfTest, EveryProgramStopsAsAGroupAfterTheDrainTimeout) {
  for (const auto& name : kPrograms) {
    auto& p = conf_[name];
    EXPECT_EQ(p["stopasgroup"], "true") << name;
    EXPECT_EQ(p["killasgroup"], "true") << name;
    // STOP_WAIT_S = DRAIN_TIMEOUT_S + 5 (scripts/start; ImageRunTest reads it from supervisord).
    EXPECT_EQ(p["stopwaitsecs"], "%(ENV_STOP_WAIT_S)s") << name;
  }
  EXPECT_NE(ReadSource("scripts/start").find("STOP_WAIT_S=$((DRAIN_TIMEOUT_S + 5))"), std::string::npos);
}

TEST_F(SupervisordConfTest, ABrokenProgramIsReportedNotRestartedForever) {
  for (const auto& name : kPrograms) {
    auto& p = conf_[name];
    EXPECT_EQ(p["autorestart"], "true") << name;  // a crash after start is restarted...
    EXPECT_GE(std::stoi(p["startsecs"]), 1) << name;  // ...one during start counts as a failed start...
    int retries = std::stoi(p["startretries"]);
    EXPECT_GE(retries, 1) << name;
    EXPECT_LE(retries, 5) << name;  // ...and a few of those end in FATAL
  }
}

TEST_F(SupervisordConfTest, EveryLogRotatesBySizeWithBoundedBackups) {
  auto expect_rotated = [&](const std::string& section, const std::string& prefix) {
    auto& s = conf_[section];
    ASSERT_TRUE(s.count(prefix)) << section << " " << prefix;
    EXPECT_NE(s[prefix].find("%(ENV_LOG_DIR)s/"), std::string::npos) << section << " " << prefix;
    long bytes = Bytes(s[prefix + "_maxbytes"]);
    EXPECT_GT(bytes, 0) << section << " " << prefix << "_maxbytes (0: never rotated)";
    EXPECT_LE(bytes, 50L << 20) << section << " " << prefix;
    int backups = s.count(prefix + "_backups") ? std::stoi(s[prefix + "_backups"]) : -1;
    EXPECT_GE(backups, 1) << section << " " << prefix << "_backups";
    EXPECT_LE(backups, 5) << section << " " << prefix << "_backups";
  };
  expect_rotated("supervisord", "logfile");
  expect_rotated("fcgi-program:folio-worker", "stdout_logfile");
  EXPECT_EQ(conf_["fcgi-program:folio-worker"]["redirect_stderr"], "true");
  expect_rotated("program:nginx", "stdout_logfile");
  expect_rotated("program:nginx", "stderr_logfile");
}

TEST_F(SupervisordConfTest, SupervisorctlReachesTheControlSocket) {
  ASSERT_TRUE(conf_.count("unix_http_server"));
  ASSERT_TRUE(conf_.count("supervisorctl"));
  ASSERT_TRUE(conf_.count("rpcinterface:supervisor"));
  EXPECT_EQ(conf_["supervisorctl"]["serverurl"], "unix://" + conf_["unix_http_server"]["file"]);
  EXPECT_EQ(conf_["unix_http_server"]["file"], "%(ENV_RUN_DIR)s/supervisor.sock");
  EXPECT_EQ(conf_["unix_http_server"]["chmod"], "0700");
}

// Runs `status` (through `run`) until every program is RUNNING — supervisord
// says so once a program has lived startsecs — or the deadline passes.
// Returns the last output.
std::string PollAllRunning(const std::function<int(std::string*)>& run, int workers,
                           std::chrono::milliseconds deadline = seconds(10)) {
  auto all_running = [&](const std::string& out) {
    for (int i = 0; i < workers; ++i)
      if (!std::regex_search(out, std::regex("folio-worker:folio-worker-" + std::to_string(i) + R"(\s+RUNNING)")))
        return false;
    return std::regex_search(out, std::regex(R"(nginx\s+RUNNING)"));
  };
  std::string out;
  auto until = std::chrono::steady_clock::now() + deadline;
  do {
    if (run(&out) == 0 && all_running(out)) return out;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (std::chrono::steady_clock::now() < until);
  ADD_FAILURE() << "not every program RUNNING:\n" << out;
  return out;
}

// The local run (root here, as in CI) through TestStack: supervisorctl lists
// every program running, and scripts/ctl finds the socket by itself.
TEST(SupervisorctlTest, StatusListsEveryProgramRunning) {
  std::string error;
  auto stack = TestStack::Start({}, &error);
  ASSERT_NE(stack, nullptr) << error;
  PollAllRunning([&](std::string* out) { return stack->Supervisorctl("status", out); }, 2);
  PollAllRunning(
      [&](std::string* out) {
        return RunCommand("env RUN_DIR=" + stack->run_dir() + " " FOLIO_SOURCE_DIR "/scripts/ctl status", out);
      },
      2);
}

// ---------------------------------------------------------------- the image, run

// The runtime stage laid out in a temp dir and its CMD run as kTestUser, on
// free loopback ports with a short drain. Started once for the suite.
class ImageRunTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string error;
    ASSERT_TRUE(TestUser(kTestUser, &user_, &error)) << error;
    ASSERT_NE(user_.uid, 0u) << "the image must be tried as a non-root user";
    ASSERT_TRUE(Dockerfile::Parse(ReadSource("Dockerfile"), &dockerfile_, &error)) << error;
    layout_ = ImageLayout::Create(dockerfile_, user_, &error).release();
    ASSERT_NE(layout_, nullptr) << error;
    for (const auto& p : layout_->programs_missing())
      std::cout << "[ note ] " << p << " is not built in " FOLIO_BINARY_DIR "; the layout runs without it\n";
    stack_ = ImageStack::Start(*layout_, user_, Overrides(), &error).release();
    ASSERT_NE(stack_, nullptr) << error;
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
    delete layout_;
    layout_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(stack_, nullptr); }

  static std::map<std::string, std::string> Overrides() {
    return {{"PORT", std::to_string(FreePort())},
            {"TLS_PORT", std::to_string(FreePort())},
            {"LISTEN_ADDR", "127.0.0.1"},
            {"DRAIN_TIMEOUT_S", "3"}};
  }
  // `docker exec` into the running instance: the image's ENV, its WORKDIR, its user.
  static int Exec(const std::vector<std::string>& argv, std::string* out) {
    return RunAsUser(user_, layout_->root(), layout_->Env(), argv, out);
  }
  static std::map<std::string, std::string> Environ(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/environ");
    std::map<std::string, std::string> env;
    std::string entry;
    while (std::getline(f, entry, '\0')) {
      size_t eq = entry.find('=');
      if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    return env;
  }

  static UserIds user_;
  static Dockerfile dockerfile_;
  static ImageLayout* layout_;
  static ImageStack* stack_;
};

UserIds ImageRunTest::user_;
Dockerfile ImageRunTest::dockerfile_;
ImageLayout* ImageRunTest::layout_ = nullptr;
ImageStack* ImageRunTest::stack_ = nullptr;

TEST_F(ImageRunTest, ReadyFromTheBakedIndexWithoutIngesting) {
  HttpResponse r = stack_->Get("/ready");
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.Json()["ready"], true);
  EXPECT_EQ(stack_->StartLog().find("ingesting"), std::string::npos) << stack_->StartLog();
  EXPECT_EQ(stack_->Get("/api/health").status, 200);
}

TEST_F(ImageRunTest, SupervisordNginxAndWorkersAllRunAsTheImageUser) {
  const int expected_workers = std::stoi(stack_->env().count("WORKERS") ? stack_->env().at("WORKERS") : "2");
  // /ready answers once one worker is up; the others may still be starting.
  int nginx = 0, workers = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    nginx = workers = 0;
    std::vector<pid_t> family = stack_->Descendants();
    family.push_back(stack_->supervisord_pid());
    for (pid_t pid : family) {
      std::vector<uid_t> uids = ProcessUids(pid);
      if (uids.empty()) continue;  // exited meanwhile
      EXPECT_EQ(uids, std::vector<uid_t>(4, user_.uid)) << ProcessName(pid) << " (pid " << pid << ")";
      nginx += ProcessName(pid) == "nginx";
      workers += ProcessName(pid) == "folio-worker";
    }
    if (workers == expected_workers) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(workers, expected_workers);
  EXPECT_GE(nginx, 2) << "master and a worker";
}

TEST_F(ImageRunTest, NginxNeedsNoRootOnlyPaths) {
  std::ifstream conf(stack_->env().at("RUN_DIR") + "/nginx/nginx.conf");
  std::string line;
  while (std::getline(conf, line)) EXPECT_FALSE(std::regex_search(line, std::regex(R"(^\s*user\s)"))) << line;
  std::ifstream errors(stack_->env().at("LOG_DIR") + "/nginx-error.log");
  std::stringstream ss;
  ss << errors.rdbuf() << stack_->StartLog();
  for (const char* bad : {"[emerg]", "[alert]", "Permission denied"})
    EXPECT_EQ(ss.str().find(bad), std::string::npos) << bad << " in\n" << ss.str();
}

TEST_F(ImageRunTest, StateBelongsToTheImageUserAndCodeDoesNot) {
  for (const char* var : {"DATA_DIR", "LOG_DIR", "RUN_DIR"})
    for (const auto& entry : fs::recursive_directory_iterator(stack_->env().at(var))) {
      struct stat st {};
      ASSERT_EQ(lstat(entry.path().c_str(), &st), 0);
      EXPECT_EQ(st.st_uid, user_.uid) << entry.path();
    }
  if (getuid() != 0) GTEST_SKIP() << "not root: every file is the test user's";
  for (const char* code : {"bin/folio-worker", "scripts/start", "supervisord.conf", "nginx/nginx.conf"}) {
    struct stat st {};
    ASSERT_EQ(stat((layout_->root() + "/" + code).c_str(), &st), 0) << code;
    EXPECT_EQ(st.st_uid, 0u) << code << " must not be writable by the image user";
  }
}

TEST_F(ImageRunTest, OperatorRunsSupervisorctlWithoutNamingTheSocket) {
  // `docker exec <container> supervisorctl status`: WORKDIR, the image's ENV,
  // no -c and no socket path (supervisorctl finds supervisord.conf).
  int workers = std::stoi(stack_->env().count("WORKERS") ? stack_->env().at("WORKERS") : "2");
  PollAllRunning([](std::string* out) { return Exec({"/usr/bin/supervisorctl", "status"}, out); }, workers);
  PollAllRunning([](std::string* out) { return Exec({layout_->root() + "/scripts/ctl", "status"}, out); }, workers);
  std::string out;
  EXPECT_EQ(Exec({"/usr/bin/supervisorctl", "tail", "nginx"}, &out), 0) << out;
}

TEST_F(ImageRunTest, APrivilegedPortIsRefusedBeforeAnythingStarts) {
  std::ifstream f("/proc/sys/net/ipv4/ip_unprivileged_port_start");
  int first_port = 1024;
  f >> first_port;
  if (first_port == 0) GTEST_SKIP() << "every port is unprivileged here";
  std::map<std::string, std::string> env = layout_->Env();
  env["PORT"] = "80";
  std::string out;
  EXPECT_EQ(RunAsUser(user_, layout_->root(), env, layout_->Command(), &out), 1) << out;
  EXPECT_NE(out.find("port 80 needs root"), std::string::npos) << out;
}

TEST_F(ImageRunTest, SupervisordWaitsLongerThanTheDrain) {
  std::map<std::string, std::string> env = Environ(stack_->supervisord_pid());
  ASSERT_TRUE(env.count("STOP_WAIT_S") && env.count("DRAIN_TIMEOUT_S"));
  EXPECT_GT(std::stoi(env["STOP_WAIT_S"]), std::stoi(env["DRAIN_TIMEOUT_S"]));
}

// The image's STOPSIGNAL stops everything in order and supervisord exits 0.
// Its own layout and instance: the suite's keeps running for the others.
TEST(ImageStopTest, StopSignalDrainsAndEndsEveryProcess) {
  std::string error;
  UserIds user;
  ASSERT_TRUE(TestUser(kTestUser, &user, &error)) << error;
  Dockerfile dockerfile;
  ASSERT_TRUE(Dockerfile::Parse(ReadSource("Dockerfile"), &dockerfile, &error)) << error;
  auto layout = ImageLayout::Create(dockerfile, user, &error);
  ASSERT_NE(layout, nullptr) << error;
  std::map<std::string, std::string> overrides = {{"PORT", std::to_string(FreePort())},
                                                  {"TLS_PORT", std::to_string(FreePort())},
                                                  {"LISTEN_ADDR", "127.0.0.1"},
                                                  {"DRAIN_TIMEOUT_S", "3"}};
  auto stack = ImageStack::Start(*layout, user, overrides, &error);
  ASSERT_NE(stack, nullptr) << error;
  std::vector<pid_t> family = stack->Descendants();
  ASSERT_FALSE(family.empty());
  const DockerInstruction* stop = dockerfile.stages.back().Last("STOPSIGNAL");
  ASSERT_TRUE(stop && stop->args == "SIGTERM");  // what Terminate() sends
  EXPECT_EQ(stack->Terminate(seconds(3 + 5 + 5)), 0) << stack->StartLog();
  for (pid_t pid : family) EXPECT_FALSE(ProcessAlive(pid)) << ProcessName(pid) << " " << pid;
  std::ifstream log(layout->Env()["LOG_DIR"] + "/supervisord.log");
  std::stringstream ss;
  ss << log.rdbuf();
  for (const char* stopped : {"stopped: nginx (exit status 0)", "stopped: folio-worker-0 (exit status 0)"})
    EXPECT_NE(ss.str().find(stopped), std::string::npos) << stopped << " in\n" << ss.str();
}

}  // namespace
}  // namespace folio::test
