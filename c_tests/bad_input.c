/* bad_input: every refused argument and configuration returns its documented status
 * (HAMUX_E_INVALID or HAMUX_E_CONFIG; HAMUX_E_CONNECT for a port in use) with a
 * hamux_last_error() text, naming the key for configurations; a refused send never runs
 * its callback; NULL handles are harmless. */
#include "common.h"

static atomic_int callbacks;

static void on_response(void *user_data, uint64_t txid, hamux_status status, const uint8_t *body,
                        size_t len) {
    (void)user_data, (void)txid, (void)status, (void)body, (void)len;
    atomic_fetch_add(&callbacks, 1);
}

static void on_request(void *user_data, hamux_request *req, const uint8_t *body, size_t len) {
    (void)user_data, (void)body, (void)len;
    hamux_request_respond(req, (const uint8_t *)"[]", 2);
}

/* Checks a failed call's status, and that hamux_last_error() mentions `detail`. */
#define CHECK_REFUSED(expr, want, detail)                                                   \
    do {                                                                                    \
        CHECK_STATUS(expr, want);                                                           \
        const char *e_ = hamux_last_error();                                                \
        CHECKF(e_ && e_[0] && contains(e_, detail), "%s: last error \"%s\" lacks \"%s\"",  \
               #expr, e_ ? e_ : "(null)", detail);                                          \
    } while (0)

static void *fresh_thread_last_error(void *arg) {
    (void)arg;
    const char *e = hamux_last_error();
    return (void *)(intptr_t)(e != NULL && e[0] == '\0');
}

int main(void) {
    /* The per-thread detail starts empty. */
    pthread_t t;
    void *empty = NULL;
    CHECK(pthread_create(&t, NULL, fresh_thread_last_error, NULL) == 0 && pthread_join(t, &empty) == 0);
    CHECK(empty == (void *)1);

    hamux_client *client = (hamux_client *)&callbacks; /* must stay untouched on failure */
    CHECK_REFUSED(hamux_client_new(NULL, &client), HAMUX_E_INVALID, "config_json");
    CHECK_REFUSED(hamux_client_new("{}", NULL), HAMUX_E_INVALID, "out");
    CHECK(client == (hamux_client *)&callbacks);

    struct {
        const char *config, *detail;
    } bad_client[] = {
        {"{\"io-thread\": 1}", "'io-thread'"},
        {"{\"connections-per-peer\": 0}", "'connections-per-peer'"},
        {"{\"max-in-flight\": \"many\"}", "'max-in-flight'"},
        {"{\"request-timeout-ms\": -5}", "'request-timeout-ms'"},
        {"{\"peers\": [{\"url\": \"hamux://127.0.0.1:1\", \"bogus\": 1}]}", "'peers[0].bogus'"},
        {"{\"peers\": [{\"url\": \"ftp://127.0.0.1:1\"}]}", "'peers[0].url'"},
        {"{\"io-threads\": 2,", "JSON"},
        {"[1]", "JSON object"},
        {"", "JSON"},
    };
    for (size_t i = 0; i < sizeof bad_client / sizeof bad_client[0]; i++) {
        CHECK_REFUSED(hamux_client_new(bad_client[i].config, &client), HAMUX_E_CONFIG, bad_client[i].detail);
    }
    CHECK(client == (hamux_client *)&callbacks);

    hamux_listener *listener = NULL;
    struct {
        const char *config, *detail;
    } bad_listener[] = {
        {"{\"prot\": 1}", "'prot'"},
        {"{\"port\": 70000}", "'port'"},
        {"{\"handler-threads\": 257}", "'handler-threads'"},
        {"{\"address\": \"localhost\"}", "'address'"},
        {"{\"max-pending\": -1}", "'max-pending'"},
        {"not json", "JSON"},
        {"\"port\"", "JSON object"},
    };
    for (size_t i = 0; i < sizeof bad_listener / sizeof bad_listener[0]; i++) {
        CHECK_REFUSED(hamux_listener_new(bad_listener[i].config, on_request, NULL, &listener), HAMUX_E_CONFIG,
                      bad_listener[i].detail);
        CHECK(listener == NULL);
    }
    CHECK_REFUSED(hamux_listener_new(NULL, on_request, NULL, &listener), HAMUX_E_INVALID, "config_json");
    CHECK_REFUSED(hamux_listener_new("{}", NULL, NULL, &listener), HAMUX_E_INVALID, "cb");
    CHECK_REFUSED(hamux_listener_new("{}", on_request, NULL, NULL), HAMUX_E_INVALID, "out");
    CHECK(listener == NULL);

    char url[64];
    listener = start_listener(NULL, on_request, NULL, url, sizeof url);
    char taken[64]; /* a second listener on the same port cannot bind */
    snprintf(taken, sizeof taken, "{\"port\": %u}", (unsigned)hamux_listener_port(listener));
    hamux_listener *second = NULL;
    CHECK_REFUSED(hamux_listener_new(taken, on_request, NULL, &second), HAMUX_E_CONNECT, "listen");
    CHECK(second == NULL);
    CHECK_STATUS(hamux_client_new("{\"max-frame-bytes\": 64}", &client), HAMUX_OK);
    static const char ok[] = "{\"command\":\"ha-heartbeat\"}";
    const uint8_t *body = (const uint8_t *)ok;
    size_t len = sizeof ok - 1;
    uint64_t txid = 12345;
#define SEND(client, url, body, len, cb) hamux_client_send(client, url, body, len, cb, NULL, &txid)
    CHECK_REFUSED(SEND(NULL, url, body, len, on_response), HAMUX_E_INVALID, "client");
    CHECK_REFUSED(SEND(client, NULL, body, len, on_response), HAMUX_E_INVALID, "peer_url");
    CHECK_REFUSED(SEND(client, url, NULL, len, on_response), HAMUX_E_INVALID, "body");
    CHECK_REFUSED(SEND(client, url, NULL, 0, on_response), HAMUX_E_INVALID, "JSON object");
    CHECK_REFUSED(SEND(client, url, body, len, NULL), HAMUX_E_INVALID, "cb");
    struct {
        const char *body, *detail;
    } bad_body[] = {
        {"{\"command\": ", "not valid JSON"},
        {"{\"a\":1} trailing", "not valid JSON"},
        {"[1]", "JSON object"},
        {"\"lease4-update\"", "JSON object"},
        {"{\"command\":\"lease4-update\",\"arguments\":{\"padding\":\"0123456789012345678901234567\"}}",
         "max-frame-bytes"}, /* 65 bytes */
    };
    for (size_t i = 0; i < sizeof bad_body / sizeof bad_body[0]; i++) {
        const char *b = bad_body[i].body;
        CHECK_REFUSED(SEND(client, url, (const uint8_t *)b, strlen(b), on_response), HAMUX_E_INVALID,
                      bad_body[i].detail);
    }
    const char *bad_urls[] = {"ftp://127.0.0.1:8000", "hamux://127.0.0.1", "hamux://:8000",
                              "hamux://127.0.0.1:0", "127.0.0.1:8000", ""};
    for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++) {
        CHECK_REFUSED(SEND(client, bad_urls[i], body, len, on_response), HAMUX_E_INVALID, "URL");
    }
    CHECK(txid == 12345); /* not written on failure */

    /* A good send after all that still works, and txid_out may be NULL. */
    CHECK_STATUS(hamux_client_send(client, url, body, len, on_response, NULL, NULL), HAMUX_OK);
    char *stats = hamux_client_stats(client);
    CHECKF(contains(stats, "\"sent\":1,") || contains(stats, "\"sent\":1}"), "stats: %s", stats);
    hamux_string_free(stats);
    hamux_client_free(client);
    hamux_listener_free(listener);
    CHECKF(atomic_load(&callbacks) == 1, "%d callbacks for one accepted send", atomic_load(&callbacks));

    /* NULL handles. */
    hamux_client_free(NULL);
    hamux_listener_free(NULL);
    hamux_string_free(NULL);
    CHECK(hamux_client_stats(NULL) == NULL);
    CHECK(hamux_listener_stats(NULL) == NULL);
    CHECK(hamux_listener_port(NULL) == 0);
    CHECK(hamux_request_txid(NULL) == 0);
    CHECK_REFUSED(hamux_request_respond(NULL, body, len), HAMUX_E_INVALID, "request");
    CHECK_REFUSED(hamux_request_respond_error(NULL, HAMUX_E_BUSY, "x"), HAMUX_E_INVALID, "request");
    printf("bad_input: ok\n");
    return 0;
}
