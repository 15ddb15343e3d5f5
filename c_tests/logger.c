/* logger: hamux_set_logger routes hamux's log events into the host: a failed connect is
 * logged at DEBUG with a hamux target and a message naming the failure; with the level at
 * WARN it is not delivered; with a NULL callback nothing is. */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int events, debug_connect_events;
static int tag;

static void on_log(void *ud, uint32_t level, const char *target, const char *message) {
    CHECK(ud == &tag);
    CHECK(level >= HAMUX_LOG_ERROR && level <= HAMUX_LOG_TRACE);
    CHECKF(strncmp(target, "hamux", 5) == 0, "target %s", target);
    pthread_mutex_lock(&lock);
    events++;
    if (level == HAMUX_LOG_DEBUG && contains(message, "connect failed") && contains(message, "127.0.0.1")) {
        debug_connect_events++;
    }
    pthread_mutex_unlock(&lock);
}

static int snapshot(int *debug_connect) {
    pthread_mutex_lock(&lock);
    int n = events;
    *debug_connect = debug_connect_events;
    pthread_mutex_unlock(&lock);
    return n;
}

static counter done;
static void on_reply(void *ud, uint64_t txid, hamux_status st, const uint8_t *body, size_t len) {
    (void)ud; (void)txid; (void)body; (void)len;
    CHECKF(st == HAMUX_E_CONNECT, "%s", hamux_status_name(st));
    counter_add(&done, 1);
}

/* Sends one command to a port nothing listens on and waits for its CONNECT. */
static void fail_once(hamux_client *client, long expect_done) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    CHECK(bind(s, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(s, (struct sockaddr *)&a, &alen) == 0);
    close(s);
    char url[64];
    snprintf(url, sizeof url, "hamux://127.0.0.1:%u", ntohs(a.sin_port));
    static const char cmd[] = "{\"command\":\"ha-heartbeat\"}";
    CHECK_STATUS(hamux_client_send(client, url, (const uint8_t *)cmd, sizeof cmd - 1, on_reply, NULL, NULL), HAMUX_OK);
    CHECK(counter_wait(&done, expect_done, stretched_ms(10000)) == expect_done);
    sleep_ms(20); /* the log event follows the callback closely */
}

int main(void) {
    counter_init(&done);
    hamux_client *client = NULL;
    CHECK_STATUS(hamux_client_new("{}", &client), HAMUX_OK);
    int debug_connect = 0;

    hamux_set_logger(on_log, &tag, HAMUX_LOG_DEBUG);
    fail_once(client, 1);
    CHECK(snapshot(&debug_connect) >= 1);
    CHECKF(debug_connect == 1, "expected one DEBUG 'connect failed' event, got %d", debug_connect);

    hamux_set_logger(on_log, &tag, HAMUX_LOG_WARN);
    int before = snapshot(&debug_connect);
    fail_once(client, 2);
    CHECKF(snapshot(&debug_connect) == before, "DEBUG events delivered at level WARN");

    hamux_set_logger(NULL, NULL, HAMUX_LOG_TRACE);
    fail_once(client, 3);
    CHECKF(snapshot(&debug_connect) == before, "events delivered after the logger was removed");

    hamux_client_free(client);
    counter_destroy(&done);
    printf("logger: %d event(s) delivered while set, none filtered out or after removal\n", before);
    return 0;
}
