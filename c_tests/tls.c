/* tls: a C host using TLS through the header alone. The harness makes a CA and
 * certificates at run time and passes their directory in HAMUX_TEST_PKI. Proves that with
 * mutual TLS, requests over hamuxs:// and https:// round-trip; that a client without a
 * certificate, and one trusting another CA, get every callback exactly once with
 * HAMUX_E_TLS and a description; that the listener counts the refused handshakes; and that
 * a missing certificate file is refused at creation with HAMUX_E_CONFIG naming it. */
#include "common.h" /* first: it sets _POSIX_C_SOURCE */

#define REQUESTS 200

typedef struct {
    counter done;
    atomic_int ok, tls, other;
    char last_error[256];
} tally;

static const char COMMAND[] = "{\"command\":\"lease4-update\",\"arguments\":{\"ip-address\":\"192.0.2.7\"}}";
static const char REPLY[] = "[{\"result\":0,\"text\":\"IPv4 lease updated.\"}]";

static void on_request(void *user_data, hamux_request *req, const uint8_t *body, size_t len) {
    (void)user_data;
    CHECK(body_equals(body, len, COMMAND));
    CHECK_STATUS(hamux_request_respond(req, (const uint8_t *)REPLY, sizeof REPLY - 1), HAMUX_OK);
}

static void on_response(void *user_data, uint64_t txid, hamux_status status, const uint8_t *body, size_t len) {
    (void)txid;
    tally *t = user_data;
    if (status == HAMUX_OK && body_equals(body, len, REPLY)) {
        atomic_fetch_add(&t->ok, 1);
    } else if (status == HAMUX_E_TLS && len > 0) {
        atomic_fetch_add(&t->tls, 1);
        snprintf(t->last_error, sizeof t->last_error, "%.*s", (int)len, (const char *)body);
    } else {
        fprintf(stderr, "unexpected %s: %.*s\n", hamux_status_name(status), (int)len, (const char *)body);
        atomic_fetch_add(&t->other, 1);
    }
    counter_add(&t->done, 1);
}

/* Sends `n` commands to `url` with a client made from `config`; waits for every callback. */
static void run(const char *config, const char *url, long n, tally *t) {
    hamux_client *client = NULL;
    CHECK_STATUS(hamux_client_new(config, &client), HAMUX_OK);
    counter_init(&t->done);
    atomic_store(&t->ok, 0);
    atomic_store(&t->tls, 0);
    atomic_store(&t->other, 0);
    for (long i = 0; i < n; i++) {
        CHECK_STATUS(hamux_client_send(client, url, (const uint8_t *)COMMAND, sizeof COMMAND - 1, on_response, t,
                                       NULL),
                     HAMUX_OK);
    }
    long got = counter_wait(&t->done, n, stretched_ms(20000));
    CHECKF(got == n, "%s: %ld of %ld callbacks", url, got, n);
    hamux_client_free(client);
    /* Exactly once: nothing more arrives after free. */
    CHECKF(counter_get(&t->done) == n, "%s: %ld callbacks for %ld requests", url, counter_get(&t->done), n);
    counter_destroy(&t->done);
}

int main(void) {
    const char *pki = getenv("HAMUX_TEST_PKI");
    CHECKF(pki && *pki, "HAMUX_TEST_PKI must name the directory of the test certificates");
    char config[2048];
    snprintf(config, sizeof config,
             "{\"address\": \"127.0.0.1\", \"port\": 0, \"trust-anchor\": \"%s/ca.pem\","
             " \"cert-file\": \"%s/server.pem\", \"key-file\": \"%s/server-key.pem\"}",
             pki, pki, pki);
    hamux_listener *listener = NULL;
    CHECK_STATUS(hamux_listener_new(config, on_request, NULL, &listener), HAMUX_OK);
    unsigned port = hamux_listener_port(listener);

    char urls[2][64];
    snprintf(urls[0], sizeof urls[0], "hamuxs://127.0.0.1:%u", port);
    snprintf(urls[1], sizeof urls[1], "https://127.0.0.1:%u/", port);
    long n = scaled(REQUESTS);
    tally t;
    for (int u = 0; u < 2; u++) {
        snprintf(config, sizeof config,
                 "{\"trust-anchor\": \"%s/ca.pem\", \"cert-file\": \"%s/client.pem\","
                 " \"key-file\": \"%s/client-key.pem\"}",
                 pki, pki, pki);
        run(config, urls[u], n, &t);
        CHECKF(atomic_load(&t.ok) == n, "%s: %d of %ld OK", urls[u], atomic_load(&t.ok), n);

        /* No client certificate: the listener refuses the session. */
        snprintf(config, sizeof config, "{\"trust-anchor\": \"%s/ca.pem\"}", pki);
        run(config, urls[u], 5, &t);
        CHECKF(atomic_load(&t.tls) == 5 && atomic_load(&t.other) == 0, "%s without a certificate: %d TLS",
               urls[u], atomic_load(&t.tls));
        CHECKF(contains(t.last_error, "CertificateRequired"), "%s: %.200s", urls[u], t.last_error);

        /* Trusting another CA: the client refuses the listener. */
        snprintf(config, sizeof config,
                 "{\"trust-anchor\": \"%s/rogue-ca.pem\", \"cert-file\": \"%s/client.pem\","
                 " \"key-file\": \"%s/client-key.pem\"}",
                 pki, pki, pki);
        run(config, urls[u], 5, &t);
        CHECKF(atomic_load(&t.tls) == 5, "%s with another CA: %d TLS", urls[u], atomic_load(&t.tls));
        CHECKF(contains(t.last_error, "UnknownIssuer"), "%s: %.200s", urls[u], t.last_error);
    }

    char *stats = hamux_listener_stats(listener);
    CHECK(stats != NULL);
    CHECKF(!contains(stats, "\"tls-failures\":0,"), "refused handshakes are counted: %s", stats);
    hamux_string_free(stats);
    hamux_listener_free(listener);

    /* A certificate file that does not exist: refused at creation, the file named. */
    hamux_client *client = NULL;
    snprintf(config, sizeof config,
             "{\"peers\": [{\"url\": \"hamuxs://127.0.0.1:1\", \"trust-anchor\": \"%s/no-such-ca.pem\"}]}", pki);
    CHECK_STATUS(hamux_client_new(config, &client), HAMUX_E_CONFIG);
    CHECK(client == NULL);
    CHECKF(contains(hamux_last_error(), "no-such-ca.pem"), "%.200s", hamux_last_error());
    printf("tls: %ld requests each over hamuxs:// and https://, refusals reported as HAMUX_E_TLS\n", n);
    return 0;
}
