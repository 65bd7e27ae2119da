/*
 * fuzz_radius.c - libFuzzer target for the RADIUS codec (src/capture/
 * radius_codec.c, radius_crypto.c, radius_salt.c, radius_li.c).
 *
 * Input: byte 0 is the mode: bit 0 set, a request and its response (a
 * 2-byte big-endian length, the request, then the response takes the
 * rest); clear, one packet.  Bit 1 picks the secret ("xyzzy5461" instead of
 * "li-test-secret").  Each packet is parsed from a heap buffer of its exact
 * size and every check is run on it.
 *
 * Properties (abort() when one fails):
 *   - rad_parse() returns 0 or a known reason; an accepted packet has
 *     20 <= Length <= 4096 within the buffer, its attributes tile
 *     [20, Length) exactly, each VSA's sub-attributes tile its vendor data
 *     (or it is counted raw), the Message-Authenticator is one 18-octet
 *     attribute, every pointer lies inside the packet;
 *   - the verifiers and rad_li_read() return known reasons; a decoded
 *     Med-Dev-Handle agrees with its form, LI-Action is 0-2;
 *   - a sub-attribute that salt-decrypts re-encrypts, with its salt, to the
 *     same octets;
 *   - after the Message-Authenticator and (for Accounting-, CoA- and
 *     Disconnect-Requests) the Request Authenticator are recomputed into a
 *     copy, the copy parses the same and both verify.
 */
#include "pmirrord/radius.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_radius: property failed: %s: ", #cond);                          \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static struct rad_packet P, Q, R;
static const uint8_t zero16[16];

static void check_packet(const struct rad_packet *p, int rc, const uint8_t *b, size_t n)
{
    CHECK(rc <= 0 && rc > -RAD_MALFORMED_COUNT, "rc %d", rc);
    CHECK(strcmp(rad_malformed_name(rc), "unknown") != 0, "name of %d", rc);
    CHECK(p->pkt == b && p->nattr <= RAD_MAX_ATTRS && p->nsub <= RAD_MAX_SUBS, "bounds");
    if (rc != RAD_OK)
        return;
    CHECK(p->len >= RAD_MIN_LEN && p->len <= RAD_MAX_LEN && p->len <= n, "len %zu", p->len);
    CHECK(p->len == (size_t)(b[2] << 8 | b[3]) && p->code == b[0] && p->id == b[1], "header");
    CHECK(p->auth == b + 4, "auth");
    size_t off = RAD_HDR_LEN;
    unsigned nsub = 0, nraw = 0, nmsg = 0;
    for (unsigned i = 0; i < p->nattr; i++) {
        const struct rad_attr *a = &p->attr[i];
        CHECK(a->off == off && a->type == b[off] && a->len + 2 == b[off + 1], "attr %u", i);
        CHECK(a->value == b + off + 2 && off + 2 + a->len <= p->len, "attr %u value", i);
        off += 2u + a->len;
        if (a->type == RAD_ATTR_MESSAGE_AUTH) {
            CHECK(a->len == 16 && p->msgauth == (int)i, "msgauth %u", i);
            nmsg++;
        }
        if (a->type != RAD_ATTR_VENDOR_SPECIFIC) {
            CHECK(a->flags == 0, "flags on %u", i);
            continue;
        }
        CHECK(a->flags & RAD_A_VSA && a->len >= 5, "vsa %u", i);
        if (a->flags & RAD_A_VSA_RAW) {
            nraw++;
            continue;
        }
        CHECK(a->sub_first == nsub && a->sub_count >= 1, "subs of %u", i);
        const uint8_t *d = a->value + 4;
        for (unsigned k = 0; k < a->sub_count; k++) {
            const struct rad_sub *s = &p->sub[a->sub_first + k];
            CHECK(s->attr == i && s->vendor == a->vendor && s->type == d[0], "sub %u", k);
            CHECK(s->value == d + 2 && s->len + 2 == d[1], "sub %u value", k);
            d += 2u + s->len;
        }
        CHECK(d == a->value + a->len, "subs of %u do not tile", i);
        nsub += a->sub_count;
    }
    CHECK(off == p->len, "attributes end at %zu of %zu", off, p->len);
    CHECK(nsub == p->nsub && nraw == p->nraw, "%u subs, %u raw", nsub, nraw);
    CHECK(nmsg <= 1 && (nmsg == 1) == (p->msgauth >= 0), "msgauth");
}

static void check_li(const struct rad_packet *p, const uint8_t *sec, size_t sl,
                     const uint8_t *req_auth)
{
    uint8_t vec[16];
    if (rad_salt_vector(p->code, req_auth, vec) != 0)
        memcpy(vec, zero16, 16);
    struct rad_li li;
    int rc = rad_li_read(p, sec, sl, vec, &li);
    CHECK(rc <= 0 && rc > -RAD_LI_REASON_COUNT, "li %d", rc);
    if (rc == RAD_LI_OK) {
        CHECK(li.present & RAD_LI_ACTION && li.action <= RAD_LI_NOOP, "action");
        CHECK((li.handle_len != 0) == ((li.present & RAD_LI_HANDLE) != 0), "handle");
        CHECK(li.handle_len == 0 || li.handle_len == 4 || li.handle_len == 8, "handle len");
        CHECK(li.mirror_id <= 0x3fffffffu && (li.handle_len == 8 || li.session_id == 0), "ids");
    }
    /* Salt round trip for every sub-attribute that decrypts. */
    for (unsigned i = 0; i < p->nsub; i++) {
        const struct rad_sub *s = &p->sub[i];
        uint8_t plain[RAD_SALT_MAX_PLAIN], enc[256];
        size_t n = 0, m = 0;
        int src = rad_salt_decrypt(s->value, s->len, sec, sl, vec, plain, sizeof(plain), &n);
        CHECK(src <= 0 && src > -RAD_SALT_COUNT, "salt %d", src);
        if (src != RAD_S_OK)
            continue;
        uint16_t salt = (uint16_t)(s->value[0] << 8 | s->value[1]);
        CHECK(rad_salt_encrypt(plain, n, salt, sec, sl, vec, enc, sizeof(enc), &m) == RAD_S_OK,
              "re-encrypt");
        CHECK(m == s->len && memcmp(enc, s->value, m) == 0, "salt round trip");
    }
}

static int known_verdict(int v)
{
    return v <= 0 && v > -RAD_VERDICT_COUNT;
}

/* Re-signs a copy of an accepted packet; the copy must verify. */
static void resign(const struct rad_packet *p, const uint8_t *sec, size_t sl,
                   const uint8_t *req_auth)
{
    uint8_t *c = malloc(p->len);
    CHECK(c != NULL, "out of memory");
    memcpy(c, p->pkt, p->len);
    uint8_t vec[16], out[16];
    int is_req = p->code == RAD_ACCOUNTING_REQUEST || p->code == RAD_COA_REQUEST ||
                 p->code == RAD_DISCONNECT_REQUEST;
    if (p->msgauth >= 0 && rad_msgauth_vector(p->code, p->auth, req_auth, vec) == 0) {
        size_t off = p->attr[p->msgauth].off;
        CHECK(rad_compute_msgauth(c, p->len, off, vec, sec, sl, out) == 0, "msgauth");
        memcpy(c + off + 2, out, 16);
    }
    if (is_req) {
        CHECK(rad_compute_md5_auth(c, p->len, zero16, sec, sl, out) == 0, "md5");
        memcpy(c + 4, out, 16);
    }
    CHECK(rad_parse(c, p->len, &R) == RAD_OK && R.nattr == p->nattr && R.nsub == p->nsub,
          "re-parse");
    if (is_req)
        CHECK(rad_verify_request(&R, sec, sl) == RAD_V_OK, "resigned request");
    if (p->msgauth >= 0 && rad_msgauth_vector(p->code, R.auth, req_auth, vec) == 0)
        CHECK(rad_verify_msgauth(&R, req_auth, sec, sl) == RAD_V_OK, "resigned msgauth");
    free(c);
}

static void one(const struct rad_packet *p, const uint8_t *sec, size_t sl, const uint8_t *req_auth)
{
    CHECK(known_verdict(rad_verify_request(p, sec, sl)), "verify_request");
    CHECK(known_verdict(rad_verify_msgauth(p, req_auth, sec, sl)), "verify_msgauth");
    if (req_auth != NULL)
        CHECK(known_verdict(rad_verify_response(p, req_auth, sec, sl)), "verify_response");
    (void)rad_code_name(p->code);
    check_li(p, sec, sl, req_auth);
    resign(p, sec, sl, req_auth);
}

static int parse_copy(const uint8_t *data, size_t n, struct rad_packet *p, uint8_t **copy)
{
    *copy = malloc(n ? n : 1);
    CHECK(*copy != NULL, "out of memory");
    if (n > 0)
        memcpy(*copy, data, n);
    int rc = rad_parse(*copy, n, p);
    check_packet(p, rc, *copy, n);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    data++, size--;
    const uint8_t *sec = (const uint8_t *)(mode & 2 ? "xyzzy5461" : "li-test-secret");
    size_t sl = strlen((const char *)sec);
    size_t n1 = size;
    if ((mode & 1) && size >= 2) {
        n1 = (size_t)(data[0] << 8 | data[1]);
        data += 2, size -= 2;
        if (n1 > size)
            n1 = size;
    }
    uint8_t *a = NULL, *b = NULL;
    int rc = parse_copy(data, n1, &P, &a);
    if (rc == RAD_OK)
        one(&P, sec, sl, NULL);
    if ((mode & 1) && rc == RAD_OK) {
        int rc2 = parse_copy(data + n1, size - n1, &Q, &b);
        if (rc2 == RAD_OK)
            one(&Q, sec, sl, P.auth);
    }
    free(a);
    free(b);
    return 0;
}
