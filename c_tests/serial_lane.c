/* serial_lane: with the default parallel-commands, lease updates are handed to the host
 * on several handler threads at once, while other commands (here config-get) never
 * overlap: each reaches the host only after the previous one was answered, in arrival
 * order — even when the host answers them from another thread. */
#include "common.h"

static atomic_int active_leases, max_leases, active_other, max_other;
static atomic_int next_other;
static atomic_int order_ok = 1;

static void raise_max(atomic_int *max, int now) {
    int seen = atomic_load(max);
    while (now > seen && !atomic_compare_exchange_weak(max, &seen, now)) {
    }
}

static void *answer_other_later(void *arg) {
    sleep_ms(15);
    atomic_fetch_sub(&active_other, 1);
    CHECK_STATUS(hamux_request_respond(arg, (const uint8_t *)"[]", 2), HAMUX_OK);
    return NULL;
}

static void on_request(void *ud, hamux_request *req, const uint8_t *body, size_t len) {
    (void)ud;
    char *text = body_dup(body, len);
    if (contains(text, "lease4-update")) {
        raise_max(&max_leases, atomic_fetch_add(&active_leases, 1) + 1);
        sleep_ms(15);
        atomic_fetch_sub(&active_leases, 1);
        CHECK_STATUS(hamux_request_respond(req, (const uint8_t *)"[]", 2), HAMUX_OK);
    } else {
        raise_max(&max_other, atomic_fetch_add(&active_other, 1) + 1);
        int n = -1;
        const char *at = strstr(text, "\"n\":");
        CHECK(at && sscanf(at + 4, "%d", &n) == 1);
        if (n != atomic_fetch_add(&next_other, 1)) atomic_store(&order_ok, 0);
        pthread_t t; /* answered from another thread, later */
        CHECK(pthread_create(&t, NULL, answer_other_later, req) == 0);
        pthread_detach(t);
    }
    free(text);
}

static counter done;
static void on_reply(void *ud, uint64_t txid, hamux_status st, const uint8_t *body, size_t len) {
    (void)ud; (void)txid; (void)body; (void)len;
    CHECKF(st == HAMUX_OK, "%s", hamux_status_name(st));
    counter_add(&done, 1);
}

int main(void) {
    char url[128];
    counter_init(&done);
    hamux_listener *listener = start_listener("\"handler-threads\": 4", on_request, NULL, url, sizeof url);
    hamux_client *client = NULL;
    CHECK_STATUS(hamux_client_new("{\"connections-per-peer\": 1}", &client), HAMUX_OK);
    for (int n = 0; n < 10; n++) {
        char other[64];
        snprintf(other, sizeof other, "{\"command\":\"config-get\",\"n\":%d}", n);
        CHECK_STATUS(hamux_client_send(client, url, (const uint8_t *)other, strlen(other), on_reply, NULL, NULL),
                     HAMUX_OK);
        for (int i = 0; i < 3; i++) {
            static const char lease[] = "{\"command\":\"lease4-update\",\"arguments\":{}}";
            CHECK_STATUS(hamux_client_send(client, url, (const uint8_t *)lease, sizeof lease - 1, on_reply, NULL,
                                           NULL), HAMUX_OK);
        }
    }
    CHECKF(counter_wait(&done, 40, stretched_ms(20000)) == 40, "only %ld of 40 replies", counter_get(&done));
    CHECKF(atomic_load(&max_other) == 1, "config-get commands overlapped (%d at once)", atomic_load(&max_other));
    CHECKF(atomic_load(&max_leases) >= 2, "lease updates never ran in parallel (max %d)", atomic_load(&max_leases));
    CHECK(atomic_load(&order_ok) && atomic_load(&next_other) == 10);
    char *stats = hamux_listener_stats(listener);
    CHECKF(contains(stats, "\"serial-requests\":10"), "%s", stats);
    hamux_string_free(stats);
    hamux_client_free(client);
    hamux_listener_free(listener);
    counter_destroy(&done);
    printf("serial_lane: lease updates up to %d at once, other commands one at a time, in order\n",
           atomic_load(&max_leases));
    return 0;
}
