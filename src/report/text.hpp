#pragma once
// Text for the report's JSON and SVG outputs. A file name is any bytes; JSON and XML text must
// be Unicode, so each byte that does not start a valid UTF-8 sequence becomes U+FFFD.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bbans::report {

// A JSON string literal, quotes included.
std::string json_string(std::string_view s);

// A JSON object written member by member, one per line, in the order added: the one writer of
// the report's JSON (one file's report and a folder's).
class JsonObject {
public:
    JsonObject& raw(std::string_view key, std::string value);  // value: JSON text already
    JsonObject& text(std::string_view key, std::string_view v) { return raw(key, json_string(v)); }
    // An empty string is written as null (not measured, or not applicable).
    JsonObject& text_or_null(std::string_view key, std::string_view v) { return raw(key, v.empty() ? "null" : json_string(v)); }
    JsonObject& integer(std::string_view key, std::uint64_t v) { return raw(key, std::to_string(v)); }
    JsonObject& signed_integer(std::string_view key, std::int64_t v) { return raw(key, std::to_string(v)); }
    // With `decimals` digits after the point; non-finite numbers (not allowed in JSON) and numbers
    // marked absent are written as null.
    JsonObject& number(std::string_view key, double v, int decimals, bool present = true);
    JsonObject& boolean(std::string_view key, bool v) { return raw(key, v ? "true" : "false"); }
    // The object starting at column `indent`: members at indent + 2, the closing brace at indent
    // (no newline after it).
    std::string str(int indent = 0) const;

private:
    std::vector<std::pair<std::string, std::string>> members_;
};

// A JSON array of values already written as JSON text, laid out as JsonObject::str does.
std::string json_array(const std::vector<std::string>& items, int indent);

// Text for an SVG (XML) element or attribute; control characters (not allowed in XML) become
// U+FFFD.
std::string xml_text(std::string_view s);

}  // namespace bbans::report
