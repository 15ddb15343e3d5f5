// Copyright (C) 2026 The hamux authors. MPL-2.0.
//
// Each step below is the step of Kea 2.2's src/lib/cc/data.cc (fromJSON, skipChars,
// skipTo, strFromStringstream, numberFromStringstream, wordFromStringstream, the list
// and map readers) on a character buffer, with the same position counter. Where Kea
// would take a path this does not take (a newline, an escape, a real number, an error),
// it stops and Kea's parser reads the text from the start. tests/kea_json_parser.rs
// checks the two against each other on generated and mutated texts.

#include <json_parser.h>

#include <cstdint>
#include <cstring>
#include <string>

using namespace isc::data;

namespace isc {
namespace hamux {

namespace {

/// @brief Thrown where the fast path stops: Kea's parser reads the text instead.
struct NotFast {};

/// @brief The positions' file name, as Element::fromJSON(std::string) sets it.
const std::string FILE_NAME = "<string>";

class FastParser {
public:
    FastParser(const char* text, size_t len) : p_(text), end_(text + len) {
    }

    ElementPtr parse() {
        ElementPtr result = value();
        skipWhitespace();
        if (p_ != end_) {
            throw NotFast();  // Kea: "Extra data"
        }
        return (result);
    }

private:
    int peek() const {
        return (p_ < end_ ? static_cast<unsigned char>(*p_) : EOF);
    }

    /// @brief in.get(); the caller counts the position as Kea does.
    int get() {
        return (p_ < end_ ? static_cast<unsigned char>(*p_++) : EOF);
    }

    /// @brief Kea's WHITESPACE but the newline, which never reaches this parser.
    static bool whitespace(int c) {
        return (c == ' ' || c == '\t' || c == '\r' || c == '\b' || c == '\f');
    }

    Element::Position at(uint32_t pos) const {
        return (Element::Position(FILE_NAME, 1, pos));
    }

    /// @brief skipChars(in, WHITESPACE, line, pos).
    void skipWhitespace() {
        while (whitespace(peek())) {
            ++pos_;
            ++p_;
        }
    }

    /// @brief skipTo(in, file, line, pos, chars, WHITESPACE): the character found.
    int skipTo(char first, char second) {
        int c = get();
        ++pos_;
        while (c != EOF) {
            if (whitespace(c)) {
                c = get();
                ++pos_;
            } else if (c == first || c == second) {
                skipWhitespace();
                return (c);
            } else {
                throw NotFast();
            }
        }
        throw NotFast();
    }

    /// @brief Element::fromJSON(in, file, line, pos).
    ElementPtr value() {
        skipWhitespace();
        int c = get();
        ++pos_;
        switch (c) {
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
        case '8': case '9': case '-': case '+': case '.':
            --p_;
            --pos_;
            return (number());
        case 't': case 'f': case 'n':
            --p_;
            --pos_;
            return (word());
        case '"': {
            --p_;
            --pos_;
            uint32_t start = pos_;
            return (Element::create(string(), at(start)));
        }
        case '[':
            return (list());
        case '{':
            return (map());
        default:
            throw NotFast();  // Kea: "nothing read" or "unexpected character"
        }
    }

    /// @brief fromStringstreamNumber, for what boost::lexical_cast<int64_t> surely
    /// takes: an optional '-' and decimal digits, in range.
    ElementPtr number() {
        const uint32_t start = pos_;
        const char* begin = p_;
        while (p_ < end_ && ((*p_ >= '0' && *p_ <= '9') || *p_ == '+' || *p_ == '-' ||
                             *p_ == '.' || *p_ == 'e' || *p_ == 'E')) {
            ++p_;
        }
        pos_ += p_ - begin;
        const char* d = begin;
        bool negative = (*d == '-');
        if (negative) {
            ++d;
        }
        if (d == p_) {
            throw NotFast();
        }
        const uint64_t limit = negative ? (uint64_t(1) << 63) : (uint64_t(1) << 63) - 1;
        uint64_t magnitude = 0;
        for (; d < p_; ++d) {
            if (*d < '0' || *d > '9') {
                throw NotFast();  // a real number, or not one
            }
            uint64_t digit = *d - '0';
            if (magnitude > (limit - digit) / 10) {
                throw NotFast();  // Kea: "Number overflow"
            }
            magnitude = magnitude * 10 + digit;
        }
        int64_t result = !negative ? static_cast<int64_t>(magnitude)
                         : magnitude == (uint64_t(1) << 63) ? INT64_MIN
                         : -static_cast<int64_t>(magnitude);
        return (Element::create(result, at(start)));
    }

    /// @brief fromStringstreamBool / fromStringstreamNull: the letters that follow,
    /// which must be exactly the word.
    ElementPtr word() {
        const uint32_t start = pos_;
        const char* begin = p_;
        while (p_ < end_ && ((*p_ >= 'a' && *p_ <= 'z') || (*p_ >= 'A' && *p_ <= 'Z'))) {
            ++p_;
        }
        size_t len = p_ - begin;
        pos_ += len;
        if (len == 4 && std::memcmp(begin, "true", 4) == 0) {
            return (Element::create(true, at(start)));
        }
        if (len == 5 && std::memcmp(begin, "false", 5) == 0) {
            return (Element::create(false, at(start)));
        }
        if (len == 4 && std::memcmp(begin, "null", 4) == 0) {
            return (Element::create(at(start)));
        }
        throw NotFast();  // Kea: "Bad boolean value" / "Bad null value"
    }

    /// @brief strFromStringstream, for a string without escapes (none is in the text).
    std::string string() {
        int c = get();
        ++pos_;
        if (c != '"') {
            throw NotFast();  // Kea: "String expected"
        }
        const char* begin = p_;
        c = get();
        ++pos_;
        while (c != EOF && c != '"') {
            c = get();
            ++pos_;
        }
        if (c == EOF) {
            throw NotFast();  // Kea: "Unterminated string"
        }
        return (std::string(begin, p_ - 1 - begin));
    }

    /// @brief fromStringstreamList (which also takes a trailing comma, as Kea does).
    ElementPtr list() {
        ElementPtr list = Element::createList(at(pos_));
        skipWhitespace();
        int c = 0;
        while (c != EOF && c != ']') {
            if (peek() != ']') {
                list->add(value());
                c = skipTo(',', ']');
            } else {
                c = get();
                ++pos_;
            }
        }
        return (list);
    }

    /// @brief fromStringstreamMap; a later duplicate key replaces an earlier one.
    ElementPtr map() {
        ElementPtr map = Element::createMap(at(pos_));
        skipWhitespace();
        int c = peek();
        if (c == EOF) {
            throw NotFast();  // Kea: "Unterminated map"
        }
        if (c == '}') {
            ++p_;  // Kea's in.ignore(): the position is not counted
            return (map);
        }
        while (c != EOF && c != '}') {
            std::string key = string();
            skipTo(':', ':');
            ConstElementPtr v = value();
            map->set(key, v);
            c = skipTo(',', '}');
        }
        return (map);
    }

    const char* p_;
    const char* end_;
    /// @brief Kea's pos: the column of the next character (the line is always 1).
    uint32_t pos_ = 1;
};

} // namespace

ElementPtr
parseJsonFast(const char* text, size_t len) {
    // A newline moves Kea's line and column in ways of their own (also inside strings),
    // and escapes take steps of their own: Kea's parser reads those texts.
    if (len > 0 && !std::memchr(text, '\n', len) && !std::memchr(text, '\\', len)) {
        try {
            return (FastParser(text, len).parse());
        } catch (const NotFast&) {
        }
    }
    return (ElementPtr());
}

ElementPtr
parseJson(const char* text, size_t len) {
    ElementPtr fast = parseJsonFast(text, len);
    return (fast ? fast : Element::fromJSON(std::string(text, len)));
}

} // namespace hamux
} // namespace isc
