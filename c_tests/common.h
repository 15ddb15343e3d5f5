/* Shared helpers for the C API tests: checks that print file:line and
 * hamux_last_error(), a monotonic clock, timed waits, a PRNG, listener setup and
 * the HAMUX_C_SCALE / HAMUX_C_TIME_FACTOR knobs the harness sets (e.g. under valgrind). */
#ifndef HAMUX_C_TESTS_COMMON_H
#define HAMUX_C_TESTS_COMMON_H

#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "hamux.h"

/* Line-buffered stdout, so a run the harness kills still shows what it printed. */
__attribute__((constructor)) static void line_buffered_stdout(void) { setvbuf(stdout, NULL, _IOLBF, 0); }

static inline void fail_at(const char *file, int line, const char *what) {
    const char *detail = hamux_last_error();
    fprintf(stderr, "%s:%d: FAILED: %s (hamux_last_error: \"%s\")\n", file, line, what,
            detail ? detail : "(null)");
    fflush(stderr);
    _exit(1); /* also from hamux threads: never return into the library */
}

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) fail_at(__FILE__, __LINE__, "CHECK(" #cond ")");      \
    } while (0)

/* CHECK with a printf-style explanation. */
#define CHECKF(cond, ...)                                                  \
    do {                                                                   \
        if (!(cond)) {                                                     \
            char msg_[512];                                                \
            snprintf(msg_, sizeof msg_, __VA_ARGS__);                      \
            fail_at(__FILE__, __LINE__, msg_);                             \
        }                                                                  \
    } while (0)

/* Checks that a call returns the expected status, naming both on failure. */
#define CHECK_STATUS(expr, want)                                                     \
    do {                                                                             \
        hamux_status got_ = (expr);                                                  \
        hamux_status want_ = (want);                                                 \
        CHECKF(got_ == want_, "%s returned %s, expected %s", #expr,                  \
               hamux_status_name(got_), hamux_status_name(want_));                   \
    } while (0)

/* Monotonic time in milliseconds. */
static inline double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline void sleep_ms(double ms) {
    struct timespec ts = {(time_t)(ms / 1e3), (long)((ms - (double)(time_t)(ms / 1e3) * 1e3) * 1e6)};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

static inline double env_double(const char *name, double fallback) {
    const char *v = getenv(name);
    double d = v && *v ? strtod(v, NULL) : fallback;
    return d > 0 ? d : fallback;
}

/* Work scaled by HAMUX_C_SCALE (default 1), at least 1. */
static inline long scaled(long n) {
    long s = (long)((double)n * env_double("HAMUX_C_SCALE", 1.0));
    return s < 1 ? 1 : s;
}

/* A duration stretched by HAMUX_C_TIME_FACTOR (default 1), for slow runs (valgrind). */
static inline double stretched_ms(double ms) { return ms * env_double("HAMUX_C_TIME_FACTOR", 1.0); }

/* Condition variables on the monotonic clock, and absolute deadlines for them. */
static inline void cond_init(pthread_cond_t *c) {
    pthread_condattr_t a;
    CHECK(pthread_condattr_init(&a) == 0);
    CHECK(pthread_condattr_setclock(&a, CLOCK_MONOTONIC) == 0);
    CHECK(pthread_cond_init(c, &a) == 0);
    pthread_condattr_destroy(&a);
}

static inline struct timespec deadline_after_ms(double ms) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long ns = (long long)ts.tv_nsec + (long long)(ms * 1e6);
    ts.tv_sec += (time_t)(ns / 1000000000LL);
    ts.tv_nsec = (long)(ns % 1000000000LL);
    return ts;
}

/* A counter threads bump and others wait on with a timeout. */
typedef struct {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    long count;
} counter;

static inline void counter_init(counter *c) {
    CHECK(pthread_mutex_init(&c->mutex, NULL) == 0);
    cond_init(&c->cond);
    c->count = 0;
}

static inline void counter_destroy(counter *c) {
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->mutex);
}

static inline long counter_add(counter *c, long n) {
    pthread_mutex_lock(&c->mutex);
    long v = c->count += n;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mutex);
    return v;
}

static inline long counter_get(counter *c) {
    pthread_mutex_lock(&c->mutex);
    long v = c->count;
    pthread_mutex_unlock(&c->mutex);
    return v;
}

/* Waits until the count reaches `target` or `timeout_ms` passes; returns the count. */
static inline long counter_wait(counter *c, long target, double timeout_ms) {
    struct timespec deadline = deadline_after_ms(timeout_ms);
    pthread_mutex_lock(&c->mutex);
    while (c->count < target) {
        if (pthread_cond_timedwait(&c->cond, &c->mutex, &deadline) == ETIMEDOUT) break;
    }
    long v = c->count;
    pthread_mutex_unlock(&c->mutex);
    return v;
}

/* splitmix64: each thread keeps its own state, so it is thread-safe without locks. */
static inline uint64_t rng_next(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t rng_below(uint64_t *state, uint64_t n) { return rng_next(state) % n; }

/* The run's seed: HAMUX_C_SEED if set, else the clock; printed so a failure can be replayed. */
static inline uint64_t rng_seed(void) {
    const char *v = getenv("HAMUX_C_SEED");
    uint64_t seed = v && *v ? strtoull(v, NULL, 0) : (uint64_t)(now_ms() * 1e3);
    printf("seed: HAMUX_C_SEED=%llu\n", (unsigned long long)seed);
    return seed;
}

/* Starts a listener on 127.0.0.1 and an OS-chosen port; writes its hamux:// URL to url. */
static inline hamux_listener *start_listener(const char *extra_config, hamux_request_cb cb, void *user_data,
                                             char *url, size_t url_size) {
    char config[256];
    snprintf(config, sizeof config, "{\"address\": \"127.0.0.1\", \"port\": 0%s%s}",
             extra_config ? ", " : "", extra_config ? extra_config : "");
    hamux_listener *listener = NULL;
    CHECK_STATUS(hamux_listener_new(config, cb, user_data, &listener), HAMUX_OK);
    CHECK(listener != NULL);
    uint16_t port = hamux_listener_port(listener);
    CHECK(port != 0);
    snprintf(url, url_size, "hamux://127.0.0.1:%u", (unsigned)port);
    return listener;
}

/* True if the NUL-terminated `haystack` contains `needle`. */
static inline bool contains(const char *haystack, const char *needle) {
    return haystack && strstr(haystack, needle) != NULL;
}

/* Compares a (pointer, length) body with a C string. */
static inline bool body_equals(const uint8_t *body, size_t len, const char *want) {
    return len == strlen(want) && (len == 0 || (body && memcmp(body, want, len) == 0));
}

/* Copies a (pointer, length) body into a new NUL-terminated string. */
static inline char *body_dup(const uint8_t *body, size_t len) {
    char *s = malloc(len + 1);
    CHECK(s != NULL);
    if (len) memcpy(s, body, len);
    s[len] = '\0';
    return s;
}

/* A loopback port that was free a moment ago (bound, read, released). */
static inline unsigned free_loopback_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof addr;
    CHECK(bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&addr, &size) == 0);
    close(fd);
    return ntohs(addr.sin_port);
}

/* Whether something accepts TCP connections on 127.0.0.1:port. */
static inline bool loopback_port_accepts(unsigned port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool open = connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
    close(fd);
    return open;
}

/* Requests a listener handed over and the test holds unanswered, in arrival order, at most
 * `capacity`; `received` counts them (wait on it with counter_wait). */
typedef struct {
    counter received;
    hamux_request **held;
    long capacity;
} request_store;

static inline void request_store_init(request_store *s, long capacity) {
    counter_init(&s->received);
    s->held = calloc((size_t)capacity, sizeof *s->held);
    CHECK(s->held != NULL);
    s->capacity = capacity;
}

static inline void request_store_destroy(request_store *s) {
    counter_destroy(&s->received);
    free(s->held);
}

/* A hamux_request_cb that keeps every request in the request_store given as user data. */
static inline void hold_request(void *user_data, hamux_request *req, const uint8_t *body, size_t len) {
    (void)body;
    (void)len;
    request_store *s = user_data;
    pthread_mutex_lock(&s->received.mutex);
    CHECK(s->received.count < s->capacity);
    s->held[s->received.count++] = req;
    pthread_cond_broadcast(&s->received.cond);
    pthread_mutex_unlock(&s->received.mutex);
}

#endif
