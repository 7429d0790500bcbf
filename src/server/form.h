// src/server/form.h - reading multipart/form-data and x-www-form-urlencoded bodies with limits.
#pragma once

#include <httplib.h>

#include <map>
#include <string>

namespace cosyvoice::server {

struct FormFile {
  std::string filename;
  std::string content_type;
  std::string data;
};

struct Form {
  std::map<std::string, std::string> fields;
  std::map<std::string, FormFile> files;
  const FormFile *File(const std::string &name) const {
    auto it = files.find(name);
    return it == files.end() || it->second.data.empty() ? nullptr : &it->second;
  }
};

struct FormLimits {
  size_t max_parts = 16;
  size_t max_field_bytes = 256 << 10;  // a text field (4096 characters of 4-byte UTF-8 fit easily)
};

// Reads the request body through `reader`. Throws ApiException: 413 too many parts or a field too
// long, 415 for another content type, 400 for a malformed body. (The whole body is already bounded
// by the server's payload limit, answered 413 by cpp-httplib.)
Form ReadForm(const httplib::Request &req, const httplib::ContentReader &reader, const FormLimits &limits);

// Decodes an application/x-www-form-urlencoded string.
std::map<std::string, std::string> ParseUrlEncoded(const std::string &body);

}  // namespace cosyvoice::server
