#include "benchdoc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool fail(struct bench_doc *d, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err, sizeof d->err, fmt, ap);
    va_end(ap);
    return false;
}

static void copy(char *dst, size_t len, const char *src) {
    size_t i = 0;
    for (; src[i] && i + 1 < len; i++)
        dst[i] = src[i];
    dst[i] = 0;
}

/* KEY of OBJ as a non-empty string that fits in LEN, copied to OUT. */
static bool string(struct bench_doc *d, const cJSON *obj, const char *key, char *out, size_t len,
                   bool may_be_empty) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(v)) return fail(d, "\"%s\": missing or not a string", key);
    if (!may_be_empty && !*v->valuestring) return fail(d, "\"%s\": empty", key);
    if (strlen(v->valuestring) >= len) return fail(d, "\"%s\": longer than %zu", key, len - 1);
    copy(out, len, v->valuestring);
    return true;
}

/* Every key of OBJ is one of KEYS (NULL-terminated): a misspelt key is an error, not ignored. */
static bool only(struct bench_doc *d, const cJSON *obj, const char *const *keys,
                 const char *where) {
    const cJSON *it;
    cJSON_ArrayForEach(it, obj) {
        bool known = false;
        for (const char *const *k = keys; *k && !known; k++)
            known = !strcmp(*k, it->string);
        if (!known) return fail(d, "%s: unknown key \"%s\"", where, it->string);
    }
    return true;
}

static bool measure(struct bench_doc *d, const cJSON *m, unsigned i) {
    static const char *const keys[] = {"measure", "unit", "value", "runs", "on", "why", NULL};
    struct bench_measure *x = &d->m[d->n];
    char where[32];
    snprintf(where, sizeof where, "measures[%u]", i);
    if (!cJSON_IsObject(m)) return fail(d, "%s: not an object", where);
    if (!only(d, m, keys, where) || !string(d, m, "measure", x->id, sizeof x->id, false) ||
        !string(d, m, "unit", x->unit, sizeof x->unit, false) ||
        !string(d, m, "on", x->on, sizeof x->on, false))
        return false;
    for (unsigned j = 0; j < d->n; j++)
        if (!strcmp(d->m[j].id, x->id)) return fail(d, "measure \"%s\" twice", x->id);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, "value");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "runs");
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(m, "why");
    if (!cJSON_IsNumber(r) || r->valuedouble < 0 || r->valuedouble != floor(r->valuedouble))
        return fail(d, "%s (%s): \"runs\" is not a count", where, x->id);
    x->runs = (unsigned)r->valuedouble;
    x->why[0] = 0;
    if (cJSON_IsNumber(v)) {
        if (w) return fail(d, "%s (%s): a value and a \"why\"", where, x->id);
        if (x->runs < 1) return fail(d, "%s (%s): a value of 0 runs", where, x->id);
        x->value = v->valuedouble;
    } else if (cJSON_IsNull(v)) {
        if (!string(d, m, "why", x->why, sizeof x->why, false))
            return fail(d, "%s (%s): no value and no \"why\"", where, x->id);
        x->value = NAN;
    } else
        return fail(d, "%s (%s): \"value\" is neither a number nor null", where, x->id);
    d->n++;
    return true;
}

static bool check(struct bench_doc *d, const cJSON *doc) {
    static const char *const top[] = {"schema",  "lab",      "solution", "when",
                                      "machine", "measures", NULL};
    static const char *const mkeys[] = {"arch", "kernel", "cpu", "cpus", "root", "kvm", NULL};
    char schema[32];
    if (!cJSON_IsObject(doc)) return fail(d, "not a JSON object");
    if (!only(d, doc, top, "top level") || !string(d, doc, "schema", schema, sizeof schema, false))
        return false;
    if (strcmp(schema, "vlab-bench/1")) return fail(d, "schema \"%s\", not vlab-bench/1", schema);
    if (!string(d, doc, "lab", d->lab, sizeof d->lab, false) ||
        !string(d, doc, "solution", d->solution, sizeof d->solution, false) ||
        !string(d, doc, "when", d->when, sizeof d->when, false))
        return false;
    const cJSON *mach = cJSON_GetObjectItemCaseSensitive(doc, "machine");
    if (!cJSON_IsObject(mach)) return fail(d, "\"machine\": missing or not an object");
    if (!only(d, mach, mkeys, "machine") ||
        !string(d, mach, "arch", d->arch, sizeof d->arch, false) ||
        !string(d, mach, "kernel", d->kernel, sizeof d->kernel, false) ||
        !string(d, mach, "cpu", d->cpu, sizeof d->cpu, true))
        return false;
    const cJSON *cpus = cJSON_GetObjectItemCaseSensitive(mach, "cpus");
    const cJSON *root = cJSON_GetObjectItemCaseSensitive(mach, "root");
    const cJSON *kvm = cJSON_GetObjectItemCaseSensitive(mach, "kvm");
    if (!cJSON_IsNumber(cpus) || !cJSON_IsBool(root) || !cJSON_IsBool(kvm))
        return fail(d, "machine: \"cpus\" a number, \"root\" and \"kvm\" booleans expected");
    d->cpus = cpus->valueint;
    d->root = cJSON_IsTrue(root);
    d->kvm = cJSON_IsTrue(kvm);
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(doc, "measures");
    if (!cJSON_IsArray(ms)) return fail(d, "\"measures\": missing or not an array");
    const cJSON *m;
    unsigned i = 0;
    cJSON_ArrayForEach(m, ms) {
        if (d->n == BENCH_MAX_MEASURES) return fail(d, "more than %d measures", BENCH_MAX_MEASURES);
        if (!measure(d, m, i++)) return false;
    }
    return true;
}

void bench_load(struct bench_doc *d, const char *path) {
    memset(d, 0, sizeof *d);
    FILE *f = fopen(path, "r");
    if (!f) {
        fail(d, "%s: %s", path, strerror(errno));
        return;
    }
    static char text[1 << 20];
    size_t len = fread(text, 1, sizeof text - 1, f);
    bool whole = feof(f);
    fclose(f);
    text[len] = 0;
    if (!whole) {
        fail(d, "%s: larger than %zu bytes", path, sizeof text - 1);
        return;
    }
    cJSON *doc = cJSON_Parse(text);
    if (!doc) {
        fail(d, "%s: not JSON (near byte %td)", path, cJSON_GetErrorPtr() - text);
        return;
    }
    char err[sizeof d->err];
    if (check(d, doc))
        d->loaded = true;
    else {
        snprintf(err, sizeof err, "%s", d->err);
        snprintf(d->err, sizeof d->err, "%s: %.200s", path, err);
        d->n = 0;
    }
    cJSON_Delete(doc);
}

double bench_get(const struct bench_doc *d, const char *id, const char **why) {
    if (why) *why = d->loaded ? "its bench ran but gave no number for it" : d->err;
    if (!d->loaded) return NAN;
    for (unsigned i = 0; i < d->n; i++)
        if (!strcmp(d->m[i].id, id)) {
            if (why) *why = d->m[i].why;
            return d->m[i].value;
        }
    return NAN;
}
