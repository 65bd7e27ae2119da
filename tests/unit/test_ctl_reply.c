/*
 * test_ctl_reply.c - reply items rendered as text and as JSON: headings in
 * text, snake_case keys, numbers and booleans as JSON types in JSON.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ctl/ctl_reply.h"

static void build(struct ctl_reply *r)
{
    ctl_reply_kv(r, "enabled_categories|Enabled Categories", "PacketMirror");
    ctl_reply_kv_bool(r, "trap_enable|juniPacketMirrorTrapEnable", 1, "true", "false");
    ctl_reply_kv_bool(r, "secure_log|secure-log", 0, "enabled", "disabled");
    ctl_reply_kv(r, "#global_severity|Global Trap Severity Level", "%d - %s", 3, "error");
    ctl_reply_kv_int(r, "events", 7);
    ctl_reply_table(r, "queues", "address|Address", "#queue_size|Maximum QueueSize",
                    "?inform|Inform", (char *)NULL);
    ctl_reply_row(r, "127.0.0.1:162", "100", "true", (char *)NULL);
    ctl_reply_row(r, "[::1]:162", "-12", "false", (char *)NULL);
    ctl_reply_row(r, "bad", "12x", "maybe", (char *)NULL);
}

int main(void)
{
    struct ctl_reply r;
    struct sbuf b = {0};

    ctl_reply_init(&r, 0);
    build(&r);
    ctl_reply_render(&r, "ok", &b);
    CHECK(!b.oom);
    static const char text[] = "Enabled Categories:         PacketMirror\n"
                               "juniPacketMirrorTrapEnable: true\n"
                               "secure-log:                 disabled\n"
                               "Global Trap Severity Level: 3 - error\n"
                               "events:                     7\n"
                               "Address        Maximum QueueSize  Inform\n"
                               "-------------  -----------------  ------\n"
                               "127.0.0.1:162  100                true\n"
                               "[::1]:162      -12                false\n"
                               "bad            12x                maybe\n";
    if (strcmp(b.p, text) != 0)
        fprintf(stderr, "got:\n%s", b.p);
    CHECK(strcmp(b.p, text) == 0);
    sbuf_free(&b);
    ctl_reply_clear(&r);

    ctl_reply_init(&r, 1);
    build(&r);
    ctl_reply_render(&r, "ok", &b);
    static const char json[] =
        "{\"status\":\"ok\",\"enabled_categories\":\"PacketMirror\",\"trap_enable\":true,"
        "\"secure_log\":false,\"global_severity\":3,\"events\":7,\"queues\":["
        "{\"address\":\"127.0.0.1:162\",\"queue_size\":100,\"inform\":true},"
        "{\"address\":\"[::1]:162\",\"queue_size\":-12,\"inform\":false},"
        "{\"address\":\"bad\",\"queue_size\":null,\"inform\":null}]}\n";
    if (strcmp(b.p, json) != 0)
        fprintf(stderr, "got:\n%s", b.p);
    CHECK(strcmp(b.p, json) == 0);
    sbuf_free(&b);
    ctl_reply_clear(&r);

    /* a name without '|' is key and heading at once (the help table) */
    ctl_reply_init(&r, 1);
    ctl_reply_table(&r, "commands", "command", "help", (char *)NULL);
    ctl_reply_row(&r, "show version", "Show the daemon's version", (char *)NULL);
    ctl_reply_render(&r, "ok", &b);
    CHECK(strcmp(b.p, "{\"status\":\"ok\",\"commands\":[{\"command\":\"show version\",\"help\":"
                      "\"Show the daemon's version\"}]}\n") == 0);
    sbuf_free(&b);
    ctl_reply_clear(&r);
    return 0;
}
