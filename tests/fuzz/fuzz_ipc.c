/*
 * fuzz_ipc.c - libFuzzer target for the inter-process batch parser
 * (src/ipc/ipc_msg.c, docs/ipc-protocol.md).
 *
 * Input: one byte n, then a message.  The message is parsed as a received
 * batch with n % 4 descriptors (dups of /dev/null) beside it, as
 * ipc_chan_recv() would pass them.  Properties:
 *   - a refused batch counts exactly one reason and delivers nothing;
 *   - an accepted batch delivers at most its record count, and records
 *     delivered + records refused == the count;
 *   - every delivered record encodes again (what the parser accepts, the
 *     encoder accepts), and parsing that encoding gives the same encoding
 *     again (one canonical form);
 *   - every descriptor is closed afterwards, taken or not.
 */
#include "pmirrord/ipc.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_ipc: property failed: %s: ", #cond);                             \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static uint8_t enc1[IPC_MSG_MAX], enc2[IPC_MSG_MAX];
static size_t enc2_len;

static void second(struct ipc_rec *rec, void *arg)
{
    char err[256];
    ssize_t n = ipc_rec_encode(rec, enc2, sizeof(enc2), err, sizeof(err));
    CHECK(n > 0, "re-parsed %s record does not encode: %s", ipc_type_name(rec->type), err);
    enc2_len = (size_t)n;
}

static void first(struct ipc_rec *rec, void *arg)
{
    char err[256];
    int *taken = arg;

    if (rec->type == IPC_FD && (*taken)++ % 2 == 0) { /* take every other descriptor */
        CHECK(fcntl(rec->u.fd.fd, F_GETFD) >= 0, "FD record with a closed descriptor");
        close(rec->u.fd.fd);
        rec->u.fd.fd = -1;
    }
    ssize_t n =
        ipc_rec_encode(rec, enc1 + IPC_BATCH_HDR, sizeof(enc1) - IPC_BATCH_HDR, err, sizeof(err));
    CHECK(n > 0, "accepted %s record does not encode: %s", ipc_type_name(rec->type), err);
    ipc_batch_header(enc1, 1, (uint32_t)(IPC_BATCH_HDR + n));

    struct ipc_rx_counts c2;
    int fd = -1;
    memset(&c2, 0, sizeof(c2));
    enc2_len = 0;
    if (rec->type == IPC_FD)
        fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int r =
        ipc_batch_parse(enc1, IPC_BATCH_HDR + (size_t)n, &fd, fd >= 0 ? 1 : 0, second, NULL, &c2);
    CHECK(r == 1, "own encoding of a %s record refused", ipc_type_name(rec->type));
    CHECK(enc2_len == (size_t)n && memcmp(enc1 + IPC_BATCH_HDR, enc2, enc2_len) == 0,
          "%s: encoding is not canonical", ipc_type_name(rec->type));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ipc_rx_counts c;
    int fds[3];
    size_t nfds;
    int taken = 0;

    if (size < 1)
        return 0;
    nfds = data[0] % 4;
    for (size_t i = 0; i < nfds; i++) {
        fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        CHECK(fds[i] >= 0, "open /dev/null");
    }
    memset(&c, 0, sizeof(c));
    int r = ipc_batch_parse(data + 1, size - 1, fds, nfds, first, &taken, &c);

    uint64_t rejects = 0;
    for (size_t i = 0; i < IPC_REJ_NREASONS; i++)
        rejects += c.rejects[i];
    if (r < 0) {
        CHECK(rejects == 1 && c.records == 0 && c.batches == 0, "refused batch: %llu reasons",
              (unsigned long long)rejects);
    } else {
        size_t count = (size_t)(data[7] | data[8] << 8); /* valid header: size >= 13 */
        CHECK(c.batches == 1 && (size_t)r == c.records, "accepted batch counters");
        CHECK(c.records + rejects == count, "%llu delivered + %llu refused != %zu",
              (unsigned long long)c.records, (unsigned long long)rejects, count);
    }
    for (size_t i = 0; i < nfds; i++)
        CHECK(fcntl(fds[i], F_GETFD) < 0, "descriptor %zu left open", i);
    return 0;
}
