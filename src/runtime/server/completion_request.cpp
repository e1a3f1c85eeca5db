#include "runtime/server/completion_request.h"

#include <cmath>
#include <cstdio>
#include <limits>

#include "runtime/server/api_error.h"

namespace forge::server {

namespace {

using Json = nlohmann::ordered_json;

std::string fmt_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// A number field, absent or null: nullopt. JSON has no NaN or infinity and
// the parser refuses numbers that overflow a double, so only ranges remain.
std::optional<double> get_number(const Json& body, const char* name, double lo, double hi) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) throw bad_field(name, std::string("'") + name + "' must be a number");
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < lo || v > hi) {
    throw bad_field(name, std::string("'") + name + "' must be between " + fmt_number(lo) + " and " + fmt_number(hi) +
                              " (got " + fmt_number(v) + ")");
  }
  return v;
}

// An integer (a float with no fraction, like 5.0, counts as one).
std::optional<int64_t> get_int(const Json& body, const char* name, int64_t lo, int64_t hi) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  const std::string range = " between " + std::to_string(lo) + " and " + std::to_string(hi);
  auto out_of_range = [&](const std::string& got) {
    return bad_field(name, std::string("'") + name + "' must be an integer" + range + " (got " + got + ")");
  };
  if (it->is_number_unsigned()) {
    const uint64_t u = it->get<uint64_t>();
    if (u > static_cast<uint64_t>(hi) || static_cast<int64_t>(u) < lo) throw out_of_range(std::to_string(u));
    return static_cast<int64_t>(u);
  }
  if (it->is_number_integer()) {
    const int64_t v = it->get<int64_t>();
    if (v < lo || v > hi) throw out_of_range(std::to_string(v));
    return v;
  }
  if (it->is_number_float()) {
    const double d = it->get<double>();
    if (std::floor(d) != d)
      throw bad_field(name, std::string("'") + name + "' must be an integer (got " + fmt_number(d) + ")");
    if (d < static_cast<double>(lo) || d > static_cast<double>(hi)) throw out_of_range(fmt_number(d));
    return static_cast<int64_t>(d);
  }
  throw bad_field(name, std::string("'") + name + "' must be an integer" + range);
}

std::optional<bool> get_bool(const Json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) throw bad_field(name, std::string("'") + name + "' must be true or false");
  return it->get<bool>();
}

std::optional<std::string> get_string(const Json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw bad_field(name, std::string("'") + name + "' must be a string");
  return it->get<std::string>();
}

int32_t parse_token_id(const Json& v, const std::string& param, int32_t n_vocab) {
  if (!v.is_number_integer()) throw bad_field(param, "'" + param + "' must hold integer token ids");
  const int64_t id = v.is_number_unsigned() ? static_cast<int64_t>(std::min<uint64_t>(v.get<uint64_t>(), INT64_MAX))
                                            : v.get<int64_t>();
  if (id < 0 || id >= n_vocab) {
    throw bad_field(param, "token id " + std::to_string(id) + " in '" + param + "' is outside the vocabulary (0.." +
                               std::to_string(n_vocab - 1) + ")");
  }
  return static_cast<int32_t>(id);
}

// A message's content: a string, null, or a list of {"type": "text", "text": ...} parts (joined).
std::string message_content(const Json& m, size_t i) {
  const std::string param = "messages[" + std::to_string(i) + "].content";
  auto it = m.find("content");
  if (it == m.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (!it->is_array()) throw bad_field(param, "'" + param + "' must be a string or a list of text parts");
  std::string text;
  for (const Json& part : *it) {
    if (!part.is_object() || part.value("type", Json()) != "text" || !part.contains("text") ||
        !part["text"].is_string()) {
      throw bad_field(param,
                      "'" + param + "' parts must be {\"type\": \"text\", \"text\": string} (only text is supported)");
    }
    text += part["text"].get<std::string>();
  }
  return text;
}

Json parse_messages(const Json& body) {
  auto it = body.find("messages");
  if (it == body.end() || it->is_null()) throw bad_field("messages", "'messages' is required");
  if (!it->is_array() || it->empty()) throw bad_field("messages", "'messages' must be a non-empty list");
  Json out = Json::array();
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& m = (*it)[i];
    const std::string param = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) throw bad_field(param, "'" + param + "' must be an object");
    auto role = m.find("role");
    if (role == m.end() || !role->is_string())
      throw bad_field(param + ".role", "'" + param + ".role' must be a string");
    const std::string r = role->get<std::string>();
    if (r != "system" && r != "user" && r != "assistant" && r != "developer" && r != "tool") {
      throw bad_field(param + ".role",
                      "'" + param + ".role' must be system, developer, user, assistant or tool (got '" + r + "')");
    }
    // Templates know "system"; OpenAI's newer "developer" is the same role.
    out.push_back({{"role", r == "developer" ? "system" : r}, {"content", message_content(m, i)}});
  }
  return out;
}

void parse_prompt(const Json& body, int32_t n_vocab, CompletionRequest& req) {
  auto it = body.find("prompt");
  if (it == body.end() || it->is_null()) throw bad_field("prompt", "'prompt' is required");
  const Json* p = &*it;
  if (p->is_array() && p->size() == 1 && ((*p)[0].is_string() || (*p)[0].is_array())) p = &(*p)[0];
  if (p->is_string()) {
    req.prompt = p->get<std::string>();
    return;
  }
  if (!p->is_array()) throw bad_field("prompt", "'prompt' must be a string or a list of token ids");
  if (p->empty()) throw bad_field("prompt", "'prompt' is an empty list");
  for (const Json& v : *p) {
    if (v.is_string() || v.is_array()) {
      throw bad_field("prompt", "only one prompt per request is supported (use 'n' for several choices)");
    }
    req.prompt_ids.push_back(parse_token_id(v, "prompt", n_vocab));
  }
}

std::vector<std::string> parse_stop(const Json& body) {
  auto it = body.find("stop");
  if (it == body.end() || it->is_null()) return {};
  std::vector<std::string> out;
  if (it->is_string()) {
    out.push_back(it->get<std::string>());
  } else if (it->is_array()) {
    if (it->size() > static_cast<size_t>(kMaxStops)) {
      throw bad_field("stop", "'stop' holds at most " + std::to_string(kMaxStops) + " strings");
    }
    for (const Json& s : *it) {
      if (!s.is_string()) throw bad_field("stop", "'stop' must be a string or a list of strings");
      out.push_back(s.get<std::string>());
    }
  } else {
    throw bad_field("stop", "'stop' must be a string or a list of strings");
  }
  for (const std::string& s : out) {
    if (s.empty()) throw bad_field("stop", "'stop' strings must not be empty");
  }
  return out;
}

std::map<int32_t, float> parse_logit_bias(const Json& body, int32_t n_vocab) {
  auto it = body.find("logit_bias");
  if (it == body.end() || it->is_null()) return {};
  if (!it->is_object()) throw bad_field("logit_bias", "'logit_bias' must map token ids (as strings) to numbers");
  std::map<int32_t, float> out;
  for (auto kv = it->begin(); kv != it->end(); ++kv) {
    const std::string& key = kv.key();
    size_t used = 0;
    long long id = -1;
    try {
      id = std::stoll(key, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != key.size() || key.empty()) {
      throw bad_field("logit_bias", "'logit_bias' key '" + key + "' is not a token id");
    }
    if (id < 0 || id >= n_vocab) {
      throw bad_field("logit_bias", "token id " + key + " in 'logit_bias' is outside the vocabulary (0.." +
                                        std::to_string(n_vocab - 1) + ")");
    }
    if (!kv.value().is_number()) throw bad_field("logit_bias", "'logit_bias' values must be numbers");
    const double b = kv.value().get<double>();
    if (!(b >= -100 && b <= 100)) {
      throw bad_field("logit_bias", "'logit_bias' values must be between -100 and 100 (got " + fmt_number(b) + ")");
    }
    // OpenAI: -100 bans the token.
    out[static_cast<int32_t>(id)] = b <= -100 ? -std::numeric_limits<float>::infinity() : static_cast<float>(b);
  }
  return out;
}

}  // namespace

std::vector<int32_t> parse_token_ids(const Json& v, const std::string& param, int32_t n_vocab) {
  if (!v.is_array()) throw bad_field(param, "'" + param + "' must be a list of token ids");
  std::vector<int32_t> out;
  out.reserve(v.size());
  for (const Json& x : v) out.push_back(parse_token_id(x, param, n_vocab));
  return out;
}

CompletionRequest parse_completion_request(const Json& body, ApiKind kind, int32_t n_vocab) {
  if (!body.is_object()) throw ApiError(400, "the request body must be a JSON object");
  CompletionRequest req;
  req.kind = kind;
  req.model = get_string(body, "model").value_or("");
  get_string(body, "user");  // accepted and ignored, but it must be a string
  if (kind == ApiKind::kChat) {
    req.messages = parse_messages(body);
  } else {
    parse_prompt(body, n_vocab, req);
  }

  constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();
  auto max_tokens = get_int(body, "max_completion_tokens", 1, kIntMax);
  if (!max_tokens) max_tokens = get_int(body, "max_tokens", 1, kIntMax);
  if (max_tokens) req.max_tokens = static_cast<int>(*max_tokens);

  runtime::SamplingParams& s = req.sampling;
  if (auto v = get_number(body, "temperature", 0, 2)) s.temperature = static_cast<float>(*v);
  if (auto v = get_number(body, "top_p", 0, 1)) s.top_p = static_cast<float>(*v);
  if (auto v = get_int(body, "top_k", 0, kIntMax)) s.top_k = static_cast<int32_t>(*v);
  if (auto v = get_number(body, "min_p", 0, 1)) s.min_p = static_cast<float>(*v);
  if (auto v = get_number(body, "typical_p", 0, 1)) s.typical_p = static_cast<float>(*v);
  if (auto v = get_number(body, "presence_penalty", -2, 2)) s.presence_penalty = static_cast<float>(*v);
  if (auto v = get_number(body, "frequency_penalty", -2, 2)) s.frequency_penalty = static_cast<float>(*v);
  if (auto v = get_number(body, "repeat_penalty", 0, 100)) {
    if (*v <= 0) throw bad_field("repeat_penalty", "'repeat_penalty' must be greater than 0");
    s.repeat_penalty = static_cast<float>(*v);
  }
  s.logit_bias = parse_logit_bias(body, n_vocab);
  if (auto it = body.find("seed"); it != body.end() && !it->is_null()) {
    if (it->is_number_unsigned()) {
      s.seed = it->get<uint64_t>();
    } else if (it->is_number_integer()) {
      s.seed = static_cast<uint64_t>(it->get<int64_t>());
    } else {
      throw bad_field("seed", "'seed' must be an integer");
    }
  }
  try {
    s.validate();
  } catch (const std::invalid_argument& e) {
    throw ApiError(400, e.what(), "", "invalid_value");
  }

  req.stop = parse_stop(body);
  if (auto v = get_int(body, "n", 1, kMaxChoices)) req.n = static_cast<int>(*v);

  if (kind == ApiKind::kChat) {
    const bool want = get_bool(body, "logprobs").value_or(false);
    auto top = get_int(body, "top_logprobs", 0, kMaxTopLogprobs);
    if (top && !want) throw bad_field("top_logprobs", "'top_logprobs' needs 'logprobs': true");
    if (want) req.top_logprobs = static_cast<int>(top.value_or(0));
  } else {
    if (auto v = get_int(body, "logprobs", 0, kMaxTopLogprobs)) req.top_logprobs = static_cast<int>(*v);
  }

  req.stream = get_bool(body, "stream").value_or(false);
  if (auto it = body.find("stream_options"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) throw bad_field("stream_options", "'stream_options' must be an object");
    req.include_usage = get_bool(*it, "include_usage").value_or(false);
  }
  req.return_tokens = get_bool(body, "return_tokens").value_or(false);
  return req;
}

}  // namespace forge::server
