// admin_sessions.cc: `folio-admin sessions list|show|delete|purge-expired`,
// over the live sessions environment through SessionStore (the worker's own
// code: the same expiry rule, record format and write transactions).
//
// Ids are bearer secrets of their users, so they are shown cut to 6
// characters unless --full-ids is given; show and delete accept such a prefix
// (at least 6 characters, the "…" may be pasted along) when it names exactly
// one active session.
#include <algorithm>

#include "admin.h"
#include "clock.h"
#include "log.h"

namespace folio::admin {

namespace {

constexpr size_t kMinPrefix = 6;
constexpr char kEllipsis[] = "\xE2\x80\xA6";

// The full id `given` names: itself when it is a whole id, else the one
// active session whose id starts with it.
Result<std::string> ResolveId(const SessionStore& sessions, std::string given, int64_t now) {
  if (given.size() >= 3 && given.compare(given.size() - 3, 3, kEllipsis) == 0) given.resize(given.size() - 3);
  if (IsValidSessionId(given)) return given;
  if (given.size() < kMinPrefix || given.size() >= 22) {
    return InvalidArgument(
        "invalid_session_id",
        "\"" + Excerpt(given, 30) + "\" is neither a session id nor a prefix of at least 6 characters");
  }
  // Keys are ordered by creation time, not by id (SessionKey): look at them all.
  Result<std::vector<SessionSummary>> all = ListAllSessions(sessions, now);
  if (!all.ok()) return all.status();
  std::vector<std::string> matches;
  for (const SessionSummary& s : *all)
    if (s.id.compare(0, given.size(), given) == 0) matches.push_back(s.id);
  if (matches.empty()) return NotFound("session_not_found", "no active session starts with " + given);
  if (matches.size() > 1) {
    return InvalidArgument("session_id_ambiguous",
                           "more than one session starts with " + given + ": give more characters");
  }
  return matches.front();
}

// Columns are counted in characters, not bytes: "…" is three bytes of UTF-8.
size_t Characters(const std::string& s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

Json SummaryJson(const SessionSummary& s, bool full_ids) {
  return Json{
      {"id", ShownId(s.id, full_ids)}, {"created", s.created}, {"updated", s.updated}, {"messages", s.messages}};
}

}  // namespace

Result<std::vector<SessionSummary>> ListAllSessions(const SessionStore& sessions, int64_t now) {
  constexpr size_t kPage = 1000;  // SessionStore::List's most per call
  std::vector<SessionSummary> all;
  for (std::string after;;) {
    Result<std::vector<SessionSummary>> page = sessions.List(kPage, after, now);
    if (!page.ok()) return page.status();
    all.insert(all.end(), page->begin(), page->end());
    if (page->size() < kPage) break;
    after = page->back().id;
  }
  std::sort(all.begin(), all.end(), [](const SessionSummary& a, const SessionSummary& b) {
    return a.updated != b.updated ? a.updated > b.updated : a.id < b.id;
  });
  return all;
}

Answer RunSessionsList(const Context& ctx, size_t limit, bool full_ids) {
  Result<OpenedSessions> opened = OpenSessions(ctx.layout);
  if (!opened.ok()) return Failure(opened.status());
  Result<std::vector<SessionSummary>> all = ListAllSessions(*opened->sessions, UnixNow());
  if (!all.ok()) return Failure(all.status());
  const size_t shown = limit == 0 ? all->size() : std::min(limit, all->size());
  Answer a;
  a.doc["total"] = all->size();
  a.doc["shown"] = shown;
  a.doc["sessions"] = Json::array();
  a.text = std::to_string(all->size()) + " active session(s)";
  if (shown < all->size()) a.text += ", the " + std::to_string(shown) + " most recently updated shown (--limit 0: all)";
  a.text += "\n";
  if (shown > 0) a.text += "ID                       CREATED               UPDATED               MESSAGES\n";
  for (size_t i = 0; i < shown; ++i) {
    const SessionSummary& s = (*all)[i];
    a.doc["sessions"].push_back(SummaryJson(s, full_ids));
    std::string id = ShownId(s.id, full_ids);
    const size_t width = Characters(id);
    a.text += id + std::string(width < 25 ? 25 - width : 1, ' ') + FormatUnix(s.created) + "  " +
              FormatUnix(s.updated) + "  " + std::to_string(s.messages) + "\n";
  }
  return a;
}

Answer RunSessionsShow(const Context& ctx, const std::string& given, bool full_ids) {
  Result<OpenedSessions> opened = OpenSessions(ctx.layout);
  if (!opened.ok()) return Failure(opened.status());
  const int64_t now = UnixNow();
  Result<std::string> id = ResolveId(*opened->sessions, given, now);
  if (!id.ok()) return Failure(id.status());
  Result<Session> session = opened->sessions->Get(*id, now);
  if (!session.ok()) return Failure(session.status());
  Answer a;
  a.doc["id"] = ShownId(*id, full_ids);
  a.doc["created"] = session->created;
  a.doc["updated"] = session->updated;
  a.doc["expires"] = session->updated + ctx.layout.sessions.ttl_s;
  a.doc["messages"] = Json::array();
  a.text = "session " + ShownId(*id, full_ids) + ": created " + FormatUnix(session->created) + ", updated " +
           FormatUnix(session->updated) + ", " + std::to_string(session->messages.size()) + " message(s)\n";
  for (const Message& m : session->messages) {
    a.doc["messages"].push_back(Json{{"role", RoleName(m.role)}, {"content", m.content}, {"timestamp", m.ts}});
    a.text += "\n[" + FormatUnix(m.ts) + "] " + std::string(RoleName(m.role)) + ":\n";
    // Indented, so a message cannot pass itself off as the next header.
    size_t at = 0;
    do {
      size_t nl = m.content.find('\n', at);
      a.text += "  " + m.content.substr(at, nl == std::string::npos ? std::string::npos : nl - at) + "\n";
      at = nl == std::string::npos ? std::string::npos : nl + 1;
    } while (at != std::string::npos);
  }
  return a;
}

Answer RunSessionsDelete(const Context& ctx, const std::string& given, bool full_ids) {
  Result<OpenedSessions> opened = OpenSessions(ctx.layout);
  if (!opened.ok()) return Failure(opened.status());
  const int64_t now = UnixNow();
  Result<std::string> id = ResolveId(*opened->sessions, given, now);
  if (!id.ok()) return Failure(id.status());
  if (folio::Status s = opened->sessions->Delete(*id, now); !s.ok()) return Failure(s);
  Answer a;
  a.doc["deleted"] = true;
  a.doc["id"] = ShownId(*id, full_ids);
  a.text = "deleted session " + ShownId(*id, full_ids) + "\n";
  return a;
}

Answer RunSessionsPurgeExpired(const Context& ctx) {
  Result<OpenedSessions> opened = OpenSessions(ctx.layout);
  if (!opened.ok()) return Failure(opened.status());
  Result<int> purged = opened->sessions->SweepExpired(UnixNow());
  if (!purged.ok()) return Failure(purged.status());
  Result<uint64_t> left = opened->sessions->Count();
  Answer a;
  a.doc["purged"] = *purged;
  if (left.ok()) a.doc["remaining"] = *left;
  a.text = "purged " + std::to_string(*purged) + " expired session(s)";
  if (left.ok()) a.text += "; " + std::to_string(*left) + " remain";
  a.text += "\n";
  return a;
}

}  // namespace folio::admin
