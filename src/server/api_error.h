// src/server/api_error.h - errors as HTTP answers, in OpenAI's error object shape:
//   {"error": {"message": "...", "type": "invalid_request_error", "param": "voice", "code":
//   "voice_not_found"}}
// (https://platform.openai.com/docs/guides/error-codes; Kokoro-FastAPI and openedai-speech answer the same).
#pragma once

#include <string>

#include "cosyvoice/error.h"

namespace cosyvoice::server {

struct ApiError {
  int status = 500;
  std::string type = "server_error";  // invalid_request_error | authentication_error | rate_limit_error | ...
  std::string code;                   // machine-readable reason, e.g. "voice_not_found"
  std::string message;                // what was wrong and what is expected
  std::string param;                  // the request field at fault, if one is

  std::string ToJson() const;
};

// 400 invalid_request_error naming `param`.
ApiError BadRequest(const std::string &param, const std::string &message,
                    const std::string &code = "invalid_value");
ApiError NotFound(const std::string &param, const std::string &message, const std::string &code);
// 409: the request conflicts with the state of what it names (a taken name, an ended session).
ApiError Conflict(const std::string &param, const std::string &message, const std::string &code);
// 405: the path exists but does not take this method (the caller sets the Allow header).
ApiError MethodNotAllowed(const std::string &message, const std::string &code = "method_not_allowed");
// 409 name_taken: a voice of that name exists (the route, the in-memory and the SQLite stores).
ApiError NameTaken(const std::string &name);
// 499: the client closed the connection (for the log and metrics; the client sees nothing).
ApiError Disconnected();
// 429 queue_full: every worker and queue slot is taken; retry after `retry_after` seconds.
ApiError QueueFull(int retry_after);

// An engine error as the client's (4xx) or the server's (5xx) fault.
ApiError FromEngineError(const Error &e);
// 504: the request ran past the server's deadline (--timeout), queueing included.
ApiError Timeout();

// Thrown by request parsing and handlers; the router turns it into the response.
class ApiException : public std::exception {
 public:
  explicit ApiException(ApiError error) : error_(std::move(error)) {}
  const char *what() const noexcept override { return error_.message.c_str(); }
  const ApiError &error() const { return error_; }

 private:
  ApiError error_;
};

}  // namespace cosyvoice::server
