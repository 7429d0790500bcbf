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
