/*
 * Unit tests for device state: the registry and encoding helpers
 * (system/vmstate.c) and the "counter" and "log" devices' save/load,
 * including loading version 1 "log" state into the version 2 device.
 */
#include <check.h>
#include "tests/check-error.h"
#include "tests/check-run.h"
#include <stdlib.h>
#include <string.h>

#include "system/vmstate.h"
#include "system/dev-counter.h"
#include "system/dev-log.h"

static GByteArray *save(const DeviceStateOps *ops)
{
    GByteArray *out = g_byte_array_new();
    ck_assert(device_state_save(ops, out, &error_abort));
    return out;
}

/* Loading @len bytes of @buf as @version must fail with @needle. */
static void load_fails(const DeviceStateOps *ops, const uint8_t *buf,
                       size_t len, uint32_t version, const char *needle)
{
    Error *err = NULL;

    ck_assert(!device_state_load(ops, buf, len, version, &err));
    check_error(&err, needle);
}

/* Encoding */

START_TEST(test_encoding)
{
    g_autoptr(GByteArray) out = g_byte_array_new();
    static const uint8_t expect[] = {
        0xab,
        0x34, 0x12,
        0x78, 0x56, 0x34, 0x12,
        0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01,
        0x02, 0x00, 0x00, 0x00, 'h', 'i',
    };
    VMStateReader r;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    g_autofree char *s = NULL;
    Error *err = NULL;

    vmstate_put_u8(out, 0xab);
    vmstate_put_u16(out, 0x1234);
    vmstate_put_u32(out, 0x12345678);
    vmstate_put_u64(out, 0x0123456789abcdefull);
    vmstate_put_str(out, "hi");
    ck_assert_uint_eq(out->len, sizeof(expect));
    ck_assert(memcmp(out->data, expect, sizeof(expect)) == 0);

    vmstate_reader_init(&r, "dev", out->data, out->len);
    ck_assert(vmstate_get_u8(&r, "a", &u8, &error_abort));
    ck_assert(vmstate_get_u16(&r, "b", &u16, &error_abort));
    ck_assert(vmstate_get_u32(&r, "c", &u32, &error_abort));
    ck_assert(vmstate_get_u64(&r, "d", &u64, &error_abort));
    ck_assert(vmstate_get_str(&r, "e", 2, &s, &error_abort));
    ck_assert(vmstate_reader_finish(&r, &error_abort));
    ck_assert_uint_eq(u8, 0xab);
    ck_assert_uint_eq(u16, 0x1234);
    ck_assert_uint_eq(u32, 0x12345678);
    ck_assert(u64 == 0x0123456789abcdefull);
    ck_assert_str_eq(s, "hi");

    /* Truncation names device, field, need and have. */
    vmstate_reader_init(&r, "dev", out->data, 5);
    ck_assert(vmstate_get_u8(&r, "a", &u8, &error_abort));
    ck_assert(vmstate_get_u16(&r, "b", &u16, &error_abort));
    ck_assert(!vmstate_get_u32(&r, "c", &u32, &err));
    check_error(&err, "device 'dev': truncated state: need 4 bytes for "
                "'c', have 2");

    /* Strings longer than the limit, or not text, are refused. */
    vmstate_reader_init(&r, "dev", expect + 15, 6);
    ck_assert(!vmstate_get_str(&r, "e", 1, &s, &err));
    check_error(&err, "device 'dev': 'e' is 2 bytes long, the limit is 1");
    static const uint8_t bad_utf8[] = { 1, 0, 0, 0, 0xff };
    vmstate_reader_init(&r, "dev", bad_utf8, sizeof(bad_utf8));
    ck_assert(!vmstate_get_str(&r, "e", 10, &s, &err));
    check_error(&err, "device 'dev': 'e' is not valid UTF-8 text");

    /* Leftovers are an error. */
    vmstate_reader_init(&r, "dev", expect, 3);
    ck_assert(vmstate_get_u8(&r, "a", &u8, &error_abort));
    ck_assert(!vmstate_reader_finish(&r, &err));
    check_error(&err, "device 'dev': 2 unexpected bytes after the end");
}
END_TEST

/* Registry */

static bool dummy_save(void *opaque, GByteArray *out, Error **errp)
{
    return true;
}

static bool dummy_load(void *opaque, const uint8_t *buf, size_t len,
                       uint32_t version, Error **errp)
{
    *(uint32_t *)opaque = version;
    return true;
}

static bool append_id(const DeviceStateOps *ops, void *opaque, Error **errp)
{
    g_string_append_printf(opaque, "%s ", ops->id);
    if (strcmp(ops->id, "stop") == 0) {
        error_setg(errp, "stopped at %s", ops->id);
        return false;
    }
    return true;
}

START_TEST(test_registry)
{
    uint32_t loaded = 0;
    DeviceStateOps a = { .id = "a", .version = 3, .min_version = 2,
                         .shape = vmstate_shape_none,
                         .save = dummy_save, .load = dummy_load,
                         .opaque = &loaded };
    DeviceStateOps b = a, dup = a, bad = a, stop = a;
    g_autoptr(GString) ids = g_string_new("");
    Error *err = NULL;

    b.id = "b";
    stop.id = "stop";
    bad.id = "bad";
    bad.min_version = 4;

    ck_assert(device_state_register(&a, &error_abort));
    ck_assert(device_state_register(&b, &error_abort));
    ck_assert(!device_state_register(&dup, &err));
    check_error(&err, "device 'a' is already registered");
    ck_assert(!device_state_register(&bad, &err));
    check_error(&err, "device 'bad': invalid versions: min_version 4, "
                "version 3");
    ck_assert_ptr_eq(device_state_find("b"), &b);
    ck_assert_ptr_null(device_state_find("c"));

    ck_assert(device_state_foreach(append_id, ids, &error_abort));
    ck_assert_str_eq(ids->str, "a b ");
    ck_assert(device_state_register(&stop, &error_abort));
    g_string_truncate(ids, 0);
    ck_assert(!device_state_foreach(append_id, ids, &err));
    check_error(&err, "stopped at stop");
    ck_assert_str_eq(ids->str, "a b stop ");

    /* Versions are checked before the device sees anything. */
    load_fails(&a, NULL, 0, 1, "device 'a': unsupported state version 1 "
               "(this vmig loads versions 2 to 3)");
    load_fails(&a, NULL, 0, 4, "unsupported state version 4");
    ck_assert_uint_eq(loaded, 0);
    ck_assert(device_state_load(&a, NULL, 0, 2, &error_abort));
    ck_assert_uint_eq(loaded, 2);

    device_state_unregister(&b);
    device_state_unregister(&a);
    device_state_unregister(&stop);
    ck_assert_ptr_null(device_state_find("a"));
    ck_assert(device_state_foreach(append_id, ids, &error_abort));
}
END_TEST

/* Shapes: what a registration may declare. */
START_TEST(test_shapes)
{
    static const VMStateShapeProp twice[] = {
        { "queues", 2 }, { "queues", 2 }, { NULL } };
    static const VMStateShapeProp empty_name[] = { { "", 1 }, { NULL } };
    VMStateShapeProp many[VMSTATE_SHAPE_MAX + 2] = { { NULL } };
    g_autofree char *long_name = g_strnfill(VMSTATE_SHAPE_NAME_MAX + 1, 'x');
    VMStateShapeProp too_long[] = { { long_name, 1 }, { NULL } };
    char names[VMSTATE_SHAPE_MAX + 1][8];
    DeviceStateOps d = { .id = "d", .version = 1, .min_version = 1,
                         .save = dummy_save, .load = dummy_load };
    Error *err = NULL;

    for (int i = 0; i <= VMSTATE_SHAPE_MAX; i++) {
        snprintf(names[i], sizeof(names[i]), "p%d", i);
        many[i] = (VMStateShapeProp){ names[i], i };
    }
    d.shape = twice;
    ck_assert(!device_state_register(&d, &err));
    check_error(&err, "device 'd': shape property 'queues' is declared "
                "twice");
    d.shape = empty_name;
    ck_assert(!device_state_register(&d, &err));
    check_error(&err, "device 'd': shape property 0: the name must be 1 "
                "to 64 bytes");
    d.shape = too_long;
    ck_assert(!device_state_register(&d, &err));
    check_error(&err, "shape property 0: the name must be 1 to 64 bytes");
    d.shape = many;
    ck_assert(!device_state_register(&d, &err));
    check_error(&err, "device 'd': more than 16 shape properties");
    ck_assert_ptr_null(device_state_find("d"));
    many[VMSTATE_SHAPE_MAX].name = NULL;
    ck_assert(device_state_register(&d, &error_abort));
    device_state_unregister(&d);

    /* The machine's: none until set, the same rules, cleared by NULL. */
    ck_assert_ptr_eq(vmstate_machine_shape(), vmstate_shape_none);
    ck_assert(!vmstate_set_machine_shape(twice, &err));
    check_error(&err, "machine: shape property 'queues' is declared twice");
    ck_assert_ptr_eq(vmstate_machine_shape(), vmstate_shape_none);
    ck_assert(vmstate_set_machine_shape(many, &error_abort));
    ck_assert_ptr_eq(vmstate_machine_shape(), many);
    ck_assert(vmstate_set_machine_shape(NULL, &error_abort));
    ck_assert_ptr_null(vmstate_machine_shape()[0].name);

    /* The devices declare what their load() checks. */
    {
        g_autoptr(CounterDevice) c = counter_device_new(3);
        g_autoptr(LogDevice) l = log_device_new();
        const VMStateShapeProp *cs = counter_device_state(c)->shape;
        const VMStateShapeProp *ls = log_device_state(l)->shape;

        ck_assert_str_eq(cs[0].name, VMSTATE_SHAPE_VCPUS);
        ck_assert_uint_eq(cs[0].value, 3);
        ck_assert_ptr_null(cs[1].name);
        ck_assert_str_eq(ls[0].name, "record capacity");
        ck_assert_uint_eq(ls[0].value, LOG_DEVICE_CAPACITY);
        ck_assert_str_eq(ls[1].name, "record text limit");
        ck_assert_uint_eq(ls[1].value, LOG_DEVICE_MAX_TEXT);
        ck_assert_ptr_null(ls[2].name);
    }
}
END_TEST

/* save() writing more than the declared max_size is the device's bug:
 * refused at the source, the partial state dropped. */
static bool overflow_save(void *opaque, GByteArray *out, Error **errp)
{
    vmstate_put_u64(out, 1);
    return true;
}

START_TEST(test_save_over_max_size)
{
    DeviceStateOps ops = { .id = "small", .version = 1, .min_version = 1,
                           .max_size = VMSTATE_U32_SIZE,
                           .save = overflow_save, .load = dummy_load };
    g_autoptr(GByteArray) out = g_byte_array_new();
    Error *err = NULL;

    vmstate_put_u8(out, 7);
    ck_assert(!device_state_save(&ops, out, &err));
    check_error(&err, "device 'small': saved 8 bytes of state, more than "
                "its declared maximum of 4 bytes");
    ck_assert_uint_eq(out->len, 1);
    ops.max_size = VMSTATE_U64_SIZE;
    ck_assert(device_state_save(&ops, out, &error_abort));
}
END_TEST

/* The devices' declared max_size is what their fullest state takes. */
START_TEST(test_max_size_is_exact)
{
    g_autoptr(CounterDevice) counter = counter_device_new(5);
    g_autoptr(LogDevice) log = log_device_new();
    g_autofree char *text = g_strnfill(LOG_DEVICE_MAX_TEXT, 'x');
    g_autoptr(GByteArray) state = NULL;

    state = save(counter_device_state(counter));
    ck_assert_uint_eq(state->len, counter_device_state(counter)->max_size);
    g_clear_pointer(&state, g_byte_array_unref);
    for (unsigned i = 0; i < LOG_DEVICE_CAPACITY; i++) {
        ck_assert(log_device_append(log, text, &error_abort));
    }
    state = save(log_device_state(log));
    ck_assert_uint_eq(state->len, log_device_state(log)->max_size);
}
END_TEST

/* Counter */

START_TEST(test_counter_round_trip)
{
    g_autoptr(CounterDevice) src = counter_device_new(3);
    g_autoptr(CounterDevice) dst = counter_device_new(3);
    g_autoptr(GByteArray) state = NULL;

    for (int i = 0; i < 5; i++) {
        counter_device_bump(src, 0);
    }
    ck_assert_uint_eq(counter_device_bump(src, 2), 1);
    ck_assert_uint_eq(counter_device_bump(src, 2), 2);
    ck_assert_uint_eq(counter_device_total(src), 7);

    state = save(counter_device_state(src));
    /* u32 ncpus + 3 * u64 + u64 total */
    ck_assert_uint_eq(state->len, 4 + 3 * 8 + 8);
    ck_assert(device_state_load(counter_device_state(dst), state->data,
                                state->len, 1, &error_abort));
    ck_assert_uint_eq(counter_device_get(dst, 0), 5);
    ck_assert_uint_eq(counter_device_get(dst, 1), 0);
    ck_assert_uint_eq(counter_device_get(dst, 2), 2);
    ck_assert_uint_eq(counter_device_total(dst), 7);
    /* Counting continues from the loaded values. */
    ck_assert_uint_eq(counter_device_bump(dst, 2), 3);
}
END_TEST

START_TEST(test_counter_errors)
{
    g_autoptr(CounterDevice) src = counter_device_new(2);
    g_autoptr(CounterDevice) dst = counter_device_new(2);
    g_autoptr(CounterDevice) other = counter_device_new(4);
    const DeviceStateOps *ops = counter_device_state(dst);
    g_autoptr(GByteArray) state = NULL;

    counter_device_bump(src, 1);
    counter_device_bump(dst, 0);
    state = save(counter_device_state(src));

    load_fails(ops, state->data, 10, 1, "device 'counter': truncated "
               "state: need 8 bytes for 'count[0]', have 6");
    load_fails(ops, state->data, state->len - 1, 1, "device 'counter': "
               "truncated state: need 8 bytes for 'total', have 7");
    load_fails(ops, state->data, 0, 1, "need 4 bytes for 'ncpus', have 0");
    load_fails(counter_device_state(other), state->data, state->len, 1,
               "device 'counter': state is for 2 vCPUs, this machine has 4");
    load_fails(ops, state->data, state->len, 2, "device 'counter': "
               "unsupported state version 2");

    g_autoptr(GByteArray) longer = g_byte_array_new();
    g_byte_array_append(longer, state->data, state->len);
    vmstate_put_u8(longer, 0);
    load_fails(ops, longer->data, longer->len, 1, "device 'counter': 1 "
               "unexpected bytes after the end of the state");

    /* total must be the sum of the counts: patch it to 5. */
    state->data[state->len - 8] = 5;
    load_fails(ops, state->data, state->len, 1, "device 'counter': "
               "inconsistent state: total 5 is not the sum of the vCPU "
               "counts (1)");

    /* Failed loads changed nothing. */
    ck_assert_uint_eq(counter_device_get(dst, 0), 1);
    ck_assert_uint_eq(counter_device_get(dst, 1), 0);
    ck_assert_uint_eq(counter_device_total(dst), 1);
}
END_TEST

/* Log */

/* "seq:text seq:text ..." of @dev, oldest first. */
static char *log_contents(LogDevice *dev)
{
    g_autoptr(LogRecordList) list = log_device_query(dev);
    GString *s = g_string_new("");

    for (LogRecordList *e = list; e; e = e->next) {
        g_string_append_printf(s, "%" G_GUINT64_FORMAT ":%s ",
                               e->value->seq, e->value->text);
    }
    return g_string_free(s, FALSE);
}

START_TEST(test_log_ring)
{
    g_autoptr(LogDevice) dev = log_device_new();
    g_autoptr(LogRecordList) list = NULL;
    Error *err = NULL;
    char text[LOG_DEVICE_MAX_TEXT + 2];
    unsigned n = 0;

    for (unsigned i = 0; i < LOG_DEVICE_CAPACITY + 3; i++) {
        g_autofree char *t = g_strdup_printf("r%u", i);
        ck_assert(log_device_append(dev, t, &error_abort));
    }
    list = log_device_query(dev);
    for (LogRecordList *e = list; e; e = e->next, n++) {
        g_autofree char *t = g_strdup_printf("r%u", n + 3);
        ck_assert_uint_eq(e->value->seq, n + 3);
        ck_assert_str_eq(e->value->text, t);
    }
    ck_assert_uint_eq(n, LOG_DEVICE_CAPACITY);

    ck_assert(!log_device_append(dev, "", &err));
    check_error(&err, "must be 1 to 256 bytes long, not 0");
    memset(text, 'x', LOG_DEVICE_MAX_TEXT + 1);
    text[LOG_DEVICE_MAX_TEXT + 1] = '\0';
    ck_assert(!log_device_append(dev, text, &err));
    check_error(&err, "not 257");
    text[LOG_DEVICE_MAX_TEXT] = '\0';
    ck_assert(log_device_append(dev, text, &error_abort));
    ck_assert(!log_device_append(dev, "\xff", &err));
    check_error(&err, "not valid UTF-8");
}
END_TEST

START_TEST(test_log_round_trip)
{
    g_autoptr(LogDevice) src = log_device_new();
    g_autoptr(LogDevice) dst = log_device_new();
    g_autoptr(GByteArray) state = NULL;
    g_autoptr(GByteArray) empty = NULL;
    g_autofree char *before = NULL, *after = NULL, *cleared = NULL;

    for (unsigned i = 0; i < LOG_DEVICE_CAPACITY + 5; i++) {
        g_autofree char *t = g_strdup_printf("record %u: \xc3\xa9t\xc3\xa9", i);
        ck_assert(log_device_append(src, t, &error_abort));
    }
    ck_assert(log_device_append(dst, "to be replaced", &error_abort));
    state = save(log_device_state(src));
    ck_assert(device_state_load(log_device_state(dst), state->data,
                                state->len, 2, &error_abort));
    before = log_contents(src);
    after = log_contents(dst);
    ck_assert_str_eq(before, after);

    /* Numbering continues after the loaded records. */
    ck_assert(log_device_append(dst, "next", &error_abort));
    g_autoptr(LogRecordList) list = log_device_query(dst);
    LogRecordList *last = list;
    while (last->next) {
        last = last->next;
    }
    ck_assert_uint_eq(last->value->seq, LOG_DEVICE_CAPACITY + 5);

    /* An empty log round-trips to an empty log. */
    g_autoptr(LogDevice) blank = log_device_new();
    empty = save(log_device_state(blank));
    ck_assert_uint_eq(empty->len, 8 + 4);
    ck_assert(device_state_load(log_device_state(dst), empty->data,
                                empty->len, 2, &error_abort));
    cleared = log_contents(dst);
    ck_assert_str_eq(cleared, "");
}
END_TEST

START_TEST(test_log_v1)
{
    g_autoptr(LogDevice) dev = log_device_new();
    g_autoptr(GByteArray) v1 = g_byte_array_new();
    g_autofree char *contents = NULL, *more = NULL;

    /* Version 1: u32 count, then the texts, without sequence numbers. */
    vmstate_put_u32(v1, 2);
    vmstate_put_str(v1, "first");
    vmstate_put_str(v1, "second");

    ck_assert(log_device_append(dev, "old", &error_abort));
    ck_assert(device_state_load(log_device_state(dev), v1->data, v1->len, 1,
                                &error_abort));
    contents = log_contents(dev);
    ck_assert_str_eq(contents, "0:first 1:second ");
    ck_assert(log_device_append(dev, "third", &error_abort));
    more = log_contents(dev);
    ck_assert_str_eq(more, "0:first 1:second 2:third ");

    /* The same bytes are not valid version 2 state. */
    load_fails(log_device_state(dev), v1->data, v1->len, 2,
               "device 'log': 'count' is 1936877926, more than");
}
END_TEST

START_TEST(test_log_errors)
{
    g_autoptr(LogDevice) dev = log_device_new();
    const DeviceStateOps *ops = log_device_state(dev);
    g_autofree char *before = NULL, *after = NULL;
    g_autoptr(GByteArray) b = NULL;

    ck_assert(log_device_append(dev, "keep me", &error_abort));
    before = log_contents(dev);

    /* Truncated in the middle of a record's text. */
    b = g_byte_array_new();
    vmstate_put_u64(b, 10);
    vmstate_put_u32(b, 1);
    vmstate_put_u64(b, 3);
    vmstate_put_str(b, "abcdef");
    load_fails(ops, b->data, b->len - 4, 2, "device 'log': truncated state: "
               "need 6 bytes for 'records[0].text', have 2");
    /* A version 3 (unknown) is refused before parsing. */
    load_fails(ops, b->data, b->len, 3, "device 'log': unsupported state "
               "version 3 (this vmig loads versions 1 to 2)");
    ck_assert(device_state_load(ops, b->data, b->len, 2, &error_abort));
    g_byte_array_unref(b);

    /* Too many records. */
    b = g_byte_array_new();
    vmstate_put_u64(b, 100);
    vmstate_put_u32(b, LOG_DEVICE_CAPACITY + 1);
    load_fails(ops, b->data, b->len, 2, "device 'log': 'count' is 65, more "
               "than the 64 records the device holds");
    g_byte_array_unref(b);

    /* Sequence numbers must increase, and next_seq come after them. */
    b = g_byte_array_new();
    vmstate_put_u64(b, 10);
    vmstate_put_u32(b, 2);
    vmstate_put_u64(b, 5);
    vmstate_put_str(b, "a");
    vmstate_put_u64(b, 5);
    vmstate_put_str(b, "b");
    load_fails(ops, b->data, b->len, 2, "device 'log': 'records[1].seq' is "
               "5, not after the previous record's 5");
    g_byte_array_unref(b);
    b = g_byte_array_new();
    vmstate_put_u64(b, 5);
    vmstate_put_u32(b, 1);
    vmstate_put_u64(b, 5);
    vmstate_put_str(b, "a");
    load_fails(ops, b->data, b->len, 2, "device 'log': 'next_seq' is 5, "
               "not after the last record's 5");
    g_byte_array_unref(b);

    /* Bad texts: empty, too long, not UTF-8. */
    b = g_byte_array_new();
    vmstate_put_u32(b, 1);
    vmstate_put_str(b, "");
    load_fails(ops, b->data, b->len, 1, "device 'log': 'records[0].text' "
               "is empty");
    g_byte_array_unref(b);
    b = g_byte_array_new();
    vmstate_put_u32(b, 1);
    vmstate_put_u32(b, LOG_DEVICE_MAX_TEXT + 1);
    load_fails(ops, b->data, b->len, 1, "device 'log': 'records[0].text' is "
               "257 bytes long, the limit is 256");
    g_byte_array_unref(b);
    b = g_byte_array_new();
    vmstate_put_u32(b, 2);
    vmstate_put_str(b, "ok");
    vmstate_put_blob(b, "\xc3", 1);
    load_fails(ops, b->data, b->len, 1, "device 'log': 'records[1].text' is "
               "not valid UTF-8 text");
    g_byte_array_unref(b);

    /* Oversized: valid state followed by garbage. */
    b = g_byte_array_new();
    vmstate_put_u32(b, 0);
    vmstate_put_u32(b, 0);
    load_fails(ops, b->data, b->len, 1, "device 'log': 4 unexpected bytes "
               "after the end of the state");
    g_byte_array_unref(b);
    b = NULL;

    /* None of the failed loads touched the device (the one good load
     * above replaced "keep me" with "abcdef"). */
    after = log_contents(dev);
    ck_assert_str_eq(after, "3:abcdef ");
    ck_assert_str_ne(before, after);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("device-state");
    TCase *core = tcase_create("core");
    TCase *counter = tcase_create("counter");
    TCase *log = tcase_create("log");
    SRunner *sr;

    tcase_add_test(core, test_encoding);
    tcase_add_test(core, test_registry);
    tcase_add_test(core, test_shapes);
    tcase_add_test(core, test_save_over_max_size);
    tcase_add_test(core, test_max_size_is_exact);
    suite_add_tcase(s, core);
    tcase_add_test(counter, test_counter_round_trip);
    tcase_add_test(counter, test_counter_errors);
    suite_add_tcase(s, counter);
    tcase_add_test(log, test_log_ring);
    tcase_add_test(log, test_log_round_trip);
    tcase_add_test(log, test_log_v1);
    tcase_add_test(log, test_log_errors);
    suite_add_tcase(s, log);

    sr = srunner_create(s);
    /* Every test starts from a fresh process: the machine is global. */
    srunner_set_fork_status(sr, CK_FORK);
    return vmig_check_run(sr);
}
