/* graceful: hamux_listener_shutdown under a live client. The listener holds every request
 * unanswered; after hamux_listener_shutdown the host answers them and each answer is
 * delivered (HAMUX_OK for hamux_request_respond and for the client's callback), the port
 * is closed at once, new sends fail with HAMUX_E_CONNECT, hamux_listener_free returns
 * after the connections drained, and every callback runs exactly once. */
#include "common.h"

static long total;
static request_store store;
static counter ok, refused;
static atomic_int *calls;

static void on_response(void *user_data, uint64_t txid, hamux_status status, const uint8_t *body,
                        size_t len) {
    long i = (long)(intptr_t)user_data;
    CHECKF(status == HAMUX_OK, "request %ld (txid %llu): %s: %.*s", i, (unsigned long long)txid,
           hamux_status_name(status), (int)len, (const char *)body);
    CHECKF(body_equals(body, len, "[{\"result\":0}]"), "request %ld: %.*s", i, (int)len, (const char *)body);
    CHECKF(atomic_fetch_add(&calls[i], 1) == 0, "request %ld completed twice", i);
    counter_add(&ok, 1);
}

static void on_refused(void *user_data, uint64_t txid, hamux_status status, const uint8_t *body, size_t len) {
    (void)user_data;
    (void)txid;
    CHECKF(status == HAMUX_E_CONNECT, "%s: %.*s", hamux_status_name(status), (int)len, (const char *)body);
    counter_add(&refused, 1);
}

int main(void) {
    total = scaled(200);
    request_store_init(&store, total);
    calls = calloc((size_t)total, sizeof *calls);
    CHECK(calls != NULL);
    counter_init(&ok);
    counter_init(&refused);
    char url[64];
    hamux_listener *listener = start_listener("\"drain-timeout-ms\": 60000", hold_request, &store, url, sizeof url);
    uint16_t port = hamux_listener_port(listener);
    hamux_client *client = NULL;
    CHECK_STATUS(hamux_client_new("{\"connections-per-peer\": 2}", &client), HAMUX_OK);
    static const char cmd[] = "{\"command\":\"lease4-update\"}";
    for (long i = 0; i < total; i++) {
        CHECK_STATUS(hamux_client_send(client, url, (const uint8_t *)cmd, strlen(cmd), on_response,
                                       (void *)(intptr_t)i, NULL),
                     HAMUX_OK);
    }
    long got = counter_wait(&store.received, total, stretched_ms(10000));
    CHECKF(got == total, "only %ld of %ld requests reached the listener", got, total);

    hamux_listener_shutdown(listener);
    hamux_listener_shutdown(listener); /* idempotent */
    CHECK(!loopback_port_accepts(port));
    char *stats = hamux_listener_stats(listener);
    CHECKF(contains(stats, "\"draining\":true"), "%s", stats);
    hamux_string_free(stats);
    for (long i = 0; i < total; i++) {
        CHECK_STATUS(hamux_request_respond(store.held[i], (const uint8_t *)"[{\"result\":0}]", 14), HAMUX_OK);
    }
    long n = counter_wait(&ok, total, stretched_ms(10000));
    CHECKF(n == total, "%ld of %ld held requests answered OK after the shutdown began", n, total);
    /* Once the drained connections are closed (a request sent before the client saw the
     * Goaway would still be handed over, by design), nothing listens any more: a new
     * request fails cleanly. */
    double until = now_ms() + stretched_ms(10000);
    for (;;) {
        char *client_stats = hamux_client_stats(client);
        bool closed = contains(client_stats, "\"connected\":0");
        hamux_string_free(client_stats);
        if (closed) break;
        CHECKF(now_ms() < until, "the drained connections were not closed");
        sleep_ms(5);
    }
    CHECK_STATUS(hamux_client_send(client, url, (const uint8_t *)cmd, strlen(cmd), on_refused, NULL, NULL),
                 HAMUX_OK);
    CHECK(counter_wait(&refused, 1, stretched_ms(10000)) == 1);

    double start = now_ms();
    hamux_listener_free(listener); /* the connections drained: no waiting for the timeout */
    double took = now_ms() - start;
    CHECKF(took < stretched_ms(30000), "hamux_listener_free took %.0f ms", took);
    hamux_client_free(client);
    CHECK(counter_get(&ok) == total && counter_get(&refused) == 1);
    for (long i = 0; i < total; i++) CHECK(atomic_load(&calls[i]) == 1);

    printf("graceful: ok, %ld held requests answered after hamux_listener_shutdown\n", total);
    counter_destroy(&ok);
    counter_destroy(&refused);
    request_store_destroy(&store);
    free(calls);
    return 0;
}
