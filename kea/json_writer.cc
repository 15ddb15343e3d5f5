// Copyright (C) 2026 The hamux authors. MPL-2.0.
//
// Each case is Kea 2.2's toJSON of that element type (src/lib/cc/data.cc).

#include <json_writer.h>

#include <charconv>
#include <sstream>

using namespace isc::data;

namespace isc {
namespace hamux {

namespace {

const char HEX[] = "0123456789abcdef";

void
appendString(std::string& out, const std::string& text) {
    out += '"';
    for (char c : text) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\f':
            out += "\\f";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if ((c >= 0 && c < 0x20) || c < 0 || c >= 0x7f) {
                unsigned byte = static_cast<unsigned char>(c);
                out += "\\u00";
                out += HEX[byte >> 4];
                out += HEX[byte & 0xf];
            } else {
                out += c;
            }
        }
    }
    out += '"';
}

void
append(std::string& out, const ConstElementPtr& element) {
    switch (element->getType()) {
    case Element::integer: {
        char digits[24];
        auto end = std::to_chars(digits, digits + sizeof(digits), element->intValue()).ptr;
        out.append(digits, end);
        break;
    }
    case Element::boolean:
        out += element->boolValue() ? "true" : "false";
        break;
    case Element::null:
        out += "null";
        break;
    case Element::string:
        appendString(out, element->stringValue());
        break;
    case Element::list: {
        out += "[ ";
        bool first = true;
        for (auto const& item : element->listValue()) {
            if (!first) {
                out += ", ";
            }
            first = false;
            append(out, item);
        }
        out += " ]";
        break;
    }
    case Element::map: {
        out += "{ ";
        bool first = true;
        for (auto const& entry : element->mapValue()) {
            if (!first) {
                out += ", ";
            }
            first = false;
            out += '"';
            out += entry.first;  // Kea writes keys unescaped
            out += "\": ";
            if (entry.second) {
                append(out, entry.second);
            } else {
                out += "None";
            }
        }
        out += " }";
        break;
    }
    default:
        // Reals (and any other type) as Kea writes them.
        out += element->str();
    }
}

} // namespace

void
appendJson(std::string& out, const ConstElementPtr& element) {
    append(out, element);
}

void
appendJsonString(std::string& out, const std::string& text) {
    appendString(out, text);
}

std::string
toJson(const ConstElementPtr& element) {
    std::string out;
    out.reserve(512);
    append(out, element);
    return (out);
}

} // namespace hamux
} // namespace isc
