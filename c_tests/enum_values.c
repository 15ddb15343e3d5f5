/* enum_values: hamux enums passed from C arrive as uint32_t, so any number is safe.
 * hamux_status_name names each status and gives "HAMUX_E_INVALID" (never NULL) for a
 * number that is not one, with a hamux_last_error() detail; hamux_request_respond_error
 * refuses such a number with HAMUX_E_INVALID, still frees the request (ASan and valgrind
 * would see a leak) and tells the peer HAMUX_E_INTERNAL; a hamux_lease6 type out of range
 * is refused. */
#include "common.h"

static const char *const names[] = {
    "HAMUX_OK",         "HAMUX_E_INVALID",  "HAMUX_E_CONFIG",    "HAMUX_E_BUSY",
    "HAMUX_E_SHUTDOWN", "HAMUX_E_TIMEOUT",  "HAMUX_E_CONNECT",   "HAMUX_E_PROTOCOL",
    "HAMUX_E_CANCELLED", "HAMUX_E_TLS",     "HAMUX_E_INTERNAL",  "HAMUX_E_HTTP",
};
#define N_NAMES (sizeof names / sizeof names[0])

/* What the listener's host answers request n with, and what each side then sees. */
static const struct {
    uint32_t status;         /* passed to hamux_request_respond_error */
    hamux_status returned;   /* what that call returns */
    hamux_status peer_gets;  /* the client's callback status */
} cases[] = {
    {N_NAMES, HAMUX_E_INVALID, HAMUX_E_INTERNAL},
    {99, HAMUX_E_INVALID, HAMUX_E_INTERNAL},
    {0x80000000u, HAMUX_E_INVALID, HAMUX_E_INTERNAL},
    {UINT32_MAX, HAMUX_E_INVALID, HAMUX_E_INTERNAL},
    {HAMUX_E_BUSY, HAMUX_OK, HAMUX_E_BUSY},   /* a real status passes through */
    {HAMUX_OK, HAMUX_OK, HAMUX_E_PROTOCOL},   /* an error answer is never a success */
};
#define N_CASES (sizeof cases / sizeof cases[0])

static atomic_int returned[N_CASES], peer_got[N_CASES];
static counter answered, replies;

static void on_request(void *ud, hamux_request *req, const uint8_t *body, size_t len) {
    (void)ud;
    char *text = body_dup(body, len);
    const char *at = strstr(text, "\"n\":");
    int n = -1;
    CHECK(at && sscanf(at + 4, "%d", &n) == 1 && n >= 0 && (size_t)n < N_CASES);
    free(text);
    hamux_status st = hamux_request_respond_error(req, cases[n].status, "from the host");
    if (st == HAMUX_E_INVALID) { /* the detail names the refused number, on this thread */
        char number[16];
        snprintf(number, sizeof number, "%lu", (unsigned long)cases[n].status);
        CHECKF(contains(hamux_last_error(), number), "detail \"%s\" lacks %s", hamux_last_error(), number);
    }
    atomic_store(&returned[n], (int)st);
    counter_add(&answered, 1);
}

static void on_reply(void *ud, uint64_t txid, hamux_status st, const uint8_t *body, size_t len) {
    (void)txid;
    size_t n = (size_t)(uintptr_t)ud;
    char *text = body_dup(body, len);
    if (cases[n].peer_gets == HAMUX_E_INTERNAL) {
        CHECKF(contains(text, "invalid status"), "case %zu: body \"%s\"", n, text);
    } else {
        CHECKF(contains(text, "from the host"), "case %zu: body \"%s\"", n, text);
    }
    free(text);
    atomic_store(&peer_got[n], (int)st);
    counter_add(&replies, 1);
}

static void names_of_statuses(void) {
    for (uint32_t i = 0; i < N_NAMES; i++) {
        const char *name = hamux_status_name(i);
        CHECKF(name && strcmp(name, names[i]) == 0, "hamux_status_name(%u) = %s", i, name ? name : "NULL");
    }
    CHECK(strcmp(hamux_status_name(HAMUX_E_TIMEOUT), "HAMUX_E_TIMEOUT") == 0);
    const uint32_t unknown[] = {N_NAMES, 99, 0x7fffffffu, 0x80000000u, UINT32_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *name = hamux_status_name(unknown[i]);
        CHECKF(name && strcmp(name, "HAMUX_E_INVALID") == 0, "hamux_status_name(%lu) = %s",
               (unsigned long)unknown[i], name ? name : "NULL");
        char number[16];
        snprintf(number, sizeof number, "%lu", (unsigned long)unknown[i]);
        CHECKF(contains(hamux_last_error(), number), "detail \"%s\" lacks %s", hamux_last_error(), number);
    }
}

int main(void) {
    names_of_statuses();

    counter_init(&answered);
    counter_init(&replies);
    char url[64];
    hamux_listener *listener = start_listener(NULL, on_request, NULL, url, sizeof url);
    hamux_client *client = NULL;
    CHECK_STATUS(hamux_client_new("{}", &client), HAMUX_OK);
    for (size_t n = 0; n < N_CASES; n++) {
        char body[64];
        snprintf(body, sizeof body, "{\"command\":\"ha-heartbeat\",\"n\":%zu}", n);
        CHECK_STATUS(hamux_client_send(client, url, (const uint8_t *)body, strlen(body), on_reply,
                                       (void *)(uintptr_t)n, NULL),
                     HAMUX_OK);
    }
    CHECKF(counter_wait(&replies, N_CASES, stretched_ms(20000)) == (long)N_CASES, "only %ld of %zu replies",
           counter_get(&replies), N_CASES);
    CHECK(counter_get(&answered) == (long)N_CASES);
    for (size_t n = 0; n < N_CASES; n++) {
        CHECKF(atomic_load(&returned[n]) == (int)cases[n].returned, "respond_error(%lu) returned %s, expected %s",
               (unsigned long)cases[n].status, hamux_status_name((uint32_t)atomic_load(&returned[n])),
               hamux_status_name(cases[n].returned));
        CHECKF(atomic_load(&peer_got[n]) == (int)cases[n].peer_gets, "respond_error(%lu): the peer got %s, expected %s",
               (unsigned long)cases[n].status, hamux_status_name((uint32_t)atomic_load(&peer_got[n])),
               hamux_status_name(cases[n].peer_gets));
    }

    /* The other enum a host passes by value: a lease6 type out of range never reaches the wire. */
    const uint32_t bad_types[] = {2, 99, UINT32_MAX};
    for (size_t i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++) {
        hamux_lease6 lease = {.ip_address = "2001:db8::10", .lease_type = bad_types[i], .duid = "00:03:00:01:aa:bb"};
        CHECK_STATUS(hamux_lease6_update(client, url, &lease, on_reply, NULL, NULL), HAMUX_E_INVALID);
        CHECKF(contains(hamux_last_error(), "lease_type"), "detail \"%s\"", hamux_last_error());
    }

    hamux_client_free(client);
    hamux_listener_free(listener);
    CHECK(counter_get(&replies) == (long)N_CASES);
    counter_destroy(&answered);
    counter_destroy(&replies);
    printf("enum_values: out-of-range statuses and lease types refused with HAMUX_E_INVALID\n");
    return 0;
}
