// Copyright (C) 2026 The hamux authors. MPL-2.0.

#include <hamux.h>
#include <hamux_json.h>
#include <json_parser.h>

#include <cc/command_interpreter.h>

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

int
answerResult(const ConstElementPtr& answer, std::string& text) {
    int rcode = isc::config::CONTROL_RESULT_ERROR;
    try {
        ConstElementPtr comment = isc::config::parseAnswer(rcode, answer);
        text = comment && comment->getType() == Element::string ? comment->stringValue()
               : comment ? comment->str() : "";
    } catch (const std::exception& ex) {
        rcode = isc::config::CONTROL_RESULT_ERROR;
        text = ex.what();
    }
    return (rcode);
}

ConstElementPtr
keaAnswer(const std::string& reply) {
    ConstElementPtr answer = parseJson(reply.data(), reply.size());
    if (answer->getType() == Element::list) {
        if (answer->empty()) {
            isc_throw(BadValue, "an empty list");
        }
        answer = answer->get(0);
    }
    if (answer->getType() != Element::map) {
        isc_throw(BadValue, "not a map");
    }
    return (answer);
}

} // namespace hamux
} // namespace isc
