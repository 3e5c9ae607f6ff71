/* The floor a closing HTTP server can reach on this machine: one thread, epoll, accept4, read
 * until the end of the head, one write of a fixed 1 KiB answer, close. No parsing, no files,
 * no timers, no logging: what is left is the kernel's cost of one TCP connection and one
 * request. benches/load.sh builds it (cc -O2) and runs it beside rawserve, nginx and h2o.
 *
 *   floor PORT [HEAD_BYTES]
 *
 * HEAD_BYTES (default 317) makes the head as long as rawserve's answer for /1k.html, so both
 * put the same bytes on the wire. Every path gets the same answer. Bound to 127.0.0.1 only.
 * The listener has TCP_NODELAY, as rawserve's, nginx's and h2o's have; no TCP_DEFER_ACCEPT,
 * no MSG_MORE: write, then close.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BODY 1024
#define MAX_FD 65536

static char answer[8192];
static size_t answer_len;
/* Per fd: how many bytes of "\r\n\r\n" the head has matched so far (its end may arrive split). */
static unsigned char matched[MAX_FD];

/* Reads what is there; 1 when the head is complete, 0 when more must come, -1 on EOF/error. */
static int read_head(int fd) {
    static const char end[] = "\r\n\r\n";
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n == 0) return -1;
        if (n < 0) return errno == EAGAIN ? 0 : errno == EINTR ? read_head(fd) : -1;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == end[matched[fd]]) {
                if (++matched[fd] == 4) return 1;
            } else {
                matched[fd] = buf[i] == '\r' ? 1 : 0;
            }
        }
    }
}

static void finish(int fd) {
    ssize_t n = send(fd, answer, answer_len, MSG_NOSIGNAL);
    (void)n; /* 1341 bytes fit any fresh socket's buffer; a failed send is a closed peer */
    matched[fd] = 0;
    close(fd);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: floor PORT [HEAD_BYTES]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    size_t head_bytes = argc > 2 ? (size_t)atoi(argv[2]) : 317;
    const char *fixed = "HTTP/1.1 200 OK\r\nServer: floor\r\nContent-Length: 1024\r\nConnection: close\r\n"
                        "Content-Type: text/html\r\nX-Pad: ";
    size_t fixed_len = strlen(fixed);
    if (port <= 0 || port > 65535 || head_bytes < fixed_len + 4 || head_bytes + BODY > sizeof answer) {
        fprintf(stderr, "floor: bad port or head size\n");
        return 2;
    }
    memcpy(answer, fixed, fixed_len);
    memset(answer + fixed_len, 'x', head_bytes - fixed_len - 4);
    memcpy(answer + head_bytes - 4, "\r\n\r\n", 4);
    for (size_t i = 0; i < BODY; i++) answer[head_bytes + i] = "0123456789abcdef\n"[i % 17];
    answer_len = head_bytes + BODY;
    signal(SIGPIPE, SIG_IGN);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(lfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 4096) != 0) {
        perror("floor: bind/listen");
        return 2;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    struct epoll_event events[256];
    for (;;) {
        int n = epoll_wait(ep, events, 256, -1);
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == lfd) {
                for (;;) {
                    int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (c < 0) break; /* EAGAIN, or a lost connection: wait for the next */
                    if (c >= MAX_FD) { close(c); continue; }
                    int r = read_head(c);
                    if (r > 0) finish(c);
                    else if (r < 0) { matched[c] = 0; close(c); }
                    else {
                        struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = c};
                        epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                    }
                }
            } else {
                int r = read_head(fd);
                if (r > 0) finish(fd); /* close() also takes it off epoll */
                else if (r < 0) { matched[fd] = 0; close(fd); }
            }
        }
    }
}
