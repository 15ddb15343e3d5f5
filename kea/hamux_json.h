// Copyright (C) 2026 The hamux authors. MPL-2.0.

#ifndef HAMUX_JSON_H
#define HAMUX_JSON_H

#include <cc/data.h>

#include <string>

namespace isc {
namespace hamux {

/// @brief Parses a JSON string hamux returned (hamux_client_stats, hamux_listener_stats)
/// and frees it with hamux_string_free; an empty map for NULL.
data::ConstElementPtr takeHamuxJson(char* text);

/// @brief A Kea answer's result code, and its text in @c text; CONTROL_RESULT_ERROR and
/// the reason if @c answer is not one of Kea's answers.
int answerResult(const data::ConstElementPtr& answer, std::string& text);

/// @brief A partner's reply as Kea's answer: the first element of the list Kea sends (or
/// the map itself).
/// @throw if it is not JSON, an empty list or not a map.
data::ConstElementPtr keaAnswer(const std::string& reply);

} // namespace hamux
} // namespace isc

#endif // HAMUX_JSON_H
