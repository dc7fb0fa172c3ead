#include "src/report/text.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>

namespace bbans::report {

namespace {

// Calls put(code_point) for each UTF-8 sequence of s, and put(0xFFFD) for each byte that does
// not start a valid one (a file name is any bytes; JSON and XML text must be Unicode).
template <typename Put>
void each_code_point(std::string_view s, Put put) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    for (std::size_t i = 0; i < n;) {
        const unsigned c = p[i];
        std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        std::uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
        bool ok = len > 0 && i + len <= n;
        for (std::size_t k = 1; ok && k < len; ++k) {
            ok = (p[i + k] & 0xC0) == 0x80;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        // No overlong forms, surrogates or code points past U+10FFFF.
        static constexpr std::uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
        ok = ok && cp >= kMin[len] && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
        if (!ok) {
            put(0xFFFD);
            ++i;
            continue;
        }
        put(cp);
        i += len;
    }
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// "\u001f": a control character in a JSON string.
std::string u_escape(std::uint32_t cp) {
    char b[16];
    std::snprintf(b, sizeof b, "\\u%04x", static_cast<unsigned>(cp));
    return b;
}

}  // namespace

// A JSON string literal, quotes included.
std::string json_string(std::string_view s) {
    std::string out = "\"";
    each_code_point(s, [&](std::uint32_t cp) {
        switch (cp) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (cp < 0x20 || cp == 0x7F) out += u_escape(cp);
                else append_utf8(out, cp);
        }
    });
    return out + "\"";
}

// Text for an SVG (XML) element or attribute; control characters (not allowed in XML) become
// U+FFFD.
std::string xml_text(std::string_view s) {
    std::string out;
    each_code_point(s, [&](std::uint32_t cp) {
        switch (cp) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            default: append_utf8(out, cp < 0x20 || cp == 0x7F ? 0xFFFD : cp);
        }
    });
    return out;
}

JsonObject& JsonObject::raw(std::string_view key, std::string value) {
    members_.emplace_back(std::string(key), std::move(value));
    return *this;
}

JsonObject& JsonObject::number(std::string_view key, double v, int decimals, bool present) {
    if (!present || !std::isfinite(v)) return raw(key, "null");
    char b[512];  // room for any double in %f
    std::snprintf(b, sizeof b, "%.*f", decimals, v);
    return raw(key, b);
}

std::string JsonObject::str(int indent) const {
    const std::string pad(static_cast<std::size_t>(indent) + 2, ' ');
    std::string out = "{";
    for (std::size_t i = 0; i < members_.size(); ++i)
        out += (i ? ",\n" : "\n") + pad + json_string(members_[i].first) + ": " + members_[i].second;
    return out + "\n" + std::string(static_cast<std::size_t>(indent), ' ') + "}";
}

std::string json_array(const std::vector<std::string>& items, int indent) {
    if (items.empty()) return "[]";
    const std::string pad(static_cast<std::size_t>(indent) + 2, ' ');
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ",\n" : "\n") + pad + items[i];
    return out + "\n" + std::string(static_cast<std::size_t>(indent), ' ') + "]";
}

}  // namespace bbans::report
