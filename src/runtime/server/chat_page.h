// The web chat page served at `/`: one self-contained HTML file (no CDN, no
// external fonts or scripts) compiled into the binary.
#pragma once

#include <string_view>

namespace forge::server {

std::string_view chat_page_html();

}  // namespace forge::server
