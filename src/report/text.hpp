#pragma once
// Text for the report's JSON and SVG outputs. A file name is any bytes; JSON and XML text must
// be Unicode, so each byte that does not start a valid UTF-8 sequence becomes U+FFFD.
#include <string>
#include <string_view>

namespace bbans::report {

// A JSON string literal, quotes included.
std::string json_string(std::string_view s);

// Text for an SVG (XML) element or attribute; control characters (not allowed in XML) become
// U+FFFD.
std::string xml_text(std::string_view s);

}  // namespace bbans::report
