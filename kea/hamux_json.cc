// Copyright (C) 2026 The hamux authors. MPL-2.0.

#include <hamux.h>
#include <hamux_json.h>

#include <string>

using namespace isc::data;

namespace isc {
namespace hamux {

ConstElementPtr
takeHamuxJson(char* text) {
    if (!text) {
        return (Element::createMap());
    }
    std::string json(text);
    hamux_string_free(text);
    return (Element::fromJSON(json));
}

} // namespace hamux
} // namespace isc
