// src/server/router.h - routes on cpp-httplib with the server's common handling around each one:
// a request id, authentication, OpenAI-shaped errors, one log line and the request metrics.
//
// A route is one Router::Add call with its pattern, a label for metrics (the pattern, so label
// values stay bounded) and a handler; a new endpoint (e.g. text-in streaming) is one more call in
// a Register*Routes function (server.cc lists them).
#pragma once

#include <httplib.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "server/api_error.h"
#include "server/metrics.h"

namespace cosyvoice::server {

// One request being answered.
struct Call {
  const httplib::Request &req;
  httplib::Response &res;
  const httplib::ContentReader *reader = nullptr;  // routes registered with a body reader
  std::string id;                                  // X-Request-Id
  std::string route;                               // the route's label
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  // For the log line; synthesis handlers fill these in.
  double audio_seconds = -1, first_audio_seconds = -1;
  int status = 200;
  // Set by a handler whose response is streamed: the log line and metrics wait for the stream's end,
  // when the handler's provider calls Router::Finish.
  bool deferred = false;

  Call(const httplib::Request &q, httplib::Response &s) : req(q), res(s) {}
  // Answers with `error` as an OpenAI error object.
  void Fail(const ApiError &error);
  void Json(const std::string &json, int status_code = 200);
};
using CallPtr = std::shared_ptr<Call>;
using Handler = std::function<void(const CallPtr &)>;

enum class Access { kPublic, kKey };  // kKey: needs the API key when one is configured

class Router {
 public:
  Router(httplib::Server &server, Metrics &metrics, std::vector<std::string> api_keys, bool log_requests);

  enum class Method { kGet, kPost, kDelete, kPut, kPatch };
  // `body_reader`: the handler reads the body itself through Call::reader (multipart uploads), so
  // part counts and sizes are checked while reading; otherwise cpp-httplib reads it into req.body.
  void Add(Method method, const std::string &pattern, const std::string &label, Access access,
           Handler handler, bool body_reader = false);

  // A handler that only refuses `method` on `pattern` with a more specific answer than
  // AddMethodNotAllowed's (the method is not listed in the route's Allow header).
  void AddRefusal(Method method, const std::string &pattern, const std::string &label, Handler handler) {
    AddToServer(method, pattern, label, Access::kPublic, std::move(handler));
  }
  // After every Add: a request whose path matches a route but whose method has none (GET on a POST
  // route, PUT anywhere) gets 405 with an Allow header naming the route's methods, instead of
  // cpp-httplib's 404 "no such route" (RFC 9110 §15.5.6). Registered last, so real routes match first.
  void AddMethodNotAllowed();

  // Counts and logs a finished call (called by the wrapper, or by a streamed response at its end).
  void Finish(const Call &call);
  bool auth_required() const { return !api_keys_.empty(); }

 private:
  void AddToServer(Method method, const std::string &pattern, const std::string &label, Access access,
                   Handler handler, bool body_reader = false);
  void Dispatch(const CallPtr &call, Access access, const Handler &handler);
  bool Authorized(const httplib::Request &req) const;

  struct Registered {
    std::string pattern, label;
    std::vector<Method> methods;
  };
  std::vector<Registered> registered_;  // in registration order, for AddMethodNotAllowed
  httplib::Server &server_;
  Metrics &metrics_;
  std::vector<std::string> api_keys_;
  bool log_requests_;
};

}  // namespace cosyvoice::server
