// src/server/form.cc - see form.h.
#include "server/form.h"

#include "server/api_error.h"

namespace cosyvoice::server {
namespace {

ApiError TooLarge(const std::string &param, const std::string &message) {
  ApiError e = BadRequest(param, message, "too_large");
  e.status = 413;
  return e;
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Decode(const std::string &s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && Hex(s[i + 1]) >= 0 && Hex(s[i + 2]) >= 0) {
      out += static_cast<char>(Hex(s[i + 1]) * 16 + Hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> ParseUrlEncoded(const std::string &body) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos <= body.size()) {
    size_t amp = body.find('&', pos);
    if (amp == std::string::npos) amp = body.size();
    const std::string pair = body.substr(pos, amp - pos);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      out[Decode(pair.substr(0, eq))] = eq == std::string::npos ? "" : Decode(pair.substr(eq + 1));
    }
    pos = amp + 1;
  }
  return out;
}

Form ReadForm(const httplib::Request &req, const httplib::ContentReader &reader, const FormLimits &limits) {
  Form form;
  if (req.is_multipart_form_data()) {
    size_t parts = 0;
    std::string current_name;
    bool current_is_file = false;
    ApiError failure;
    bool failed = false;
    const bool ok = reader(
        [&](const httplib::MultipartFormData &part) {
          if (++parts > limits.max_parts) {
            failure = TooLarge("", "the form has more than " + std::to_string(limits.max_parts) + " parts");
            failed = true;
            return false;
          }
          current_name = part.name;
          current_is_file = !part.filename.empty();
          if (current_is_file) {
            form.files[part.name] = FormFile{part.filename, part.content_type, {}};
          } else {
            form.fields[part.name].clear();
          }
          return true;
        },
        [&](const char *data, size_t n) {
          if (current_is_file) {
            form.files[current_name].data.append(data, n);
            return true;
          }
          std::string &field = form.fields[current_name];
          if (field.size() + n > limits.max_field_bytes) {
            failure = TooLarge(current_name, "form field '" + current_name + "' is longer than " +
                                                 std::to_string(limits.max_field_bytes) + " bytes");
            failed = true;
            return false;
          }
          field.append(data, n);
          return true;
        });
    if (failed) throw ApiException(failure);
    if (!ok)
      throw ApiException(
          BadRequest("", "the multipart body could not be read (malformed or cut short)", "bad_form"));
    return form;
  }
  const std::string type = req.get_header_value("Content-Type");
  if (type.rfind("application/x-www-form-urlencoded", 0) == 0 ||
      (type.empty() && !req.has_header("Content-Length"))) {
    std::string body;
    const bool ok = reader([&](const char *data, size_t n) {
      body.append(data, n);
      return true;
    });
    if (!ok) throw ApiException(BadRequest("", "the request body could not be read", "bad_form"));
    form.fields = ParseUrlEncoded(body);
    if (form.fields.size() > limits.max_parts)
      throw ApiException(
          TooLarge("", "the form has more than " + std::to_string(limits.max_parts) + " fields"));
    for (const auto &[k, v] : form.fields)
      if (v.size() > limits.max_field_bytes)
        throw ApiException(TooLarge(
            k, "form field '" + k + "' is longer than " + std::to_string(limits.max_field_bytes) + " bytes"));
    return form;
  }
  ApiError e = BadRequest(
      "", "expected a multipart/form-data or application/x-www-form-urlencoded body, got '" + type + "'",
      "unsupported_media_type");
  e.status = 415;
  throw ApiException(e);
}

}  // namespace cosyvoice::server
