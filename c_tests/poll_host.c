/* poll_host: a single-threaded host with an event loop. Its client and listener use
 * "callbacks": "poll": every response and request callback runs on the host's own thread
 * inside hamux_*_dispatch, when poll(2) says hamux_*_fd is readable. It exchanges lease
 * updates with a multi-threaded host both ways; replies come back out of order (the
 * threaded listener delays some, the poll host answers some requests late and in reverse
 * order), and every callback still runs exactly once with the right body. */
#include "common.h"
#include <poll.h>

#define N 2000

static pthread_t poll_thread;
static char poll_url[128], threaded_url[128];

/* --- the multi-threaded host: answers request i with "r<i>", every 7th after 20 ms --- */
static void *answer_later(void *arg) {
    sleep_ms(20);
    hamux_request *req = arg;
    char reply[32];
    snprintf(reply, sizeof reply, "r%llu-late", (unsigned long long)hamux_request_txid(req));
    CHECK_STATUS(hamux_request_respond(req, (const uint8_t *)reply, strlen(reply)), HAMUX_OK);
    return NULL;
}

static void on_threaded_request(void *ud, hamux_request *req, const uint8_t *body, size_t len) {
    (void)ud; (void)body; (void)len;
    if (hamux_request_txid(req) % 7 == 0) {
        pthread_t t;
        CHECK(pthread_create(&t, NULL, answer_later, req) == 0);
        pthread_detach(t);
        return;
    }
    char reply[32];
    snprintf(reply, sizeof reply, "r%llu", (unsigned long long)hamux_request_txid(req));
    CHECK_STATUS(hamux_request_respond(req, (const uint8_t *)reply, strlen(reply)), HAMUX_OK);
}

static counter threaded_done;
static void on_threaded_reply(void *ud, uint64_t txid, hamux_status st, const uint8_t *body, size_t len) {
    (void)ud; (void)txid;
    CHECKF(st == HAMUX_OK, "threaded client got %s", hamux_status_name(st));
    CHECK(!pthread_equal(pthread_self(), poll_thread));
    CHECK(len > 0 && body[0] == 'p');
    counter_add(&threaded_done, 1);
}

/* --- the poll host --- */
static unsigned char seen[N + 1];
static long poll_replies;
static hamux_request *held[N];
static long held_count, poll_requests;

static void on_poll_reply(void *ud, uint64_t txid, hamux_status st, const uint8_t *body, size_t len) {
    (void)ud;
    CHECK(pthread_equal(pthread_self(), poll_thread));
    CHECKF(st == HAMUX_OK, "poll client got %s", hamux_status_name(st));
    CHECK(txid >= 1 && txid <= N);
    CHECKF(seen[txid] == 0, "reply for txid %llu twice", (unsigned long long)txid);
    seen[txid] = 1;
    char want[32];
    snprintf(want, sizeof want, "r%llu", (unsigned long long)txid);
    CHECKF(len >= strlen(want) && memcmp(body, want, strlen(want)) == 0, "wrong body for txid %llu",
           (unsigned long long)txid);
    poll_replies++;
}

static void on_poll_request(void *ud, hamux_request *req, const uint8_t *body, size_t len) {
    (void)ud; (void)body; (void)len;
    CHECK(pthread_equal(pthread_self(), poll_thread));
    poll_requests++;
    held[held_count++] = req; /* answered later, in reverse order, by the loop */
}

int main(void) {
    poll_thread = pthread_self();
    counter_init(&threaded_done);
    hamux_listener *threaded_listener = start_listener(NULL, on_threaded_request, NULL, threaded_url, sizeof threaded_url);
    hamux_listener *poll_listener = start_listener("\"callbacks\": \"poll\"", on_poll_request, NULL, poll_url, sizeof poll_url);
    hamux_client *threaded_client = NULL, *poll_client = NULL;
    /* No liveness pings, and deadlines far beyond the loop's own (which catches a hang):
     * under valgrind the 2,000 requests to the poll host wait for its loop, which starts
     * after all sends, longer than the default 10 s (CI saw TIMEOUT, once CONNECT). This
     * test is about poll mode, not timing. */
#define PATIENT "\"max-in-flight\": 100000, \"ping-interval-ms\": 0, \"request-timeout-ms\": 600000, " \
                "\"connect-timeout-ms\": 600000"
    CHECK_STATUS(hamux_client_new("{" PATIENT "}", &threaded_client), HAMUX_OK);
    CHECK_STATUS(hamux_client_new("{" PATIENT ", \"callbacks\": \"poll\"}", &poll_client), HAMUX_OK);
    CHECK(hamux_client_fd(poll_client) >= 0 && hamux_listener_fd(poll_listener) >= 0);
    CHECK(hamux_client_fd(threaded_client) == -1 && hamux_listener_fd(threaded_listener) == -1);
    CHECK(hamux_client_dispatch(threaded_client, 10) == 0);

    static const char cmd[] = "{\"command\":\"lease4-update\",\"arguments\":{\"ip-address\":\"10.0.0.1\"}}";
    for (long i = 0; i < N; i++) {
        uint64_t txid;
        CHECK_STATUS(hamux_client_send(poll_client, threaded_url, (const uint8_t *)cmd, sizeof cmd - 1,
                                       on_poll_reply, NULL, &txid), HAMUX_OK);
        CHECK_STATUS(hamux_client_send(threaded_client, poll_url, (const uint8_t *)cmd, sizeof cmd - 1,
                                       on_threaded_reply, NULL, NULL), HAMUX_OK);
    }

    struct pollfd fds[2] = {{.fd = hamux_client_fd(poll_client), .events = POLLIN},
                            {.fd = hamux_listener_fd(poll_listener), .events = POLLIN}};
    double deadline = now_ms() + stretched_ms(20000);
    long answered = 0;
    while (poll_replies < N || answered < N) {
        CHECKF(now_ms() < deadline, "stuck: %ld replies, %ld requests answered", poll_replies, answered);
        int ready = poll(fds, 2, 50);
        CHECK(ready >= 0);
        if (fds[0].revents & POLLIN) hamux_client_dispatch(poll_client, 256);
        if (fds[1].revents & POLLIN) hamux_listener_dispatch(poll_listener, 256);
        /* Answer what is held, newest first: out of order on purpose. */
        while (held_count > 0) {
            hamux_request *req = held[--held_count];
            const char reply[] = "p-ok";
            CHECK_STATUS(hamux_request_respond(req, (const uint8_t *)reply, sizeof reply - 1), HAMUX_OK);
            answered++;
        }
    }
    CHECKF(counter_wait(&threaded_done, N, stretched_ms(20000)) == N, "threaded client got %ld of %d",
           counter_get(&threaded_done), N);
    CHECK(poll_requests == N);

    hamux_client_free(poll_client);
    hamux_client_free(threaded_client);
    hamux_listener_free(poll_listener);
    hamux_listener_free(threaded_listener);
    counter_destroy(&threaded_done);
    printf("poll_host: %d replies on the poll thread, %d requests answered from it\n", N, N);
    return 0;
}
