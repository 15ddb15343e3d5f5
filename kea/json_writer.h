// Copyright (C) 2026 The hamux authors. MPL-2.0.

#ifndef HAMUX_JSON_WRITER_H
#define HAMUX_JSON_WRITER_H

#include <cc/data.h>

#include <string>

namespace isc {
namespace hamux {

/// @brief Exactly @c element->str() (Kea 2.2's toJSON: "{ ", ", ", " }", Kea's string
/// escapes), written into one string instead of through a std::stringstream, which on a
/// primary cost more than a hamux round trip per lease update (and as much again for
/// every answer on a backup). tests/kea_json_parser.rs compares it with str().
std::string toJson(const data::ConstElementPtr& element);

/// @brief Appends @c element->str() to @p out (as @ref toJson).
void appendJson(std::string& out, const data::ConstElementPtr& element);

/// @brief Appends @p text as Kea 2.2's toJSON writes a string element (quotes, escapes).
void appendJsonString(std::string& out, const std::string& text);

} // namespace hamux
} // namespace isc

#endif // HAMUX_JSON_WRITER_H
