// The built-in chat templates used when a model ships none. Each reproduces
// the prompt format of one model family exactly (the tests render them on the
// reference conversations of that family's real template).
#include "tokenizer/jinja/chat_template.h"

namespace forge::jinja {

namespace {

// ChatML (Qwen, SmolLM, ...), with no implicit system prompt.
constexpr std::string_view kChatml = R"({%- for message in messages %}
    {{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
)";

// Llama 3 / 3.1 instruct without tools.
constexpr std::string_view kLlama3 = R"({%- for message in messages %}
    {%- if loop.first %}{{- bos_token }}{%- endif %}
    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %}
)";

// Gemma 3: a system message is folded into the first user turn; roles alternate.
constexpr std::string_view kGemma = R"({{- bos_token }}
{%- if messages[0]['role'] == 'system' %}
    {%- set first_user_prefix = messages[0]['content'] + '\n\n' %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set first_user_prefix = '' %}
    {%- set loop_messages = messages %}
{%- endif %}
{%- for message in loop_messages %}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}
    {%- endif %}
    {%- set role = 'model' if message['role'] == 'assistant' else message['role'] %}
    {{- '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') }}
    {{- message['content'] | trim + '<end_of_turn>\n' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<start_of_turn>model\n' }}
{%- endif %}
)";

// Phi-3 mini: <|role|> turns; eos_token ends a conversation without a generation prompt.
constexpr std::string_view kPhi3 = R"({%- for message in messages %}
    {%- if message['role'] in ['system', 'user', 'assistant'] %}
        {{- '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|assistant|>\n' }}
{%- else %}
    {{- eos_token }}
{%- endif %}
)";

// Mistral [INST] (v0.1 instruct): optional system message joins the first user turn.
constexpr std::string_view kMistral = R"({%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content'] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}
{{- bos_token }}
{%- for message in loop_messages %}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('After the optional system message, conversation roles must alternate user/assistant/user/assistant/...') }}
    {%- endif %}
    {%- if message['role'] == 'user' %}
        {%- if loop.first and system_message is defined %}
            {{- ' [INST] ' + system_message + '\n\n' + message['content'] + ' [/INST]' }}
        {%- else %}
            {{- ' [INST] ' + message['content'] + ' [/INST]' }}
        {%- endif %}
    {%- elif message['role'] == 'assistant' %}
        {{- ' ' + message['content'] + eos_token }}
    {%- else %}
        {{- raise_exception('Only user and assistant roles are supported, with the exception of an initial optional system message!') }}
    {%- endif %}
{%- endfor %}
)";

}  // namespace

const std::vector<DefaultChatTemplate>& default_chat_templates() {
  static const std::vector<DefaultChatTemplate> kTemplates = {
      {"chatml", "ChatML: <|im_start|>role ... <|im_end|>", kChatml},
      {"llama3", "Llama 3: <|start_header_id|>role<|end_header_id|> ... <|eot_id|>", kLlama3},
      {"gemma", "Gemma: <start_of_turn>user/model ... <end_of_turn>", kGemma},
      {"phi3", "Phi-3: <|user|> ... <|end|>", kPhi3},
      {"mistral", "Mistral: [INST] ... [/INST]", kMistral},
  };
  return kTemplates;
}

}  // namespace forge::jinja
