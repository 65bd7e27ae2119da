/*
 * test_trig_table.c - the agent's trigger table (src/daemon/trig_table.c):
 * loaded from the configuration, duplicates and maxTriggers refused, removal
 * by `no mirror`, the TRIGGER_SET entries it pushes; a reload replacing the
 * file's entries only (docs/reload.md).
 */
#include "check.h"
#include "daemon/trig_table.h"

#include <string.h>

static void rule(struct pm_trigger *t, const char *line)
{
    char buf[512], *argv[32], err[256];
    int argc = 0;
    snprintf(buf, sizeof(buf), "%s", line);
    for (char *p = strtok(buf, " "); p != NULL && argc < 32; p = strtok(NULL, " "))
        argv[argc++] = p;
    if (trig_parse(t, argc, argv, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: %s\n", line, err);
        CHECK(0);
    }
}

static int notes_added, notes_removed;
static void note(void *arg, int added, const struct trig_entry *e)
{
    (void)arg;
    (void)e;
    if (added)
        notes_added++;
    else
        notes_removed++;
}

/* A reload: the file's rules replaced, pmirrorctl's kept, unchanged ones in place. */
static void test_reload(void)
{
    struct pm_conf c, n;
    struct trig_table t;
    struct trig_reload_counts rc;
    char err[600], where[300];
    int changed = -1;
    static const char a[] = "maxTriggers 5\n"
                            "mirror username a analyzer 127.0.0.9:1 id 1\n"
                            "mirror username b analyzer 127.0.0.9:1 id 2\n"
                            "mirror username c analyzer 127.0.0.9:1 id 3\n";
    /* b unchanged (one line lower), a's analyzer changed, c gone, d new */
    static const char b[] = "maxTriggers 4\n"
                            "\n"
                            "mirror username b analyzer 127.0.0.9:1 id 2\n"
                            "mirror username a analyzer 127.0.0.9:2 id 1\n"
                            "mirror username d analyzer 127.0.0.9:1 id 4\n"
                            "mirror username e analyzer 127.0.0.9:1 id 5\n";
    CHECK(conf_load_buffer("r.conf", a, strlen(a), &c, err, sizeof(err)) == 0);
    CHECK(trig_table_init(&t, &c, err, sizeof(err)) == 0);
    conf_free(&c);
    struct pm_trigger r;
    rule(&r, "mirror username e analyzer 127.0.0.9:7 id 5");
    CHECK(trig_table_add(&t, &r, TRIG_WHERE_CTL, where, sizeof(where)) == TRIG_ADD_OK);
    CHECK(conf_load_buffer("r.conf", b, strlen(b), &n, err, sizeof(err)) == 0);

    /* above the size allocated at the start: refused, nothing changed */
    CHECK(trig_table_reload(&t, "r.conf", n.triggers, n.ntriggers, 6, &rc, &changed, note, NULL,
                            err, sizeof(err)) == -1);
    CHECK(strstr(err, "maxTriggers") != NULL && t.n == 4 && t.max == 5 && notes_added == 0);
    /* more than max once applied: refused */
    CHECK(trig_table_reload(&t, "r.conf", n.triggers, n.ntriggers, 3, &rc, &changed, note, NULL,
                            err, sizeof(err)) == -1);
    CHECK(t.n == 4 && strcmp(t.v[1].where, "r.conf:3") == 0);

    CHECK(trig_table_reload(&t, "r.conf", n.triggers, n.ntriggers, n.max_triggers, &rc, &changed,
                            note, NULL, err, sizeof(err)) == 0);
    CHECK(changed == 1 && rc.added == 2 && rc.removed == 2 && rc.unchanged == 1 &&
          rc.kept_ctl == 1);
    CHECK(notes_added == 2 && notes_removed == 2);
    CHECK(t.n == 4 && t.max == 4 && t.cap == 5);
    /* b kept its place (its line now 3), pmirrorctl's e stays, a (changed) and d at the end */
    CHECK(t.v[0].rule.mirror_id == 2 && strcmp(t.v[0].where, "r.conf:3") == 0);
    CHECK(t.v[1].rule.mirror_id == 5 && strcmp(t.v[1].where, TRIG_WHERE_CTL) == 0 &&
          t.v[1].rule.analyzer.port == 7);
    CHECK(t.v[2].rule.mirror_id == 1 && t.v[2].rule.analyzer.port == 2 &&
          strcmp(t.v[2].where, "r.conf:4") == 0);
    CHECK(t.v[3].rule.mirror_id == 4 && strcmp(t.v[3].where, "r.conf:5") == 0);

    /* the same file again: nothing changes, nothing to push */
    CHECK(trig_table_reload(&t, "r.conf", n.triggers, n.ntriggers, n.max_triggers, &rc, &changed,
                            note, NULL, err, sizeof(err)) == 0);
    CHECK(changed == 0 && rc.unchanged == 3 && rc.added == 0 && rc.removed == 0 && t.n == 4);
    conf_free(&n);
    trig_table_free(&t);
}

int main(void)
{
    struct pm_conf c;
    char err[600], where[300];
    static const char text[] = "maxTriggers 3\n"
                               "mirror username a analyzer 127.0.0.9:1 id 1\n"
                               "mirror interface eth0 analyzer 127.0.0.9:1 id 2\n";
    CHECK(conf_load_buffer("t.conf", text, strlen(text), &c, err, sizeof(err)) == 0);
    struct trig_table t;
    CHECK(trig_table_init(&t, &c, err, sizeof(err)) == 0);
    conf_free(&c);
    CHECK(t.n == 2 && t.max == 3);

    struct pm_trigger r;
    rule(&r, "mirror username a analyzer 127.0.0.8:9 id 1 direction ingress");
    CHECK(trig_table_add(&t, &r, TRIG_WHERE_CTL, where, sizeof(where)) == TRIG_ADD_DUP);
    CHECK(strcmp(where, "t.conf:2") == 0);
    rule(&r, "mirror username a analyzer 127.0.0.9:1 id 3");
    CHECK(trig_table_add(&t, &r, TRIG_WHERE_CTL, where, sizeof(where)) == TRIG_ADD_OK);
    rule(&r, "mirror username b analyzer 127.0.0.9:1 id 3");
    CHECK(trig_table_add(&t, &r, TRIG_WHERE_CTL, where, sizeof(where)) == TRIG_ADD_FULL);
    CHECK(t.n == 3 && t.changes == 1);

    size_t n, max;
    struct trig_entry *e = trig_table_copy(&t, &n, &max);
    CHECK(e != NULL && n == 3 && max == 3);
    CHECK(strcmp(e[0].where, "t.conf:2") == 0 && strcmp(e[1].where, "t.conf:3") == 0);
    CHECK(strcmp(e[2].where, TRIG_WHERE_CTL) == 0 && e[2].rule.mirror_id == 3);
    free(e);
    struct ipc_trigger *ip = trig_table_ipc(&t, &n);
    CHECK(ip != NULL && n == 3);
    CHECK(ip[0].config_source == 2 && ip[1].config_source == 3 &&
          ip[1].rule.type == TRIG_INTERFACE);
    free(ip);

    struct pm_trigger_del d;
    char *dw[] = {"no", "mirror", "username", "a", "id", "3"};
    CHECK(trig_parse_del(&d, 6, dw, err, sizeof(err)) == 0);
    CHECK(trig_table_del(&t, &d) == 1 && t.n == 2);
    CHECK(trig_table_del(&t, &d) == 0 && t.changes == 2);
    char *dw2[] = {"no", "mirror", "username", "a"};
    CHECK(trig_parse_del(&d, 4, dw2, err, sizeof(err)) == 0);
    CHECK(trig_table_del(&t, &d) == 1 && t.n == 1 && t.v[0].rule.type == TRIG_INTERFACE);
    e = trig_table_copy(&t, &n, NULL);
    CHECK(n == 1 && strcmp(e[0].where, "t.conf:3") == 0);
    free(e);
    trig_table_free(&t);

    /* a slice with more rules than maxTriggers is refused */
    conf_defaults(&c);
    c.max_triggers = 1;
    c.ntriggers = 2;
    struct pm_conf_trigger two[2];
    memset(two, 0, sizeof(two));
    c.triggers = two;
    CHECK(trig_table_init(&t, &c, err, sizeof(err)) == -1);

    test_reload();
    printf("test_trig_table: ok\n");
    return 0;
}
