// main.cc: the folio-worker process. Under supervisord's [fcgi-program] the
// listening socket arrives as fd 0; `--socket PATH` opens one instead (for
// running by hand). `--check-config` validates the environment and prints
// the effective configuration, then exits (scripts/start runs it first so a
// typo stops start-up with one line per problem instead of a crash loop).
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <iostream>

#include "fcgi_io.h"
#include "log.h"
#include "router.h"
#include "server.h"

namespace folio {
namespace {

void OnUsr1(int) {}  // exists only so SIGUSR1 interrupts accept() (see server.cc)

// Signals: SIGUSR1 wakes accept loops; SIGTERM/SIGINT/SIGQUIT are blocked in
// every thread and taken by sigwait() in main; SIGPIPE is ignored so a gone
// peer is an error value from write(), not a dead process.
void SetUpSignals(sigset_t* stop_signals) {
  struct sigaction sa {};
  sa.sa_handler = OnUsr1;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART
  sigaction(SIGUSR1, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  sigemptyset(stop_signals);
  sigaddset(stop_signals, SIGTERM);
  sigaddset(stop_signals, SIGINT);
  sigaddset(stop_signals, SIGQUIT);
  pthread_sigmask(SIG_BLOCK, stop_signals, nullptr);
}

// Start-up checks; the first failure becomes /ready's reason.
Status CheckStartup(const Config& config) {
  std::error_code ec;
  const std::string& data_dir = config.Str("DATA_DIR");
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return Unavailable("data_dir", "cannot create DATA_DIR " + data_dir + ": " + ec.message());
  if (access(data_dir.c_str(), W_OK | X_OK) != 0)
    return Unavailable("data_dir", "DATA_DIR " + data_dir + " is not writable");
  return Status::Ok();
}

int CheckConfigAndExit() {
  std::vector<std::string> problems;
  Result<Config> config = Config::Load(&problems);
  for (const auto& p : problems) std::cerr << "config: " << p << "\n";
  if (!config.ok()) return 1;
  std::cout << nlohmann::json(config->Masked()).dump() << "\n";
  return 0;
}

// Prints `export NAME='value'` for every non-secret variable (defaults
// filled in) so scripts/start renders templates from the same table.
int ExportEnvAndExit() {
  std::vector<std::string> problems;
  Result<Config> config = Config::Load(&problems);
  for (const auto& p : problems) std::cerr << "config: " << p << "\n";
  if (!config.ok()) return 1;
  for (const auto& var : ConfigVars()) {
    if (var.kind == VarKind::kSecret) continue;
    std::string quoted;
    for (char c : config->Str(var.name)) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    std::cout << "export " << var.name << "='" << quoted << "'\n";
  }
  return 0;
}

int Main(int argc, char** argv) {
  std::string socket_path;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--check-config") == 0) return CheckConfigAndExit();
    if (std::strcmp(argv[i], "--export-env") == 0) return ExportEnvAndExit();
    if (std::strcmp(argv[i], "--socket") == 0 && i + 1 < argc) socket_path = argv[++i];
  }
  auto start = std::chrono::steady_clock::now();
  prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive supervisord

  std::vector<std::string> problems;
  Result<Config> loaded = Config::Load(&problems);
  std::string config_error;
  for (const auto& p : problems) config_error += (config_error.empty() ? "" : "; ") + p;
  // A bad configuration still serves /ready (503 with the reason) on the
  // defaults, rather than crash-looping under supervisord.
  App app(loaded.ok() ? std::move(loaded.value()) : std::move(Config::Load(&problems, [](const char*) {
                                                      return static_cast<const char*>(nullptr);
                                                    }).value()));
  InitLogging(app.config.Str("LOG_LEVEL"));
  LogInfo("worker_start", {{"version", FOLIO_VERSION}, {"config", app.config.Masked()}});

  sigset_t stop_signals;
  SetUpSignals(&stop_signals);
  if (FCGX_Init() != 0) {
    LogError("fcgx_init_failed");
    return 1;
  }
  int listen_fd = 0;
  if (!socket_path.empty()) {
    listen_fd = FCGX_OpenSocket(socket_path.c_str(), 128);
    if (listen_fd < 0) {
      LogError("listen_failed", {{"socket", socket_path}});
      return 1;
    }
  }

  Router router = MakeRouter();
  Server server(app, router);
  server.Start(listen_fd, static_cast<int>(app.config.Int("WORKER_THREADS")));

  Status startup = config_error.empty() ? CheckStartup(app.config)
                                        : Unavailable("invalid_config", "invalid configuration: " + config_error);
  double startup_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (startup.ok()) {
    app.readiness.SetReady();
    LogInfo("worker_ready", {{"startup_ms", startup_ms}});
  } else {
    app.readiness.SetNotReady(startup.message());
    LogError("worker_not_ready", {{"reason", startup.message()}, {"startup_ms", startup_ms}});
  }

  int sig = 0;
  sigwait(&stop_signals, &sig);
  long drain_s = app.config.Int("DRAIN_TIMEOUT_S");
  LogInfo("worker_stopping", {{"signal", strsignal(sig)}, {"in_flight", server.in_flight()}, {"drain_s", drain_s}});
  bool drained = server.Stop(std::chrono::seconds(drain_s));
  LogInfo("worker_stopped", {{"drained", drained}});
  std::cout.flush();
  _exit(0);  // threads that did not drain die here; nothing else to release
}

}  // namespace
}  // namespace folio

int main(int argc, char** argv) { return folio::Main(argc, argv); }
