/* body_freed_in_callback: the response callback may run before hamux_client_send has
 * returned (on an IO thread, as soon as the reply is read), and may free the body it was
 * given. Here every body is malloc'd and freed by its own callback; each of 4 threads
 * sends a request once its one before completed, so its connection is mostly idle and the
 * thread writes the request to the socket itself (a direct write). A send that read the
 * host's body after the request could complete (a copy, a sendmsg that AddressSanitizer
 * checks after the call) is a use after free under ASan and valgrind. */
#include "common.h"

#define REQUESTS 1000
#define SENDERS 4

static void on_request(void *ud, hamux_request *req, const uint8_t *body, size_t len) {
    (void)ud; (void)body; (void)len;
    CHECK_STATUS(hamux_request_respond(req, (const uint8_t *)"[ { \"result\": 0 } ]", 19), HAMUX_OK);
}

struct sent {
    char *body;
    counter *done;
};

static void on_reply(void *ud, uint64_t txid, hamux_status st, const uint8_t *body, size_t len) {
    (void)txid; (void)body; (void)len;
    struct sent *s = ud;
    CHECKF(st == HAMUX_OK, "%s", hamux_status_name(st));
    /* Overwritten, then freed: whatever still reads it reads garbage or freed memory. */
    memset(s->body, 'x', strlen(s->body));
    free(s->body);
    counter *done = s->done;
    free(s);
    counter_add(done, 1);
}

struct sender {
    hamux_client *client;
    const char *url;
    long first, n;
};

/* Sends `n` requests one after another, each once the one before completed. */
static void *send_one_at_a_time(void *arg) {
    struct sender *me = arg;
    counter done;
    counter_init(&done);
    for (long i = 0; i < me->n; i++) {
        long k = me->first + i;
        struct sent *s = malloc(sizeof *s);
        CHECK(s != NULL);
        s->done = &done;
        s->body = malloc(400);
        CHECK(s->body != NULL);
        snprintf(s->body, 400,
                 "{\"command\":\"lease4-update\",\"arguments\":{\"ip-address\":\"10.%ld.%ld.%ld\","
                 "\"hw-address\":\"00:0c:01:02:03:04\",\"subnet-id\":1,\"hostname\":\"host-%ld.example.org\","
                 "\"valid-lft\":3600,\"expire\":1764000000,\"force-create\":true,\"origin\":\"ha-partner\"},"
                 "\"service\":[\"dhcp4\"]}",
                 k / 65536, k / 256 % 256, k % 256, k);
        CHECK_STATUS(hamux_client_send(me->client, me->url, (const uint8_t *)s->body, strlen(s->body), on_reply, s,
                                       NULL),
                     HAMUX_OK);
        CHECKF(counter_wait(&done, i + 1, stretched_ms(20000)) == i + 1, "request %ld not answered", k);
    }
    counter_destroy(&done);
    return NULL;
}

int main(void) {
    char url[128];
    hamux_listener *listener = start_listener("\"handler-threads\": 0", on_request, NULL, url, sizeof url);
    hamux_client *client = NULL;
    /* A connection per sending thread, so that each send mostly finds one idle. */
    CHECK_STATUS(hamux_client_new("{\"connections-per-peer\": 4}", &client), HAMUX_OK);
    const long n = scaled(REQUESTS);
    struct sender senders[SENDERS];
    pthread_t threads[SENDERS];
    for (int t = 0; t < SENDERS; t++) {
        senders[t] = (struct sender){client, url, t * n, n};
        CHECK(pthread_create(&threads[t], NULL, send_one_at_a_time, &senders[t]) == 0);
    }
    for (int t = 0; t < SENDERS; t++) {
        CHECK(pthread_join(threads[t], NULL) == 0);
    }
    char *stats = hamux_client_stats(client);
    CHECK(stats != NULL);
    /* The point: sends from these threads to idle connections were direct writes. */
    CHECKF(!contains(stats, "\"direct-writes\":0"), "no direct writes: %s", stats);
    hamux_string_free(stats);
    hamux_client_free(client);
    hamux_listener_free(listener);
    printf("body_freed_in_callback: %d threads x %ld requests, each body freed by its own callback\n", SENDERS, n);
    return 0;
}
