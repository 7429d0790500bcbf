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

namespace {

ApiError Make(int status, const std::string &type, const std::string &code, const std::string &message,
              const std::string &param = "") {
  ApiError e;
  e.status = status;
  e.type = type;
  e.code = code;
  e.message = message;
  e.param = param;
  return e;
}

}  // namespace

ApiError BadRequest(const std::string &param, const std::string &message, const std::string &code) {
  return Make(400, "invalid_request_error", code, message, param);
}

ApiError NotFound(const std::string &param, const std::string &message, const std::string &code) {
  return Make(404, "invalid_request_error", code, message, param);
}

ApiError Conflict(const std::string &param, const std::string &message, const std::string &code) {
  return Make(409, "invalid_request_error", code, message, param);
}

ApiError MethodNotAllowed(const std::string &message, const std::string &code) {
  return Make(405, "invalid_request_error", code, message);
}

ApiError NameTaken(const std::string &name) {
  return Conflict("name", "a voice named '" + name + "' already exists; delete it first or pick another name",
                  "name_taken");
}

ApiError Disconnected() {
  return Make(499, "cancelled", "client_disconnected", "the client closed the connection");
}

ApiError QueueFull(int retry_after) {
  return Make(429, "rate_limit_error", "queue_full",
              "the server is busy (all workers and the queue are taken); retry after " +
                  std::to_string(retry_after) + " s");
}

ApiError Timeout() {
  return Make(504, "timeout_error", "deadline_exceeded",
              "the request ran past the server's deadline (--timeout) and was stopped");
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
