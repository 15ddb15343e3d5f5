/* inline_handler: with "handler-threads": 0 the request callback of a lease update runs
 * on the listener IO thread that read it (named hamux-listener-io-N) and may answer at
 * once or later from another thread; other commands run on the serial lane's own thread.
 * The client side chains: each reply's callback sends that chain's next request from the
 * client's IO thread, which hamux keeps on a connection of that same thread. */
#include "common.h"

#include <sys/prctl.h>

#define CHAINS 16
#define PER_CHAIN 200

static atomic_int inline_leases, other_threads_leases, serial_on_lane, serial_elsewhere;

static bool on_thread_named(const char *prefix) {
    char name[17] = {0};
    CHECK(prctl(PR_GET_NAME, name, 0, 0, 0) == 0);
    return strncmp(name, prefix, strlen(prefix)) == 0;
}

static void *answer_later(void *arg) {
    sleep_ms(2);
    CHECK_STATUS(hamux_request_respond(arg, (const uint8_t *)"[ { \"result\": 0 } ]", 19), HAMUX_OK);
    return NULL;
}

static void on_request(void *ud, hamux_request *req, const uint8_t *body, size_t len) {
    (void)ud;
    char *text = body_dup(body, len);
    if (contains(text, "lease4-update")) {
        atomic_fetch_add(on_thread_named("hamux-listener") ? &inline_leases : &other_threads_leases, 1);
        if (contains(text, "\"later\"")) {
            pthread_t t;
            CHECK(pthread_create(&t, NULL, answer_later, req) == 0);
            pthread_detach(t);
        } else {
            CHECK_STATUS(hamux_request_respond(req, (const uint8_t *)"[ { \"result\": 0 } ]", 19), HAMUX_OK);
        }
    } else {
        atomic_fetch_add(on_thread_named("hamux-handler") ? &serial_on_lane : &serial_elsewhere, 1);
        CHECK_STATUS(hamux_request_respond(req, (const uint8_t *)"[ { \"result\": 0 } ]", 19), HAMUX_OK);
    }
    free(text);
}

struct chain {
    hamux_client *client;
    const char *url;
    int left;
    counter *done;
};

static void send_next(struct chain *c);

static void on_reply(void *ud, uint64_t txid, hamux_status st, const uint8_t *body, size_t len) {
    (void)txid; (void)body; (void)len;
    struct chain *c = ud;
    CHECKF(st == HAMUX_OK, "%s", hamux_status_name(st));
    if (--c->left > 0) {
        send_next(c);
    } else {
        counter_add(c->done, 1);
    }
}

static void send_next(struct chain *c) {
    /* Every 10th update is answered later from another thread. */
    const char *body = c->left % 10 == 0 ? "{\"command\":\"lease4-update\",\"arguments\":{\"later\":1}}"
                                         : "{\"command\":\"lease4-update\",\"arguments\":{}}";
    CHECK_STATUS(hamux_client_send(c->client, c->url, (const uint8_t *)body, strlen(body), on_reply, c, NULL),
                 HAMUX_OK);
}

static void on_serial_reply(void *ud, uint64_t txid, hamux_status st, const uint8_t *body, size_t len) {
    (void)txid; (void)body; (void)len;
    CHECKF(st == HAMUX_OK, "%s", hamux_status_name(st));
    counter_add(ud, 1);
}

int main(void) {
    char url[128];
    hamux_listener *listener = start_listener("\"handler-threads\": 0", on_request, NULL, url, sizeof url);
    hamux_client *client = NULL;
    CHECK_STATUS(hamux_client_new("{\"io-threads\": 2, \"connections-per-peer\": 4}", &client), HAMUX_OK);
    counter chains_done, serial_done;
    counter_init(&chains_done);
    counter_init(&serial_done);
    struct chain chains[CHAINS];
    for (int i = 0; i < CHAINS; i++) {
        chains[i] = (struct chain){client, url, PER_CHAIN, &chains_done};
        send_next(&chains[i]);
    }
    for (int i = 0; i < 5; i++) {
        static const char get[] = "{\"command\":\"config-get\"}";
        CHECK_STATUS(hamux_client_send(client, url, (const uint8_t *)get, sizeof get - 1, on_serial_reply,
                                       &serial_done, NULL), HAMUX_OK);
    }
    CHECKF(counter_wait(&chains_done, CHAINS, stretched_ms(60000)) == CHAINS, "only %ld of %d chains finished",
           counter_get(&chains_done), CHAINS);
    CHECKF(counter_wait(&serial_done, 5, stretched_ms(20000)) == 5, "only %ld of 5 serial replies",
           counter_get(&serial_done));
    CHECKF(atomic_load(&inline_leases) == CHAINS * PER_CHAIN && atomic_load(&other_threads_leases) == 0,
           "lease updates: %d inline, %d on other threads", atomic_load(&inline_leases),
           atomic_load(&other_threads_leases));
    CHECKF(atomic_load(&serial_on_lane) == 5 && atomic_load(&serial_elsewhere) == 0,
           "serial commands: %d on the lane's thread, %d elsewhere", atomic_load(&serial_on_lane),
           atomic_load(&serial_elsewhere));
    hamux_client_free(client);
    hamux_listener_free(listener);
    counter_destroy(&chains_done);
    counter_destroy(&serial_done);
    printf("inline_handler: %d lease updates run inline on the listener's IO threads, 5 serial commands on the lane\n",
           CHAINS * PER_CHAIN);
    return 0;
}
