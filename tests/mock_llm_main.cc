// mock_llm_main.cc: the `mock-llm` binary, MockLlm as its own process for
// integration tests that run the real workers. Serves on 127.0.0.1 only.
//   mock-llm [--port N]          N = 0 (default): a free port
// Prints one JSON line {"event":"mock_llm_listening","port":N,"base_url":...}
// on stdout once accepting, then serves until SIGTERM or SIGINT.
// Scripted over HTTP: POST /_mock/script, GET /_mock/stats, POST /_mock/reset
// (JSON formats in tests/support/mock_llm.h).
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "mock_llm.h"

int main(int argc, char** argv) {
  int port = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--port" && i + 1 < argc) {
      char* end = nullptr;
      long v = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || v < 0 || v > 65535) {
        std::fprintf(stderr, "mock-llm: bad --port '%s'\n", argv[i]);
        return 2;
      }
      port = static_cast<int>(v);
    } else if (arg == "--help" || arg == "-h") {
      std::printf("usage: mock-llm [--port N]\n");
      return 0;
    } else {
      std::fprintf(stderr, "mock-llm: unknown argument '%s' (usage: mock-llm [--port N])\n", arg.c_str());
      return 2;
    }
  }
  // Block the stop signals before any thread starts, so every server thread
  // inherits the mask and only sigwait() below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  folio::test::MockLlm mock;
  folio::Status s = mock.Start(port);
  if (!s.ok()) {
    std::fprintf(stderr, "mock-llm: %s\n", s.ToString().c_str());
    return 1;
  }
  nlohmann::json ready = {{"event", "mock_llm_listening"}, {"port", mock.port()}, {"base_url", mock.base_url()}};
  std::printf("%s\n", ready.dump().c_str());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  mock.Stop();
  return 0;
}
