// src/server/router.cc - see router.h.
#include "server/router.h"

#include <algorithm>
#include <atomic>
#include <cstdio>

#include "common/log.h"
#include "cosyvoice/error.h"

namespace cosyvoice::server {
namespace {

std::string NextRequestId() {
  static std::atomic<uint64_t> counter{0};
  return "req-" + std::to_string(++counter);
}

// A client-chosen id is echoed if it is short and plain; otherwise we assign one.
std::string RequestId(const httplib::Request &req) {
  const std::string given = req.get_header_value("X-Request-Id");
  if (given.empty() || given.size() > 64) return NextRequestId();
  for (char c : given)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      return NextRequestId();
  return given;
}

// Compares without an early exit, so the time taken does not reveal how much of a key matched.
bool SameKey(const std::string &given, const std::string &key) {
  unsigned diff = given.size() != key.size() ? 1u : 0u;
  for (size_t i = 0; i < key.size(); ++i)
    diff |= static_cast<unsigned>(static_cast<unsigned char>(key[i]) ^
                                  static_cast<unsigned char>(i < given.size() ? given[i] : 0));
  return diff == 0;
}

const char *MethodName(Router::Method m) {
  switch (m) {
    case Router::Method::kGet: return "GET";
    case Router::Method::kPost: return "POST";
    case Router::Method::kDelete: return "DELETE";
    case Router::Method::kPut: return "PUT";
    case Router::Method::kPatch: return "PATCH";
  }
  return "?";
}

std::string Seconds(double s) {
  if (s < 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2fs", s);
  return buf;
}

}  // namespace

void Call::Fail(const ApiError &error) {
  status = error.status;
  res.status = error.status;
  res.set_content(error.ToJson(), "application/json");
}

void Call::Json(const std::string &json, int status_code) {
  status = status_code;
  res.status = status_code;
  res.set_content(json, "application/json");
}

Router::Router(httplib::Server &server, Metrics &metrics, std::vector<std::string> api_keys,
               bool log_requests)
    : server_(server), metrics_(metrics), api_keys_(std::move(api_keys)), log_requests_(log_requests) {}

bool Router::Authorized(const httplib::Request &req) const {
  if (api_keys_.empty()) return true;
  std::string given = req.get_header_value("Authorization");
  const std::string bearer = "Bearer ";
  if (given.rfind(bearer, 0) == 0) {
    given = given.substr(bearer.size());
  } else {
    given = req.get_header_value("X-API-Key");
  }
  bool ok = false;
  for (const auto &key : api_keys_) ok |= SameKey(given, key);
  return ok;
}

void Router::Dispatch(const CallPtr &call, Access access, const Handler &handler) {
  call->res.set_header("X-Request-Id", call->id);
  try {
    if (access == Access::kKey && !Authorized(call->req)) {
      ApiError e;
      e.status = 401;
      e.type = "authentication_error";
      e.code = "invalid_api_key";
      e.message = "missing or wrong API key: send 'Authorization: Bearer KEY'";
      call->res.set_header("WWW-Authenticate", "Bearer");
      call->Fail(e);
    } else {
      handler(call);
    }
  } catch (const ApiException &e) {
    call->deferred = false;
    call->Fail(e.error());
  } catch (const Error &e) {
    call->deferred = false;
    call->Fail(FromEngineError(e));
  } catch (const std::exception &e) {
    call->deferred = false;
    ApiError err;
    err.message = std::string("internal error: ") + e.what();
    call->Fail(err);
  }
  if (!call->deferred) Finish(*call);
}

void Router::Add(Method method, const std::string &pattern, const std::string &label, Access access,
                 Handler handler, bool body_reader) {
  auto known = std::find_if(registered_.begin(), registered_.end(),
                            [&](const Registered &r) { return r.pattern == pattern; });
  if (known == registered_.end())
    known = registered_.insert(registered_.end(), Registered{pattern, label, {}});
  known->methods.push_back(method);
  AddToServer(method, pattern, label, access, std::move(handler), body_reader);
}

void Router::AddToServer(Method method, const std::string &pattern, const std::string &label, Access access,
                         Handler handler, bool body_reader) {
  auto wrap = [this, label, access, handler](const httplib::Request &req, httplib::Response &res,
                                             const httplib::ContentReader *reader) {
    auto call = std::make_shared<Call>(req, res);
    call->reader = reader;
    call->id = RequestId(req);
    call->route = label;
    Dispatch(call, access, handler);
  };
  if (body_reader) {
    auto with_reader = [wrap](const httplib::Request &req, httplib::Response &res,
                              const httplib::ContentReader &reader) { wrap(req, res, &reader); };
    switch (method) {
      case Method::kPost: server_.Post(pattern, with_reader); return;
      case Method::kDelete: server_.Delete(pattern, with_reader); return;
      case Method::kPut: server_.Put(pattern, with_reader); return;
      case Method::kPatch: server_.Patch(pattern, with_reader); return;
      case Method::kGet: break;  // a GET has no body to read
    }
  }
  auto plain = [wrap](const httplib::Request &req, httplib::Response &res) { wrap(req, res, nullptr); };
  switch (method) {
    case Method::kGet: server_.Get(pattern, plain); return;
    case Method::kPost: server_.Post(pattern, plain); return;
    case Method::kDelete: server_.Delete(pattern, plain); return;
    case Method::kPut: server_.Put(pattern, plain); return;
    case Method::kPatch: server_.Patch(pattern, plain); return;
  }
}

void Router::AddMethodNotAllowed() {
  for (const Registered &r : registered_) {
    std::string allow;
    for (Method m : r.methods) {
      if (!allow.empty()) allow += ", ";
      allow += MethodName(m);
      if (m == Method::kGet) allow += ", HEAD";  // cpp-httplib answers HEAD from the GET handler
    }
    auto refuse = [allow, path = r.label](const CallPtr &call) {
      call->res.set_header("Allow", allow);
      throw ApiException(
          MethodNotAllowed(call->req.method + " is not accepted on " + path + ": use " + allow));
    };
    auto has = [&r](Method m) { return std::find(r.methods.begin(), r.methods.end(), m) != r.methods.end(); };
    // Public: the answer reveals only which methods a documented route takes. No body is read.
    for (Method m : {Method::kGet, Method::kPost, Method::kDelete, Method::kPut, Method::kPatch})
      if (!has(m)) AddToServer(m, r.pattern, r.label, Access::kPublic, refuse);
  }
}

void Router::Finish(const Call &call) {
  metrics_.CountRequest(call.route, call.status);
  if (!log_requests_) return;
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - call.start).count();
  std::string line =
      call.id + " " + call.req.method + " " + call.req.path + " " + std::to_string(call.status);
  if (call.audio_seconds >= 0)
    line += " audio=" + Seconds(call.audio_seconds) + " first_audio=" + Seconds(call.first_audio_seconds);
  line += " total=" + Seconds(total);
  COSY_LOG(kInfo) << line;
}

}  // namespace cosyvoice::server
