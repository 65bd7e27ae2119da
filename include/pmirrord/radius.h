/*
 * radius.h - the RADIUS codec: a bounds-checked parser for RADIUS packets
 * (RFC 2865, 2866, 5176), authenticator checks (MD5 and HMAC-MD5, RFC 2865,
 * 2866, 3579, 5176), the salt encryption of RFC 2868 section 3.5 and typed
 * readers for attributes and the ERX (vendor 4874) lawful-intercept VSAs.
 *
 * No state and no sessions: the parser fills a caller's struct rad_packet
 * (bounded arrays, no allocation) whose pointers point into the caller's
 * buffer.  Every malformation is a reason (enum rad_malformed), never an
 * abort.  Secrets are never logged; buffers holding derived keys are wiped.
 * Format facts and choices: docs/radius.md.
 */
#ifndef PMIRRORD_RADIUS_H
#define PMIRRORD_RADIUS_H

#include <stddef.h>
#include <stdint.h>

#define RAD_HDR_LEN    20   /* code, identifier, length, authenticator */
#define RAD_AUTH_LEN   16   /* the authenticator field */
#define RAD_MIN_LEN    20   /* RFC 2865 section 3 */
#define RAD_MAX_LEN    4096 /* RFC 2865 section 3 */
#define RAD_MAX_ATTRS  255  /* attributes kept; more is RAD_E_TOO_MANY_ATTRS */
#define RAD_MAX_SUBS   255  /* vendor sub-attributes kept; more is RAD_E_TOO_MANY_SUBS */
#define RAD_VENDOR_ERX 4874 /* Juniper/Unisphere ERX (JUNOSe) */

/* Packet codes (RFC 2865 section 3, RFC 2866 section 3, RFC 5176 section 2.3). */
enum rad_code {
    RAD_ACCESS_REQUEST = 1,
    RAD_ACCESS_ACCEPT = 2,
    RAD_ACCESS_REJECT = 3,
    RAD_ACCOUNTING_REQUEST = 4,
    RAD_ACCOUNTING_RESPONSE = 5,
    RAD_ACCESS_CHALLENGE = 11,
    RAD_STATUS_SERVER = 12,
    RAD_STATUS_CLIENT = 13,
    RAD_DISCONNECT_REQUEST = 40,
    RAD_DISCONNECT_ACK = 41,
    RAD_DISCONNECT_NAK = 42,
    RAD_COA_REQUEST = 43,
    RAD_COA_ACK = 44,
    RAD_COA_NAK = 45,
};

/* Attribute types used here (RFC 2865 section 5, RFC 2869 section 5.14). */
#define RAD_ATTR_USER_NAME         1
#define RAD_ATTR_FRAMED_IP_ADDRESS 8
#define RAD_ATTR_VENDOR_SPECIFIC   26
#define RAD_ATTR_CALLING_STATION   31
#define RAD_ATTR_ACCT_SESSION_ID   44
#define RAD_ATTR_MESSAGE_AUTH      80
#define RAD_ATTR_NAS_PORT_ID       87

/* ERX lawful-intercept VSAs (vendor 4874), all salt-encrypted (docs/radius.md). */
#define RAD_ERX_LI_ACTION       58 /* integer: off 0, on 1, noop 2 */
#define RAD_ERX_MED_DEV_HANDLE  59 /* octets: 8- or 4-byte mirror handle */
#define RAD_ERX_MED_IP_ADDRESS  60 /* ipaddr: the analyzer */
#define RAD_ERX_MED_PORT_NUMBER 61 /* integer: the analyzer's UDP port */

/* Why rad_parse() refused a packet; 0 is success. */
enum rad_malformed {
    RAD_OK = 0,
    RAD_E_ARG = -1,            /* NULL pointers */
    RAD_E_SHORT = -2,          /* fewer than 20 octets in the buffer */
    RAD_E_LENGTH = -3,         /* Length field below 20 or above 4096 */
    RAD_E_TRUNCATED = -4,      /* Length field beyond the buffer */
    RAD_E_ATTR_HEADER = -5,    /* one octet left where an attribute header should be */
    RAD_E_ATTR_LEN = -6,       /* attribute Length below 2 */
    RAD_E_ATTR_OVERRUN = -7,   /* attribute Length past the packet's Length */
    RAD_E_TOO_MANY_ATTRS = -8, /* more than RAD_MAX_ATTRS attributes */
    RAD_E_VSA_SHORT = -9,      /* Vendor-Specific shorter than 7 octets */
    RAD_E_TOO_MANY_SUBS = -10, /* more than RAD_MAX_SUBS vendor sub-attributes */
    RAD_E_MSGAUTH_LEN = -11,   /* Message-Authenticator not 18 octets */
    RAD_E_MSGAUTH_DUP = -12,   /* more than one Message-Authenticator */
};
#define RAD_MALFORMED_COUNT 13 /* 0 and the 12 errors: index with -rc */

/* struct rad_attr.flags */
#define RAD_A_VSA     0x01u /* a Vendor-Specific: vendor is valid */
#define RAD_A_VSA_RAW 0x02u /* ... whose data is not in the RFC 2865 suggested format */

struct rad_attr {
    uint8_t type;
    uint8_t flags;        /* RAD_A_* */
    uint8_t len;          /* value length (attribute Length - 2) */
    uint16_t off;         /* offset of the Type octet in the packet */
    const uint8_t *value; /* len octets inside the packet */
    uint32_t vendor;      /* RAD_A_VSA: the Vendor-Id */
    uint16_t sub_first;   /* RAD_A_VSA without RAW: its sub-attributes in rad_packet.sub */
    uint16_t sub_count;
};

/* A sub-attribute of a Vendor-Specific in the suggested format (RFC 2865 section 5.26). */
struct rad_sub {
    uint32_t vendor;
    uint8_t type;         /* vendor type */
    uint8_t len;          /* value length (vendor length - 2) */
    uint16_t attr;        /* index of the enclosing attribute in rad_packet.attr */
    const uint8_t *value; /* len octets inside the packet */
};

struct rad_packet {
    const uint8_t *pkt;  /* the buffer passed in */
    size_t len;          /* the Length field: octets beyond it are ignored */
    uint8_t code;        /* enum rad_code, or any other value: not judged here */
    uint8_t id;          /* Identifier */
    const uint8_t *auth; /* the 16-octet authenticator field */
    int msgauth;         /* index of the Message-Authenticator in attr[], or -1 */
    unsigned nattr;
    unsigned nsub;
    unsigned nraw; /* Vendor-Specifics kept raw (not in the suggested format) */
    struct rad_attr attr[RAD_MAX_ATTRS];
    struct rad_sub sub[RAD_MAX_SUBS];
};

/*
 * Parses the RADIUS packet in [p, p + n) into *out (its pointers point into
 * p).  Returns 0 or a negative enum rad_malformed; on error *out holds the
 * header and the attributes before the bad one.
 */
int rad_parse(const uint8_t *p, size_t n, struct rad_packet *out);

/* Short constant names ("ok", "attr-overrun", ...); "unknown" for other values. */
const char *rad_malformed_name(int rc);
const char *rad_code_name(int code);

/* The first attribute of type at index >= from, or -1. */
int rad_find(const struct rad_packet *p, uint8_t type, unsigned from);
/* The first vendor sub-attribute (vendor, type) at index >= from in p->sub, or -1. */
int rad_find_sub(const struct rad_packet *p, uint32_t vendor, uint8_t type, unsigned from);

/* Typed values (RFC 2865 section 5): 0, or -1 when the length does not fit. */
int rad_value_u32(const uint8_t *v, size_t len, uint32_t *out); /* integer: 4 octets */
int rad_value_ipv4(const uint8_t *v, size_t len, uint8_t out[4]);
/* string/text: copies and NUL-terminates; -1 if it does not fit or holds a NUL. */
int rad_value_string(const uint8_t *v, size_t len, char *buf, size_t cap);

/* ---- Authenticators (radius_crypto.c) ---------------------------------- */

enum rad_verdict {
    RAD_V_OK = 0,
    RAD_V_ARG = -1,        /* NULL pointers or an empty secret */
    RAD_V_CODE = -2,       /* this check does not apply to the packet's code */
    RAD_V_MISMATCH = -3,   /* the authenticator is wrong */
    RAD_V_NO_MSGAUTH = -4, /* no Message-Authenticator to check */
    RAD_V_CRYPTO = -5,     /* OpenSSL failed */
};
#define RAD_VERDICT_COUNT 6
const char *rad_verdict_name(int rc);

/*
 * Response Authenticator of an Access-Accept/Reject/Challenge,
 * Accounting-Response, CoA-ACK/NAK or Disconnect-ACK/NAK: MD5(Code,
 * Identifier, Length, the request's authenticator, attributes, secret)
 * (RFC 2865 section 3, RFC 2866 section 3, RFC 5176 section 2.3).
 */
int rad_verify_response(const struct rad_packet *resp, const uint8_t req_auth[RAD_AUTH_LEN],
                        const uint8_t *secret, size_t secret_len);

/*
 * Request Authenticator of an Accounting-Request, CoA-Request or
 * Disconnect-Request: MD5 of the packet with 16 zero octets as
 * authenticator, then the secret (RFC 2866 section 3, RFC 5176 section 2.3).
 */
int rad_verify_request(const struct rad_packet *req, const uint8_t *secret, size_t secret_len);

/*
 * Message-Authenticator (RFC 3579 section 3.2, RFC 2869 section 5.14,
 * RFC 5176 section 3): HMAC-MD5 keyed with the secret over the packet
 * with the attribute's value zeroed and, in the authenticator field, what
 * rad_msgauth_vector() says for the code.  req_auth: the request's
 * authenticator for responses; ignored (may be NULL) for requests.
 */
int rad_verify_msgauth(const struct rad_packet *p, const uint8_t req_auth[RAD_AUTH_LEN],
                       const uint8_t *secret, size_t secret_len);

/*
 * The 16 octets that stand in the authenticator field while a code's
 * Message-Authenticator is computed: the on-wire authenticator for
 * Access-Request and Status-Server, zeros for Accounting-, CoA- and
 * Disconnect-Request, req_auth for responses.  -1 for an unknown code.
 */
int rad_msgauth_vector(uint8_t code, const uint8_t *wire_auth, const uint8_t *req_auth,
                       uint8_t out[RAD_AUTH_LEN]);

/*
 * Loads OpenSSL's configuration and default provider and runs MD5 and
 * HMAC-MD5 once, so that no later call opens a file: the capture process
 * calls it before its sandbox closes (docs/radius.md).  0, or -1 when
 * OpenSSL offers no MD5 (a FIPS-only configuration).
 */
int rad_crypto_init(void);

/* Computes the authenticators above into out (for tests and encoders). */
int rad_compute_md5_auth(const uint8_t *pkt, size_t len, const uint8_t vector[RAD_AUTH_LEN],
                         const uint8_t *secret, size_t secret_len, uint8_t out[RAD_AUTH_LEN]);
int rad_compute_msgauth(const uint8_t *pkt, size_t len, size_t msgauth_off,
                        const uint8_t vector[RAD_AUTH_LEN], const uint8_t *secret,
                        size_t secret_len, uint8_t out[RAD_AUTH_LEN]);

/* ---- Salt encryption, RFC 2868 section 3.5 (radius_salt.c) ------------- */

#define RAD_SALT_MAX_PLAIN 239 /* longest data: 1 + 239 padded = 240, + 2 salt = 242 <= 253 */

enum rad_salt {
    RAD_S_OK = 0,
    RAD_S_ARG = -1,      /* NULL pointers, empty secret, output too small */
    RAD_S_LEN = -2,      /* value not 2 + a multiple of 16 (at least 18) octets */
    RAD_S_SALT = -3,     /* the salt's high bit is clear */
    RAD_S_DATA_LEN = -4, /* the decrypted length octet does not fit the ciphertext */
    RAD_S_PADDING = -5,  /* non-zero padding, or more blocks than the length needs */
    RAD_S_CRYPTO = -6,   /* OpenSSL failed */
};
#define RAD_SALT_COUNT 7
const char *rad_salt_name(int rc);

/*
 * The vector R of RFC 2868 section 3.5 for attributes in a packet of this
 * code: the Access-Request's authenticator (req_auth) in Access-Accept,
 * -Reject and -Challenge; 16 zero octets in Accounting-, CoA- and
 * Disconnect-Request (as deployed servers encrypt them, docs/radius.md).
 * -1 for other codes.
 */
int rad_salt_vector(uint8_t code, const uint8_t *req_auth, uint8_t out[RAD_AUTH_LEN]);

/*
 * Decrypts a salt-encrypted value (salt, ciphertext) into out; *out_len is
 * the data length from the first decrypted octet.  out needs len - 3
 * octets at most (RAD_SALT_MAX_PLAIN always suffices).  Returns an enum rad_salt.
 */
int rad_salt_decrypt(const uint8_t *val, size_t len, const uint8_t *secret, size_t secret_len,
                     const uint8_t vector[RAD_AUTH_LEN], uint8_t *out, size_t cap, size_t *out_len);

/* The reverse, for tests: out gets 2 + 16 * ceil((1 + plen) / 16) octets. */
int rad_salt_encrypt(const uint8_t *plain, size_t plen, uint16_t salt, const uint8_t *secret,
                     size_t secret_len, const uint8_t vector[RAD_AUTH_LEN], uint8_t *out,
                     size_t cap, size_t *out_len);

/* ---- ERX lawful-intercept VSAs (radius_li.c) ---------------------------- */

/* rad_li.present */
#define RAD_LI_ACTION 0x1u
#define RAD_LI_HANDLE 0x2u
#define RAD_LI_MED_IP 0x4u
#define RAD_LI_PORT   0x8u

enum rad_li_action { RAD_LI_OFF = 0, RAD_LI_ON = 1, RAD_LI_NOOP = 2 };

struct rad_li {
    unsigned present;    /* RAD_LI_* */
    uint32_t action;     /* enum rad_li_action */
    uint8_t handle_len;  /* 8: mirror_id and session_id; 4: session from Acct-Session-Id */
    uint32_t mirror_id;  /* the 30 low bits of the handle's first word */
    uint32_t session_id; /* the handle's second word (8-byte form), else 0 */
    uint8_t med_ip[4];   /* the analyzer, network order */
    uint16_t med_port;   /* the analyzer's UDP port */
    int salt_rc;         /* with RAD_LI_E_DECRYPT: the enum rad_salt */
    uint8_t bad_type;    /* the vendor type an error is about, 0 when none */
};

enum rad_li_reason {
    RAD_LI_OK = 0,
    RAD_LI_E_ARG = -1,          /* NULL pointers */
    RAD_LI_E_ABSENT = -2,       /* none of 26-58..61 in the packet */
    RAD_LI_E_DUP = -3,          /* one of them twice */
    RAD_LI_E_DECRYPT = -4,      /* salt decryption failed (salt_rc says why) */
    RAD_LI_E_ACTION_LEN = -5,   /* LI-Action not 4 octets */
    RAD_LI_E_ACTION_VALUE = -6, /* LI-Action not 0, 1 or 2 */
    RAD_LI_E_NO_ACTION = -7,    /* other LI VSAs without LI-Action */
    RAD_LI_E_HANDLE_LEN = -8,   /* Med-Dev-Handle neither 4 nor 8 octets */
    RAD_LI_E_HANDLE_FORM = -9,  /* its two top bits disagree with its length */
    RAD_LI_E_IP_LEN = -10,      /* Med-Ip-Address not 4 octets */
    RAD_LI_E_PORT_LEN = -11,    /* Med-Port-Number not 4 octets */
    RAD_LI_E_PORT_VALUE = -12,  /* Med-Port-Number 0 or above 65535 */
    RAD_LI_E_HANDLE_PORT = -13, /* Med-Dev-Handle and Med-Port-Number not both present or absent */
};
#define RAD_LI_REASON_COUNT 14
const char *rad_li_name(int rc);

/*
 * Decrypts and checks the ERX LI VSAs of p (vendor 4874, types 58-61) with
 * the vector from rad_salt_vector().  Returns 0 with *out filled, or a
 * negative enum rad_li_reason (out->bad_type names the VSA).  Every buffer
 * that held plaintext is wiped.
 */
int rad_li_read(const struct rad_packet *p, const uint8_t *secret, size_t secret_len,
                const uint8_t vector[RAD_AUTH_LEN], struct rad_li *out);

#endif
