/* free_inflight: the listener holds every request unanswered and the client is freed
 * with 200 requests on the wire. Proves that hamux_client_free waits about
 * drain-timeout-ms, then runs every callback exactly once with HAMUX_E_CANCELLED before it
 * returns and none afterwards; and that answering the held requests after the listener is
 * freed returns HAMUX_E_CONNECT (and frees them: valgrind/ASan would see a leak). Then the
 * reverse: a listener freed under a live client fails its requests with HAMUX_E_CONNECT,
 * and the requests it handed out also answer HAMUX_E_CONNECT. */
#include "common.h"

#define DRAIN_MS 100

static long total;
static request_store store;
static atomic_int *calls;
static atomic_long callbacks;

static void on_lost(void *user_data, uint64_t txid, hamux_status status, const uint8_t *body, size_t len) {
    (void)txid;
    CHECKF(status == HAMUX_E_CONNECT, "%s: %.*s", hamux_status_name(status), (int)len, (const char *)body);
    counter_add(user_data, 1);
}

static void on_response(void *user_data, uint64_t txid, hamux_status status, const uint8_t *body,
                        size_t len) {
    long i = (long)(intptr_t)user_data;
    CHECKF(status == HAMUX_E_CANCELLED, "request %ld (txid %llu): %s: %.*s", i, (unsigned long long)txid,
           hamux_status_name(status), (int)len, (const char *)body);
    CHECK(len > 0); /* a description of the failure */
    CHECKF(atomic_fetch_add(&calls[i], 1) == 0, "request %ld completed twice", i);
    atomic_fetch_add(&callbacks, 1);
}

static hamux_status send_cmd(hamux_client *client, const char *url, const char *cmd, hamux_response_cb cb,
                         void *user_data) {
    return hamux_client_send(client, url, (const uint8_t *)cmd, strlen(cmd), cb, user_data, NULL);
}

static hamux_status respond(hamux_request *req) {
    return hamux_request_respond(req, (const uint8_t *)"[]", 2);
}

int main(void) {
    total = scaled(200);
    request_store_init(&store, total);
    calls = calloc((size_t)total, sizeof *calls);
    CHECK(calls != NULL);
    char url[64];
    hamux_listener *listener = start_listener(NULL, hold_request, &store, url, sizeof url);
    hamux_client *client = NULL;
    CHECK_STATUS(hamux_client_new("{\"drain-timeout-ms\": 100}", &client), HAMUX_OK);

    static const char cmd[] = "{\"command\":\"lease4-update\"}";
    for (long i = 0; i < total; i++) {
        CHECK_STATUS(send_cmd(client, url, cmd, on_response, (void *)(intptr_t)i), HAMUX_OK);
    }
    long got = counter_wait(&store.received, total, stretched_ms(10000));
    CHECKF(got == total, "only %ld of %ld requests reached the listener", got, total);
    CHECK(atomic_load(&callbacks) == 0);

    double start = now_ms();
    hamux_client_free(client);
    double took = now_ms() - start;
    long n = atomic_load(&callbacks);
    CHECKF(n == total, "%ld of %ld callbacks had run when hamux_client_free returned", n, total);
    CHECKF(took >= DRAIN_MS - 5 && took < stretched_ms(2000), "hamux_client_free took %.0f ms", took);
    sleep_ms(200);
    n = atomic_load(&callbacks);
    CHECKF(n == total, "%ld callbacks after free returned", n - total);
    for (long i = 0; i < total; i++) CHECK(atomic_load(&calls[i]) == 1);

    hamux_listener_free(listener);
    for (long i = 0; i < total; i++) CHECK_STATUS(respond(store.held[i]), HAMUX_E_CONNECT);

    /* The listener goes first, while the client's connections are open. */
    const long few = total < 10 ? total : 10;
    store.received.count = 0;
    listener = start_listener(NULL, hold_request, &store, url, sizeof url);
    CHECK_STATUS(hamux_client_new("{}", &client), HAMUX_OK);
    counter lost;
    counter_init(&lost);
    for (long i = 0; i < few; i++) {
        CHECK_STATUS(send_cmd(client, url, cmd, on_lost, &lost), HAMUX_OK);
    }
    CHECK(counter_wait(&store.received, few, stretched_ms(10000)) == few);
    hamux_listener_free(listener);
    n = counter_wait(&lost, few, stretched_ms(5000));
    CHECKF(n == few, "%ld of %ld callbacks after the listener went", n, few);
    for (long i = 0; i < few; i++) CHECK_STATUS(respond(store.held[i]), HAMUX_E_CONNECT);
    hamux_client_free(client);
    CHECK(counter_get(&lost) == few);
    counter_destroy(&lost);

    printf("free_inflight: ok, %ld requests cancelled by a free that took %.0f ms\n", total, took);
    request_store_destroy(&store);
    free(calls);
    return 0;
}
