/* Built by tests/install.rs against an installed copy of hamux, with nothing but
 * `pkg-config --cflags --libs hamux` (or `--static`): checks hamux_version() against
 * argv[1], replicates a lease over hamux:// and over http:// to its own listener, and
 * prints which libhamux file the process mapped (from /proc/self/maps), or that none was
 * (linked statically). Exits 0 on success. */
#define _POSIX_C_SOURCE 200809L

#include <hamux.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ANSWER "[ { \"result\": 0, \"text\": \"IPv4 lease updated.\" } ]"

static atomic_int requests, replies, good_replies;

/* Whether `needle` occurs in the `len` bytes at `body` (not NUL-terminated). */
static int contains(const uint8_t *body, size_t len, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(body + i, needle, n) == 0) return 1;
    return 0;
}

static void on_request(void *ud, hamux_request *req, const uint8_t *body, size_t len) {
    (void)ud;
    /* Both commands update 192.0.2.77. */
    if (contains(body, len, "\"192.0.2.77\"")) atomic_fetch_add(&requests, 1);
    hamux_request_respond(req, (const uint8_t *)ANSWER, strlen(ANSWER));
}

static void on_reply(void *ud, uint64_t txid, hamux_status st, const uint8_t *body, size_t len) {
    int64_t result = -1;
    char *text = NULL;
    int ok = st == HAMUX_OK && hamux_reply_result(body, len, &result, &text) == HAMUX_OK && result == 0 &&
             strcmp(text, "IPv4 lease updated.") == 0;
    printf("%s reply (txid %llu): %s %.*s\n", (const char *)ud, (unsigned long long)txid,
           hamux_status_name(st), (int)len, (const char *)body);
    hamux_string_free(text);
    if (ok) atomic_fetch_add(&good_replies, 1);
    atomic_fetch_add(&replies, 1);
}

/* The file libhamux's code was mapped from, or NULL when no libhamux* file is mapped. */
static char *mapped_libhamux(void) {
    static char found[4096];
    char line[4600];
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps) return NULL;
    char *result = NULL;
    while (!result && fgets(line, sizeof line, maps)) {
        char *path = strchr(line, '/');
        if (path && strstr(path, "/libhamux")) {
            path[strcspn(path, "\n")] = '\0';
            snprintf(found, sizeof found, "%s", path);
            result = found;
        }
    }
    fclose(maps);
    return result;
}

int main(int argc, char **argv) {
    const char *version = hamux_version();
    printf("hamux_version: %s\n", version);
    if (argc > 1 && strcmp(version, argv[1]) != 0) {
        fprintf(stderr, "hamux_version() is %s, expected %s\n", version, argv[1]);
        return 1;
    }

    hamux_listener *listener;
    hamux_client *client;
    if (hamux_listener_new("{\"port\": 0}", on_request, NULL, &listener) != HAMUX_OK ||
        hamux_client_new("{\"request-timeout-ms\": 10000}", &client) != HAMUX_OK) {
        fprintf(stderr, "setup: %s\n", hamux_last_error());
        return 1;
    }
    char mux_url[64], http_url[64];
    snprintf(mux_url, sizeof mux_url, "hamux://127.0.0.1:%u", hamux_listener_port(listener));
    snprintf(http_url, sizeof http_url, "http://127.0.0.1:%u/", hamux_listener_port(listener));

    hamux_lease4 lease = {.ip_address = "192.0.2.77", .hw_address = "1a:1b:1c:1d:1e:1f",
                          .subnet_id = 1, .valid_lft = 3600};
    const char *cmd = "{\"command\": \"lease4-update\", \"service\": [\"dhcp4\"], "
                      "\"arguments\": {\"ip-address\": \"192.0.2.77\", \"subnet-id\": 1}}";
    if (hamux_lease4_update(client, mux_url, &lease, on_reply, "hamux://", NULL) != HAMUX_OK ||
        hamux_client_send(client, http_url, (const uint8_t *)cmd, strlen(cmd), on_reply, "http://", NULL) !=
            HAMUX_OK) {
        fprintf(stderr, "send: %s\n", hamux_last_error());
        return 1;
    }
    struct timespec tick = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 2000 && atomic_load(&replies) < 2; i++) nanosleep(&tick, NULL);

    hamux_client_free(client);
    hamux_listener_free(listener);
    int n_requests = atomic_load(&requests), n_replies = atomic_load(&replies);
    int n_good = atomic_load(&good_replies);
    if (n_requests != 2 || n_replies != 2 || n_good != 2) {
        fprintf(stderr, "requests %d, replies %d, good replies %d: expected 2 each\n", n_requests, n_replies,
                n_good);
        return 1;
    }

    const char *path = mapped_libhamux();
    printf("libhamux mapped from: %s\n", path ? path : "(none: linked statically)");
    return 0;
}
