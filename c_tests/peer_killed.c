/* peer_killed: the peer is another process (this program re-executed as `--peer PORT FD`)
 * and dies by SIGKILL while requests are in flight: some it holds unanswered, others stream
 * in from a sender thread. Proves that every request sent gets exactly one callback (the
 * held ones with HAMUX_E_CONNECT and a description, the streamed ones with OK or an error),
 * that nothing arrives twice, and that after the peer is started again on the same port,
 * traffic resumes by itself on the same client. */
#include "common.h" /* first: it sets _POSIX_C_SOURCE */

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#define HELD 64
#define STREAMED 4000
#define AFTER 500
#define MAX_REQUESTS (2 * HELD + STREAMED + 2 * AFTER + 1000)

static const char HOLD[] = "{\"command\":\"lease4-update\",\"arguments\":{\"hold\":true}}";
static const char PLAIN[] = "{\"command\":\"lease4-update\",\"arguments\":{}}";
static const char ANSWER[] = "[{\"result\":0}]";

/* ---- the peer process ---- */

static int held_fd = -1;

static void on_request(void *user_data, hamux_request *req, const uint8_t *body, size_t len) {
    (void)user_data;
    if (len == sizeof HOLD - 1 && memcmp(body, HOLD, len) == 0) {
        /* Never answered: the process is killed holding it. Tell the parent it is here. */
        char one = 'h';
        CHECK(write(held_fd, &one, 1) == 1);
        return;
    }
    CHECK_STATUS(hamux_request_respond(req, (const uint8_t *)ANSWER, sizeof ANSWER - 1), HAMUX_OK);
}

static _Noreturn void run_peer(unsigned port, int fd) {
    held_fd = fd;
    char config[128];
    snprintf(config, sizeof config, "{\"address\": \"127.0.0.1\", \"port\": %u, \"max-pending\": 100000}", port);
    hamux_listener *listener = NULL;
    CHECK_STATUS(hamux_listener_new(config, on_request, NULL, &listener), HAMUX_OK);
    for (;;) pause(); /* until SIGKILL */
}

/* ---- the client process ---- */

/* One slot per request: how many callbacks it got, and with which status. */
typedef struct {
    atomic_int calls;
    atomic_int status;
} slot;

static slot slots[MAX_REQUESTS];
static atomic_long next_slot;
static counter done;
static atomic_long by_status[16];

static void on_response(void *user_data, uint64_t txid, hamux_status status, const uint8_t *body, size_t len) {
    (void)txid;
    (void)body;
    slot *s = user_data;
    if (atomic_fetch_add(&s->calls, 1) != 0) {
        fprintf(stderr, "request %ld called back twice\n", (long)(s - slots));
        _exit(1);
    }
    if (status != HAMUX_OK && len == 0) {
        fprintf(stderr, "%s without a description\n", hamux_status_name(status));
        _exit(1);
    }
    atomic_store(&s->status, (int)status);
    atomic_fetch_add(&by_status[(unsigned)status % 16], 1);
    counter_add(&done, 1);
}

static slot *send_one(hamux_client *client, const char *url, const char *cmd) {
    long i = atomic_fetch_add(&next_slot, 1);
    CHECK(i < MAX_REQUESTS);
    hamux_status st =
        hamux_client_send(client, url, (const uint8_t *)cmd, strlen(cmd), on_response, &slots[i], NULL);
    if (st != HAMUX_OK) {
        /* Refused at once (e.g. BUSY): no callback will come; count it as done here. */
        atomic_store(&slots[i].calls, 1);
        atomic_store(&slots[i].status, (int)st);
        counter_add(&done, 1);
    }
    return &slots[i];
}

/* Starts this program as the peer (fork + exec, so the child starts single-threaded). */
static pid_t start_peer(const char *self, unsigned port, int held_write_fd) {
    char port_arg[16], fd_arg[16];
    snprintf(port_arg, sizeof port_arg, "%u", port);
    snprintf(fd_arg, sizeof fd_arg, "%d", held_write_fd);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        /* Dies with this process, also if a check fails here first. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl(self, self, "--peer", port_arg, fd_arg, (char *)NULL);
        _exit(127);
    }
    double deadline = now_ms() + stretched_ms(15000);
    while (!loopback_port_accepts(port)) {
        CHECKF(now_ms() < deadline, "peer did not listen on %u", port);
        CHECKF(waitpid(pid, NULL, WNOHANG) == 0, "peer exited");
        sleep_ms(10);
    }
    return pid;
}

typedef struct {
    hamux_client *client;
    const char *url;
    long n;
} stream_args;

static void *stream(void *arg) {
    stream_args *a = arg;
    for (long i = 0; i < a->n; i++) {
        send_one(a->client, a->url, PLAIN);
        if (i % 64 == 0) sleep_ms(1); /* spread over the kill */
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "--peer") == 0) run_peer((unsigned)atoi(argv[2]), atoi(argv[3]));

    int held[2];
    CHECK(pipe(held) == 0);
    unsigned port = free_loopback_port();
    char url[64];
    snprintf(url, sizeof url, "hamux://127.0.0.1:%u", port);
    pid_t peer = start_peer(argv[0], port, held[1]);

    counter_init(&done);
    hamux_client *client = NULL;
    CHECK_STATUS(hamux_client_new("{\"connections-per-peer\": 2, \"max-in-flight\": 100000}", &client), HAMUX_OK);

    /* Warm up: the connections are up and answering. */
    long after = scaled(AFTER);
    for (long i = 0; i < after; i++) send_one(client, url, PLAIN);
    CHECKF(counter_wait(&done, after, stretched_ms(20000)) == after, "warm-up: %ld of %ld", counter_get(&done), after);
    CHECK(atomic_load(&by_status[HAMUX_OK]) == after);

    /* Requests the peer holds, all received by it before it dies. */
    for (int i = 0; i < HELD; i++) send_one(client, url, HOLD);
    for (int got = 0; got < HELD;) {
        char buf[HELD];
        ssize_t n = read(held[0], buf, sizeof buf);
        CHECK(n > 0);
        got += (int)n;
    }

    /* A stream of requests while the peer is killed. */
    stream_args args = {client, url, scaled(STREAMED)};
    pthread_t sender;
    CHECK(pthread_create(&sender, NULL, stream, &args) == 0);
    sleep_ms(20);
    CHECK(kill(peer, SIGKILL) == 0);
    CHECK(waitpid(peer, NULL, 0) == peer);
    CHECK(pthread_join(sender, NULL) == 0);
    long sent = atomic_load(&next_slot);
    CHECKF(counter_wait(&done, sent, stretched_ms(30000)) == sent, "after the kill: %ld of %ld callbacks",
           counter_get(&done), sent);
    for (long i = after; i < after + HELD; i++) {
        CHECKF(atomic_load(&slots[i].status) == HAMUX_E_CONNECT, "held request %ld: %s", i,
               hamux_status_name((hamux_status)atomic_load(&slots[i].status)));
    }
    long errors_at_kill = sent - atomic_load(&by_status[HAMUX_OK]);
    CHECKF(errors_at_kill >= HELD, "%ld errors", errors_at_kill);

    /* The peer comes back on the same port: the same client finds it by itself. */
    peer = start_peer(argv[0], port, held[1]);
    double deadline = now_ms() + stretched_ms(20000);
    for (;;) {
        slot *s = send_one(client, url, PLAIN);
        long target = atomic_load(&next_slot);
        CHECK(counter_wait(&done, target, stretched_ms(20000)) == target);
        if (atomic_load(&s->status) == HAMUX_OK) break;
        CHECKF(now_ms() < deadline, "traffic did not resume: %s",
               hamux_status_name((hamux_status)atomic_load(&s->status)));
        sleep_ms(20);
    }
    long ok_before = atomic_load(&by_status[HAMUX_OK]);
    for (long i = 0; i < after; i++) send_one(client, url, PLAIN);
    sent = atomic_load(&next_slot);
    CHECKF(counter_wait(&done, sent, stretched_ms(20000)) == sent, "after restart: %ld of %ld", counter_get(&done),
           sent);
    CHECKF(atomic_load(&by_status[HAMUX_OK]) - ok_before == after, "after restart: %ld of %ld OK",
           atomic_load(&by_status[HAMUX_OK]) - ok_before, after);

    hamux_client_free(client);
    CHECK(kill(peer, SIGKILL) == 0);
    CHECK(waitpid(peer, NULL, 0) == peer);
    for (long i = 0; i < sent; i++) CHECKF(atomic_load(&slots[i].calls) == 1, "request %ld: %d callbacks", i,
                                          atomic_load(&slots[i].calls));
    printf("peer_killed: %ld requests, %ld OK, %ld CONNECT, %ld other, each called back once\n", sent,
           atomic_load(&by_status[HAMUX_OK]), atomic_load(&by_status[HAMUX_E_CONNECT]),
           sent - atomic_load(&by_status[HAMUX_OK]) - atomic_load(&by_status[HAMUX_E_CONNECT]));
    counter_destroy(&done);
    return 0;
}
