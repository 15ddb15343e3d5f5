/* peer_down: sends to a port nobody listens on. Proves that each send, one after another
 * and then a burst at once, completes with HAMUX_E_CONNECT and a description within a
 * bounded time (no hang on a dead peer), and that freeing the client is prompt. */
#include "common.h" /* first: it sets _POSIX_C_SOURCE */

#define BURST 50

typedef struct {
    counter done;
    atomic_int wrong;
} tally;

static void on_response(void *user_data, uint64_t txid, hamux_status status, const uint8_t *body,
                        size_t len) {
    tally *t = user_data;
    if (status != HAMUX_E_CONNECT || len == 0) {
        fprintf(stderr, "txid %llu: %s: %.*s\n", (unsigned long long)txid, hamux_status_name(status),
                (int)len, (const char *)body);
        atomic_fetch_add(&t->wrong, 1);
    }
    counter_add(&t->done, 1);
}

static hamux_status send_heartbeat(hamux_client *client, const char *url, tally *t) {
    static const char cmd[] = "{\"command\":\"ha-heartbeat\"}";
    return hamux_client_send(client, url, (const uint8_t *)cmd, sizeof cmd - 1, on_response, t, NULL);
}

int main(void) {
    char url[64];
    snprintf(url, sizeof url, "hamux://127.0.0.1:%u", free_loopback_port());
    hamux_client *client = NULL;
    CHECK_STATUS(hamux_client_new("{\"connect-timeout-ms\": 1000}", &client), HAMUX_OK);
    tally t = {.wrong = 0};
    counter_init(&t.done);

    double worst = 0;
    for (long i = 1; i <= 5; i++) {
        double start = now_ms();
        CHECK_STATUS(send_heartbeat(client, url, &t), HAMUX_OK);
        long n = counter_wait(&t.done, i, stretched_ms(3000));
        CHECKF(n == i, "send %ld to %s: no callback within 3 s", i, url);
        if (now_ms() - start > worst) worst = now_ms() - start;
        if (i == 2) sleep_ms(150); /* let the connection slot retry after its backoff */
    }
    for (int i = 0; i < BURST; i++) {
        CHECK_STATUS(send_heartbeat(client, url, &t), HAMUX_OK);
    }
    long n = counter_wait(&t.done, 5 + BURST, stretched_ms(3000));
    CHECKF(n == 5 + BURST, "%ld of %d callbacks within 3 s", n, 5 + BURST);
    CHECKF(atomic_load(&t.wrong) == 0, "%d callbacks were not HAMUX_E_CONNECT", atomic_load(&t.wrong));

    char *stats = hamux_client_stats(client);
    CHECKF(contains(stats, "\"connect-failures\":") && !contains(stats, "\"connect-failures\":0"),
           "stats: %s", stats);
    hamux_string_free(stats);
    double start = now_ms();
    hamux_client_free(client);
    double took = now_ms() - start;
    CHECKF(took < stretched_ms(1000), "hamux_client_free took %.0f ms", took);
    CHECK(counter_get(&t.done) == 5 + BURST);
    printf("peer_down: ok, slowest single failure %.1f ms, free took %.1f ms\n", worst, took);
    counter_destroy(&t.done);
    return 0;
}
