// Copyright (C) 2026 The hamux authors. MPL-2.0.

#ifndef HAMUX_JSON_PARSER_H
#define HAMUX_JSON_PARSER_H

#include <cc/data.h>

#include <cstddef>

namespace isc {
namespace hamux {

/// @brief What Kea's @c Element::fromJSON(std::string) returns for @c text: the same
/// elements, values and positions ("<string>", line, column), the same errors.
///
/// Kea's parser reads through a std::istream a character at a time and builds every
/// scalar through a std::stringstream: on a backup it was a quarter of the CPU per
/// partner update. This reads the buffer directly for the text partners send (one line,
/// no escapes, integers: what Kea's and the hook's own str() produce), mirroring Kea's
/// position arithmetic step by step, and hands anything else, and every error, to
/// Kea's parser, so that what lease_cmds sees (and the texts of its errors, which name
/// positions) is exactly what it would see from Kea's own HTTP listener.
data::ElementPtr parseJson(const char* text, size_t len);

/// @brief @c parseJson's own reader alone: the elements, or null where it hands the
/// text to Kea's parser (what it reads is never a text Kea refuses).
data::ElementPtr parseJsonFast(const char* text, size_t len);

} // namespace hamux
} // namespace isc

#endif // HAMUX_JSON_PARSER_H
