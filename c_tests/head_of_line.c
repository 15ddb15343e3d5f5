/* head_of_line: on a single connection, a request the listener answers only after
 * 500 ms (times HAMUX_C_TIME_FACTOR) must not hold back the 100 requests sent after it,
 * which are answered at once. Records the order in which the callbacks run and proves the
 * slow one comes last. */
#include "common.h"

#define FAST 100
#define SLOW_MS 500.0

static struct {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    hamux_request *req;
} slow = {.mutex = PTHREAD_MUTEX_INITIALIZER};

static atomic_int next_rank;
static int rank_of[FAST + 1];          /* completion rank per request (index 0: the slow one) */
static double done_at[FAST + 1];
static counter completed;

static void on_request(void *user_data, hamux_request *req, const uint8_t *body, size_t len) {
    (void)user_data;
    char *text = body_dup(body, len);
    if (contains(text, "\"slow\"")) {
        pthread_mutex_lock(&slow.mutex);
        CHECK(slow.req == NULL);
        slow.req = req;
        pthread_cond_signal(&slow.cond);
        pthread_mutex_unlock(&slow.mutex);
    } else {
        static const char reply[] = "[{\"result\":0,\"text\":\"fast\"}]";
        CHECK_STATUS(hamux_request_respond(req, (const uint8_t *)reply, sizeof reply - 1), HAMUX_OK);
    }
    free(text);
}

/* Waits for the slow request, holds it SLOW_MS, then answers it. */
static void *slow_responder(void *arg) {
    (void)arg;
    struct timespec deadline = deadline_after_ms(stretched_ms(10000));
    pthread_mutex_lock(&slow.mutex);
    while (slow.req == NULL) {
        CHECKF(pthread_cond_timedwait(&slow.cond, &slow.mutex, &deadline) != ETIMEDOUT,
               "the slow request never reached the listener");
    }
    hamux_request *req = slow.req;
    pthread_mutex_unlock(&slow.mutex);
    sleep_ms(stretched_ms(SLOW_MS));
    static const char reply[] = "[{\"result\":0,\"text\":\"slow\"}]";
    CHECK_STATUS(hamux_request_respond(req, (const uint8_t *)reply, sizeof reply - 1), HAMUX_OK);
    return NULL;
}

static void on_response(void *user_data, uint64_t txid, hamux_status status, const uint8_t *body,
                        size_t len) {
    int index = (int)(intptr_t)user_data;
    CHECKF(status == HAMUX_OK, "request %d (txid %llu): %s: %.*s", index, (unsigned long long)txid,
           hamux_status_name(status), (int)len, (const char *)body);
    CHECK(body_equals(body, len, index == 0 ? "[{\"result\":0,\"text\":\"slow\"}]"
                                            : "[{\"result\":0,\"text\":\"fast\"}]"));
    CHECKF(rank_of[index] == 0, "request %d completed twice", index);
    rank_of[index] = atomic_fetch_add(&next_rank, 1) + 1;
    done_at[index] = now_ms();
    counter_add(&completed, 1);
}

int main(void) {
    cond_init(&slow.cond);
    counter_init(&completed);
    char url[64];
    hamux_listener *listener = start_listener(NULL, on_request, NULL, url, sizeof url);
    hamux_client *client = NULL;
    CHECK_STATUS(hamux_client_new("{\"connections-per-peer\": 1}", &client), HAMUX_OK);
    pthread_t responder;
    CHECK(pthread_create(&responder, NULL, slow_responder, NULL) == 0);

    double start = now_ms();
    /* Lease updates: the commands the listener hands to the host in parallel. */
    static const char slow_cmd[] = "{\"command\":\"lease4-update\",\"arguments\":{\"hostname\":\"slow\"}}",
                      fast_cmd[] = "{\"command\":\"lease4-update\",\"arguments\":{\"hostname\":\"fast\"}}";
    CHECK_STATUS(hamux_client_send(client, url, (const uint8_t *)slow_cmd, sizeof slow_cmd - 1, on_response,
                                   (void *)(intptr_t)0, NULL),
                 HAMUX_OK);
    for (intptr_t i = 1; i <= FAST; i++) {
        CHECK_STATUS(hamux_client_send(client, url, (const uint8_t *)fast_cmd, sizeof fast_cmd - 1,
                                       on_response, (void *)i, NULL),
                     HAMUX_OK);
    }
    long n = counter_wait(&completed, FAST + 1, stretched_ms(10000));
    CHECKF(n == FAST + 1, "only %ld of %d callbacks ran", n, FAST + 1);
    pthread_join(responder, NULL);

    /* Ranks were taken by concurrent callbacks; read them only now that all ran. */
    double last_fast = 0;
    for (int i = 1; i <= FAST; i++) {
        CHECKF(rank_of[i] < rank_of[0], "fast request %d completed after the slow one (rank %d vs %d)", i,
               rank_of[i], rank_of[0]);
        if (done_at[i] > last_fast) last_fast = done_at[i];
    }
    CHECK(rank_of[0] == FAST + 1);
    CHECKF(done_at[0] - start >= stretched_ms(SLOW_MS), "the slow request completed after only %.0f ms",
           done_at[0] - start);
    printf("head_of_line: ok, %d fast replies within %.0f ms, the slow one at %.0f ms\n", FAST,
           last_fast - start, done_at[0] - start);

    char *stats = hamux_client_stats(client);
    CHECKF(contains(stats, "\"connections\":1") && contains(stats, "\"connects\":1"), "stats: %s", stats);
    hamux_string_free(stats);
    hamux_client_free(client);
    hamux_listener_free(listener);
    counter_destroy(&completed);
    pthread_cond_destroy(&slow.cond);
    return 0;
}
