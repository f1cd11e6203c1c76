// lifecycle_test.cc: worker/lifecycle.cc over a fake Exchange and a route
// table of the test's own — what happens when a handler, a slow route's
// later part or a stream producer throws (a 500, or an error event once a
// stream's head is out; the process goes on), an answer held until its
// session turn is durable (sent exactly once, by whoever reports the
// write), and a full chat queue (503 busy at once). Every request is
// finished exactly once and leaves the in-flight count as it found it.
#include "lifecycle.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "sse.h"
#include "test_app.h"

namespace folio {
namespace {

using namespace std::chrono_literals;

// What a fake connection saw; shared with the test, which outlives it.
struct Wire {
  std::mutex mu;
  std::condition_variable cv;
  std::string out;
  int finished = 0;

  bool WaitFinished(std::chrono::milliseconds deadline) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, deadline, [&] { return finished > 0; });
  }
  std::string Out() {
    std::lock_guard<std::mutex> lock(mu);
    return out;
  }
  int Finished() {
    std::lock_guard<std::mutex> lock(mu);
    return finished;
  }
};

class FakeExchange : public Exchange {
 public:
  FakeExchange(Request request, std::shared_ptr<Wire> wire) : request_(std::move(request)), wire_(std::move(wire)) {}
  Request Read() override { return request_; }
  bool Write(std::string_view data) override {
    std::lock_guard<std::mutex> lock(wire_->mu);
    wire_->out.append(data);
    return true;
  }
  bool Flush() override { return true; }
  void Finish(const Request&) override {
    std::lock_guard<std::mutex> lock(wire_->mu);
    ++wire_->finished;
    wire_->cv.notify_all();
  }

 private:
  Request request_;
  std::shared_ptr<Wire> wire_;
};

RouteSpec Fast(std::string method, std::string pattern, Handler handler) {
  RouteSpec r;
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.fast = std::move(handler);
  r.access = AccessClass::kOpen;
  r.limited = false;
  return r;
}

RouteSpec Slow(std::string pattern, SlowHandler handler) {
  RouteSpec r;
  r.method = "POST";
  r.pattern = std::move(pattern);
  r.slow = std::move(handler);
  r.access = AccessClass::kOpen;
  r.limited = false;
  return r;
}

Response Json(std::string body) {
  Response r;
  r.body = std::move(body);
  return r;
}

// One latch a slow route's later part waits on, so the test decides when
// a chat thread is free again.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  bool entered = false;
  void Enter() {
    std::unique_lock<std::mutex> lock(mu);
    entered = true;
    cv.notify_all();
    cv.wait_for(lock, 10s, [&] { return open; });
  }
  bool WaitEntered() {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, 10s, [&] { return entered; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
    cv.notify_all();
  }
};

class RequestLifecycleTest : public ::testing::Test {
 protected:
  RequestLifecycleTest() : pool_(1, 0) {
    routes_ = {
        Fast("GET", "/throws", [](const Request&, App&) -> Response { throw std::runtime_error("boom"); }),
        Fast("GET", "/throws-anything", [](const Request&, App&) -> Response { throw 42; }),
        Fast("GET", "/stream-throws",
             [](const Request&, App&) {
               Response r;
               r.content_type = "text/event-stream";
               r.stream = [](StreamWriter& out) {
                 out.Write(SseEvent("delta", {{"text", "Tollgate is"}}));
                 throw std::runtime_error("a producer failed mid-stream");
               };
               return r;
             }),
        Fast("GET", "/held",
             [this](const Request&, App&) {
               Response r = Json(R"({"response":"held")");
               r.hold_until = [this](Response::Send send) {
                 std::lock_guard<std::mutex> lock(held_mu_);
                 held_send_ = std::move(send);
               };
               return r;
             }),
        Slow("/step-throws", [](const Request&, App&) -> Step { throw std::runtime_error("step"); }),
        Slow("/later-throws",
             [](const Request&, App&) {
               return Step{std::nullopt, []() -> Response { throw std::runtime_error("later"); }};
             }),
        Slow("/later",
             [this](const Request&, App&) {
               return Step{std::nullopt, [this] {
                             gate_.Enter();
                             return Json(R"({"response":"late"})");
                           }};
             }),
    };
    lifecycle_ = std::make_unique<Lifecycle>(app_.app(), pool_, routes_);
  }
  ~RequestLifecycleTest() override {
    gate_.Open();
    pool_.Stop(5s);
  }

  std::shared_ptr<Wire> Serve(const std::string& method, const std::string& path) {
    Request request;
    request.method = method;
    request.path = path;
    request.remote_addr = "127.0.0.1";
    request.request_id = "lifecycle-test";
    auto wire = std::make_shared<Wire>();
    lifecycle_->Serve(std::make_unique<FakeExchange>(std::move(request), wire));
    return wire;
  }

  static void ExpectInternalError(const std::string& out) {
    EXPECT_EQ(out.rfind("Status: 500", 0), 0u) << out;
    const std::string body = out.substr(out.find("\r\n\r\n") + 4);
    nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << out;
    EXPECT_EQ(j["error"]["code"], "internal");
    EXPECT_EQ(j["request_id"], "lifecycle-test");
  }

  test::TestApp app_;
  SlowPool pool_;
  std::vector<RouteSpec> routes_;
  std::unique_ptr<Lifecycle> lifecycle_;
  Gate gate_;
  std::mutex held_mu_;
  Response::Send held_send_;
};

TEST_F(RequestLifecycleTest, AHandlerThatThrowsIsAnswered500) {
  for (const char* path : {"/throws", "/throws-anything"}) {
    std::shared_ptr<Wire> wire = Serve("GET", path);
    EXPECT_EQ(wire->Finished(), 1) << path;
    ExpectInternalError(wire->Out());
  }
  EXPECT_EQ(lifecycle_->in_flight(), 0);
}

TEST_F(RequestLifecycleTest, AStreamProducerThatThrowsEndsTheStreamWithAnErrorEvent) {
  std::shared_ptr<Wire> wire = Serve("GET", "/stream-throws");
  const std::string out = wire->Out();
  EXPECT_EQ(wire->Finished(), 1);
  EXPECT_EQ(out.rfind("Status: 200", 0), 0u) << out;
  const size_t delta = out.find("event: delta");
  const size_t error = out.find("event: error");
  ASSERT_NE(delta, std::string::npos) << out;
  ASSERT_NE(error, std::string::npos) << out;
  EXPECT_LT(delta, error);
  EXPECT_NE(out.find(R"("code":"internal")", error), std::string::npos) << out;
  EXPECT_EQ(out.find("a producer failed"), std::string::npos) << "the exception's text is for the log only";
  EXPECT_EQ(lifecycle_->in_flight(), 0);
}

TEST_F(RequestLifecycleTest, ASlowRouteThatThrowsIsAnswered500WhereverItRuns) {
  std::shared_ptr<Wire> now = Serve("POST", "/step-throws");  // on this (accept) thread
  EXPECT_EQ(now->Finished(), 1);
  ExpectInternalError(now->Out());

  std::shared_ptr<Wire> later = Serve("POST", "/later-throws");  // on a chat thread
  ASSERT_TRUE(later->WaitFinished(10s));
  ExpectInternalError(later->Out());
  EXPECT_EQ(later->Finished(), 1);
}

TEST_F(RequestLifecycleTest, AHeldAnswerIsSentOnceItsWriteIsReported) {
  std::shared_ptr<Wire> wire = Serve("GET", "/held");
  EXPECT_EQ(wire->Finished(), 0);
  EXPECT_TRUE(wire->Out().empty()) << "nothing leaves before the write is durable";
  EXPECT_EQ(lifecycle_->held(), 1);
  EXPECT_EQ(lifecycle_->in_flight(), 1);

  Response::Send send;
  {
    std::lock_guard<std::mutex> lock(held_mu_);
    send = std::move(held_send_);
  }
  ASSERT_TRUE(send);
  std::thread committer(send, "}");  // the group-commit thread, in service, closing the body
  committer.join();
  EXPECT_EQ(wire->Finished(), 1);
  EXPECT_NE(wire->Out().find(R"({"response":"held"})"), std::string::npos) << wire->Out();
  EXPECT_EQ(lifecycle_->held(), 0);
  EXPECT_EQ(lifecycle_->in_flight(), 0);
}

TEST_F(RequestLifecycleTest, AFullChatQueueIsAnswered503AtOnce) {
  std::shared_ptr<Wire> first = Serve("POST", "/later");  // takes the only chat thread
  ASSERT_TRUE(gate_.WaitEntered());
  std::shared_ptr<Wire> second = Serve("POST", "/later");  // no thread, no queue
  EXPECT_EQ(second->Finished(), 1);
  const std::string out = second->Out();
  EXPECT_EQ(out.rfind("Status: 503", 0), 0u) << out;
  EXPECT_NE(out.find("Retry-After: 1"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("code":"busy")"), std::string::npos) << out;

  gate_.Open();
  ASSERT_TRUE(first->WaitFinished(10s));
  EXPECT_NE(first->Out().find(R"({"response":"late"})"), std::string::npos);
  EXPECT_EQ(first->Finished(), 1);
}

TEST_F(RequestLifecycleTest, ARequestNoRouteTakesIsAnsweredByTheTable) {
  std::shared_ptr<Wire> missing = Serve("GET", "/nowhere");
  EXPECT_EQ(missing->Out().rfind("Status: 404", 0), 0u) << missing->Out();
  std::shared_ptr<Wire> wrong = Serve("DELETE", "/held");
  EXPECT_EQ(wrong->Out().rfind("Status: 405", 0), 0u) << wrong->Out();
  EXPECT_NE(wrong->Out().find("Allow: GET"), std::string::npos) << wrong->Out();
  EXPECT_EQ(lifecycle_->in_flight(), 0);
}

}  // namespace
}  // namespace folio
