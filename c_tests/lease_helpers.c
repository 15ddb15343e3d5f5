/* lease_helpers: the typed lease API over HTTP and hamux://. Proves that
 * hamux_lease4_update / _del, hamux_lease6_update / _del and hamux_lease6_bulk_apply
 * build Kea's HA commands with Kea's argument names (checked in the listener's request
 * callback), that hamux_reply_result reads Kea's result and text from the reply, and
 * that bad leases are refused with HAMUX_E_INVALID before anything is sent. */
#include "common.h"

#define REPLY "[ { \"result\": 0, \"text\": \"IPv4 lease updated.\" } ]"

static char last_request[4096];
static pthread_mutex_t last_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_request(void *user_data, hamux_request *req, const uint8_t *body, size_t len) {
    (void)user_data;
    pthread_mutex_lock(&last_lock);
    snprintf(last_request, sizeof last_request, "%.*s", (int)len, (const char *)body);
    pthread_mutex_unlock(&last_lock);
    CHECK_STATUS(hamux_request_respond(req, (const uint8_t *)REPLY, strlen(REPLY)), HAMUX_OK);
}

typedef struct {
    counter done;
    hamux_status status;
    int64_t result;
    char *text;
} outcome;

static void on_response(void *user_data, uint64_t txid, hamux_status status, const uint8_t *body, size_t len) {
    (void)txid;
    outcome *o = user_data;
    o->status = status;
    if (status == HAMUX_OK) {
        CHECK_STATUS(hamux_reply_result(body, len, &o->result, &o->text), HAMUX_OK);
    }
    counter_add(&o->done, 1);
}

/* Waits for the callback of a send that returned `sent`, then checks the request the
 * listener saw contains every `needles` string. */
static void expect(hamux_status sent, outcome *o, const char *const *needles) {
    CHECK_STATUS(sent, HAMUX_OK);
    CHECKF(counter_wait(&o->done, 1, stretched_ms(10000)) == 1, "no callback");
    CHECK_STATUS(o->status, HAMUX_OK);
    CHECKF(o->result == 0, "result %lld", (long long)o->result);
    CHECKF(strcmp(o->text, "IPv4 lease updated.") == 0, "text '%s'", o->text);
    hamux_string_free(o->text);
    pthread_mutex_lock(&last_lock);
    for (const char *const *n = needles; *n; n++) {
        CHECKF(contains(last_request, *n), "request lacks %s: %.300s", *n, last_request);
    }
    pthread_mutex_unlock(&last_lock);
    counter_destroy(&o->done);
}

static void run(hamux_client *client, const char *url) {
    hamux_lease4 l4 = {
        .ip_address = "192.0.2.7", .hw_address = "1a:1b:1c:1d:1e:1f", .client_id = "01:02:03",
        .subnet_id = 1, .valid_lft = 3600, .expire = 1800000000, .hostname = "host7.example.org",
        .fqdn_fwd = true, .fqdn_rev = false, .state = 0, .user_context = "{\"site\":\"a\"}",
    };
    outcome o;
    counter_init(&o.done);
    const char *const update4[] = {"\"command\":\"lease4-update\"", "\"ip-address\":\"192.0.2.7\"",
                                   "\"hw-address\":\"1a:1b:1c:1d:1e:1f\"", "\"client-id\":\"01:02:03\"",
                                   "\"subnet-id\":1", "\"valid-lft\":3600", "\"expire\":1800000000",
                                   "\"hostname\":\"host7.example.org\"", "\"fqdn-fwd\":true",
                                   "\"user-context\":{\"site\":\"a\"}", "\"force-create\":true",
                                   "\"origin\":\"ha-partner\"", "\"service\":[\"dhcp4\"]", NULL};
    expect(hamux_lease4_update(client, url, &l4, on_response, &o, NULL), &o, update4);

    counter_init(&o.done);
    const char *const del4[] = {"\"command\":\"lease4-del\"", "\"ip-address\":\"192.0.2.7\"", NULL};
    expect(hamux_lease4_del(client, url, &l4, on_response, &o, NULL), &o, del4);

    hamux_lease6 l6[2] = {
        {.ip_address = "2001:db8::10", .lease_type = HAMUX_LEASE6_IA_NA, .duid = "00:03:00:01:aa:bb",
         .iaid = 42, .subnet_id = 1, .valid_lft = 3600, .preferred_lft = 1800},
        {.ip_address = "2001:db8:1:100::", .lease_type = HAMUX_LEASE6_IA_PD, .prefix_len = 56,
         .duid = "00:03:00:01:aa:cc", .iaid = 43, .subnet_id = 2, .valid_lft = 3600, .preferred_lft = 1800},
    };
    counter_init(&o.done);
    const char *const update6[] = {"\"command\":\"lease6-update\"", "\"type\":\"IA_NA\"", "\"iaid\":42",
                                   "\"duid\":\"00:03:00:01:aa:bb\"", "\"preferred-lft\":1800", NULL};
    expect(hamux_lease6_update(client, url, &l6[0], on_response, &o, NULL), &o, update6);

    counter_init(&o.done);
    const char *const del6[] = {"\"command\":\"lease6-del\"", "\"ip-address\":\"2001:db8:1:100::\"",
                                "\"type\":\"IA_PD\"", "\"prefix-len\":56", NULL};
    expect(hamux_lease6_del(client, url, &l6[1], on_response, &o, NULL), &o, del6);

    counter_init(&o.done);
    const char *const bulk[] = {"\"command\":\"lease6-bulk-apply\"", "\"leases\":[{",
                                "\"deleted-leases\":[{\"ip-address\":\"2001:db8:1:100::\",\"type\":\"IA_PD\"}]",
                                NULL};
    expect(hamux_lease6_bulk_apply(client, url, l6, 1, &l6[1], 1, on_response, &o, NULL), &o, bulk);

    /* Bad leases are refused before sending. */
    hamux_lease4 no_ip = l4;
    no_ip.ip_address = NULL;
    CHECK_STATUS(hamux_lease4_update(client, url, &no_ip, on_response, &o, NULL), HAMUX_E_INVALID);
    hamux_lease4 bad_context = l4;
    bad_context.user_context = "[1]";
    CHECK_STATUS(hamux_lease4_update(client, url, &bad_context, on_response, &o, NULL), HAMUX_E_INVALID);
    CHECKF(contains(hamux_last_error(), "user-context"), "last error: %s", hamux_last_error());
    hamux_lease6 bad_type = l6[0];
    bad_type.lease_type = 7;
    CHECK_STATUS(hamux_lease6_update(client, url, &bad_type, on_response, &o, NULL), HAMUX_E_INVALID);
    CHECK_STATUS(hamux_lease6_bulk_apply(client, url, NULL, 3, NULL, 0, on_response, &o, NULL), HAMUX_E_INVALID);
    CHECK_STATUS(hamux_lease4_update(client, url, NULL, on_response, &o, NULL), HAMUX_E_INVALID);
}

int main(void) {
    char url[128];
    hamux_listener *listener = start_listener(NULL, on_request, NULL, url, sizeof url);
    hamux_client *client = NULL;
    CHECK_STATUS(hamux_client_new("{}", &client), HAMUX_OK);

    run(client, url); /* hamux:// */
    char http_url[160];
    snprintf(http_url, sizeof http_url, "http://%s/", url + strlen("hamux://"));
    run(client, http_url); /* HTTP/1.1 on the same listener port */

    int64_t result = -1;
    const char *refusal = "{ \"result\": 400, \"text\": \"Bad Request\" }";
    CHECK_STATUS(hamux_reply_result((const uint8_t *)refusal, strlen(refusal), &result, NULL), HAMUX_OK);
    CHECK(result == 400);
    CHECK_STATUS(hamux_reply_result((const uint8_t *)"[]", 2, &result, NULL), HAMUX_E_INVALID);
    CHECK_STATUS(hamux_reply_result((const uint8_t *)"x", 1, NULL, NULL), HAMUX_E_INVALID);

    hamux_client_free(client);
    hamux_listener_free(listener);
    printf("lease_helpers: ok\n");
    return 0;
}
