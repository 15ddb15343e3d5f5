/* basic: one client and one listener over loopback through the C API. Proves that
 * version and status names are right, that a command reaches the request callback
 * intact and its reply reaches the response callback with the txid send returned, that
 * respond_error delivers the host's status and message, that a NULL reply body is refused
 * with an error reply, and that both stats calls return JSON with the documented keys. */
#include "common.h"

#define COMMAND "{\"command\":\"lease4-update\",\"service\":[\"dhcp4\"],\"arguments\":" \
                "{\"ip-address\":\"192.0.2.1\",\"hw-address\":\"1a:1b:1c:1d:1e:1f\",\"valid-lft\":3600}}"
#define REPLY "[{\"result\":0,\"text\":\"IPv4 lease updated.\"}]"

/* What the response callback saw for one transaction. */
typedef struct {
    counter done;
    uint64_t txid;
    hamux_status status;
    char *body;
} outcome;

static atomic_ullong request_txids[3];

static void on_request(void *user_data, hamux_request *req, const uint8_t *body, size_t len) {
    CHECK(user_data == (void *)&request_txids);
    CHECK(req != NULL);
    char *text = body_dup(body, len);
    uint64_t txid = hamux_request_txid(req);
    CHECK(txid != 0);
    if (contains(text, "busy-me")) {
        atomic_store(&request_txids[1], txid);
        CHECK_STATUS(hamux_request_respond_error(req, HAMUX_E_BUSY, "peer is overloaded, retry"), HAMUX_OK);
    } else if (contains(text, "null-body")) {
        atomic_store(&request_txids[2], txid);
        CHECK_STATUS(hamux_request_respond(req, NULL, 5), HAMUX_E_INVALID);
    } else {
        CHECKF(strcmp(text, COMMAND) == 0, "request body differs: %s", text);
        atomic_store(&request_txids[0], txid);
        CHECK_STATUS(hamux_request_respond(req, (const uint8_t *)REPLY, strlen(REPLY)), HAMUX_OK);
    }
    free(text);
}

static void on_response(void *user_data, uint64_t txid, hamux_status status, const uint8_t *body,
                        size_t len) {
    outcome *o = user_data;
    o->txid = txid;
    o->status = status;
    o->body = body_dup(body, len);
    CHECKF(counter_add(&o->done, 1) == 1, "response callback for txid %llu ran twice",
           (unsigned long long)txid);
}

/* Sends `command` and waits for its one callback. */
static void round_trip(hamux_client *client, const char *url, const char *command, outcome *o) {
    counter_init(&o->done);
    uint64_t txid = 0;
    CHECK_STATUS(hamux_client_send(client, url, (const uint8_t *)command, strlen(command), on_response, o,
                                   &txid),
                 HAMUX_OK);
    CHECK(txid != 0);
    CHECKF(counter_wait(&o->done, 1, stretched_ms(10000)) == 1, "no callback for txid %llu",
           (unsigned long long)txid);
    CHECKF(o->txid == txid, "callback txid %llu, send gave %llu", (unsigned long long)o->txid,
           (unsigned long long)txid);
}

int main(void) {
    const char *version = hamux_version();
    CHECK(version != NULL && version[0] >= '0' && version[0] <= '9');
    static const char *const names[] = {
        "HAMUX_OK",         "HAMUX_E_INVALID", "HAMUX_E_CONFIG",    "HAMUX_E_BUSY",
        "HAMUX_E_SHUTDOWN", "HAMUX_E_TIMEOUT", "HAMUX_E_CONNECT",   "HAMUX_E_PROTOCOL",
        "HAMUX_E_CANCELLED", "HAMUX_E_TLS",    "HAMUX_E_INTERNAL",
    };
    for (int s = HAMUX_OK; s <= HAMUX_E_INTERNAL; s++) {
        const char *name = hamux_status_name((hamux_status)s);
        CHECKF(name && strcmp(name, names[s]) == 0, "status %d is named %s", s, name ? name : "(null)");
    }

    char url[64];
    hamux_listener *listener = start_listener(NULL, on_request, &request_txids, url, sizeof url);
    hamux_client *client = NULL;
    CHECK_STATUS(hamux_client_new("{}", &client), HAMUX_OK);
    CHECK(client != NULL);

    outcome ok;
    round_trip(client, url, COMMAND, &ok);
    CHECKF(ok.status == HAMUX_OK, "status %s: %s", hamux_status_name(ok.status), ok.body);
    CHECKF(strcmp(ok.body, REPLY) == 0, "reply body differs: %s", ok.body);
    CHECK(atomic_load(&request_txids[0]) == ok.txid); /* the listener sees the client's txid */

    outcome busy;
    round_trip(client, url, "{\"command\":\"busy-me\"}", &busy);
    CHECKF(busy.status == HAMUX_E_BUSY, "status %s: %s", hamux_status_name(busy.status), busy.body);
    CHECKF(contains(busy.body, "peer is overloaded, retry"), "error body: %s", busy.body);
    CHECK(atomic_load(&request_txids[1]) == busy.txid);

    outcome bad;
    round_trip(client, url, "{\"command\":\"null-body\"}", &bad);
    CHECKF(bad.status != HAMUX_OK, "a NULL reply body gave status OK: %s", bad.body);
    CHECK(atomic_load(&request_txids[2]) == bad.txid);

    char *stats = hamux_client_stats(client);
    CHECK(stats != NULL);
    printf("client stats: %s\n", stats);
    CHECKF(stats[0] == '{' && contains(stats, "\"peers\"") && contains(stats, "\"in-flight\"") &&
               contains(stats, url) && contains(stats, "\"sent\":3") && contains(stats, "\"completed\""),
           "client stats: %s", stats);
    hamux_string_free(stats);
    stats = hamux_listener_stats(listener);
    CHECK(stats != NULL);
    printf("listener stats: %s\n", stats);
    CHECKF(stats[0] == '{' && contains(stats, "\"requests\":3") && contains(stats, "\"responses\"") &&
               contains(stats, "\"connections-accepted\""),
           "listener stats: %s", stats);
    hamux_string_free(stats);

    hamux_client_free(client);
    hamux_listener_free(listener);
    outcome *all[] = {&ok, &busy, &bad};
    for (int i = 0; i < 3; i++) {
        CHECK(counter_get(&all[i]->done) == 1); /* freeing ran no further callback */
        free(all[i]->body);
        counter_destroy(&all[i]->done);
    }
    printf("basic: ok (hamux %s)\n", version);
    return 0;
}
