// src/server/api_error.cc - see api_error.h.
#include "server/api_error.h"

#include <nlohmann/json.hpp>

namespace cosyvoice::server {

std::string ApiError::ToJson() const {
  nlohmann::json j;
  j["error"] = {{"message", message},
                {"type", type},
                {"param", param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param)},
                {"code", code.empty() ? nlohmann::json(nullptr) : nlohmann::json(code)}};
  // Invalid UTF-8 from a client (echoed in a message) must not make the error itself fail.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ApiError BadRequest(const std::string &param, const std::string &message, const std::string &code) {
  ApiError e;
  e.status = 400;
  e.type = "invalid_request_error";
  e.code = code;
  e.message = message;
  e.param = param;
  return e;
}

ApiError NotFound(const std::string &param, const std::string &message, const std::string &code) {
  ApiError e = BadRequest(param, message, code);
  e.status = 404;
  return e;
}

ApiError Conflict(const std::string &param, const std::string &message, const std::string &code) {
  ApiError e = BadRequest(param, message, code);
  e.status = 409;
  return e;
}

ApiError MethodNotAllowed(const std::string &message, const std::string &code) {
  ApiError e = BadRequest("", message, code);
  e.status = 405;
  return e;
}

ApiError NameTaken(const std::string &name) {
  return Conflict("name", "a voice named '" + name + "' already exists; delete it first or pick another name",
                  "name_taken");
}

ApiError Disconnected() {
  ApiError e;
  e.status = 499;
  e.type = "cancelled";
  e.code = "client_disconnected";
  e.message = "the client closed the connection";
  return e;
}

ApiError QueueFull(int retry_after) {
  ApiError e;
  e.status = 429;
  e.type = "rate_limit_error";
  e.code = "queue_full";
  e.message = "the server is busy (all workers and the queue are taken); retry after " +
              std::to_string(retry_after) + " s";
  return e;
}

ApiError Timeout() {
  ApiError e;
  e.status = 504;
  e.type = "timeout_error";
  e.code = "deadline_exceeded";
  e.message = "the request ran past the server's deadline (--timeout) and was stopped";
  return e;
}

ApiError FromEngineError(const Error &e) {
  ApiError out;
  out.message = e.what();
  switch (e.code()) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kInvalidAudio:
    case ErrorCode::kUnsupported:
      out.code = e.code() == ErrorCode::kInvalidAudio  ? "invalid_audio"
                 : e.code() == ErrorCode::kUnsupported ? "unsupported"
                                                       : "invalid_value";
      out.status = 400;
      out.type = "invalid_request_error";
      break;
    case ErrorCode::kCancelled:
      out.code = "cancelled";
      out.status = 499;  // the client went away (nginx's convention); nobody reads this answer
      out.type = "cancelled";
      break;
    default:
      out.code = "engine_error";
      out.status = 500;
      out.type = "server_error";
  }
  return out;
}

}  // namespace cosyvoice::server
