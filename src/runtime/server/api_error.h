// A request the server refuses, in OpenAI's error shape:
//   {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace forge::server {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string message, std::string param = "", std::string code = "", std::string type = "")
      : std::runtime_error(message),
        status_(status),
        param_(std::move(param)),
        code_(std::move(code)),
        type_(type.empty() ? default_type(status) : std::move(type)) {}

  int status() const { return status_; }
  nlohmann::json body() const {
    nlohmann::json e = {{"message", what()},
                        {"type", type_},
                        {"param", param_.empty() ? nlohmann::json(nullptr) : nlohmann::json(param_)},
                        {"code", code_.empty() ? nlohmann::json(nullptr) : nlohmann::json(code_)}};
    return {{"error", e}};
  }

  // OpenAI's names for each class of failure.
  static std::string default_type(int status) {
    if (status == 401) return "authentication_error";
    if (status == 404) return "not_found_error";
    if (status == 429 || status == 503) return "server_overloaded";
    if (status >= 500) return "server_error";
    return "invalid_request_error";
  }

 private:
  int status_;
  std::string param_, code_, type_;
};

// 400 for a field: "'temperature' must be a number between 0 and 2".
inline ApiError bad_field(const std::string& param, const std::string& message) {
  return ApiError(400, message, param, "invalid_value");
}

}  // namespace forge::server
