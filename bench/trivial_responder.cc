// trivial_responder.cc: the ceiling reference for bench/. The simplest
// libfcgi program: one accept loop per process, a constant JSON answer for
// GET, and for POST a lookup of the body in an in-process hash map (the
// "stored answer" a cache hit would return). It does nothing else: no
// logging, no routing, no validation.
#include <fcgiapp.h>

#include <string>
#include <unordered_map>

int main() {
  FCGX_Init();
  FCGX_Request r;
  FCGX_InitRequest(&r, 0, 0);
  std::unordered_map<std::string, std::string> answers;
  for (;;) {
    if (FCGX_Accept_r(&r) < 0) break;
    const char* method = FCGX_GetParam("REQUEST_METHOD", r.envp);
    std::string body;
    if (method && method[0] == 'P') {
      char buf[16384];
      int n = FCGX_GetStr(buf, sizeof buf, r.in);
      std::string key(buf, n > 0 ? n : 0);
      auto it = answers.find(key);
      if (it == answers.end())
        it = answers.emplace(key, R"({"response":"A stored answer of typical length for a cached question.","cached":true})").first;
      body = it->second;
    } else {
      body = R"({"status":"ok","timestamp":"2026-01-01T00:00:00.000Z"})";
    }
    FCGX_FPrintF(r.out, "Status: 200 OK\r\nContent-Type: application/json\r\n\r\n");
    FCGX_PutStr(body.data(), static_cast<int>(body.size()), r.out);
    FCGX_Finish_r(&r);
  }
  return 0;
}
