// Copyright (C) 2026 The hamux authors. MPL-2.0.

#include <http_date.h>

#include <exceptions/exceptions.h>

#include <ctime>

namespace isc {
namespace hamux {

namespace {
const char* FORMAT = "%a, %d %b %Y %H:%M:%S GMT";
}

std::string
httpDate() {
    time_t now = time(0);
    struct tm tm;
    gmtime_r(&now, &tm);
    char buffer[64];
    strftime(buffer, sizeof(buffer), FORMAT, &tm);
    return (buffer);
}

int64_t
parseHttpDate(const std::string& text) {
    struct tm tm = {};
    const char* end = strptime(text.c_str(), FORMAT, &tm);
    if (!end || *end != '\0') {
        isc_throw(BadValue, "unable to parse the partner's date-time '" << text << "'");
    }
    return (static_cast<int64_t>(timegm(&tm)));
}

} // namespace hamux
} // namespace isc
