#include "vlab/err.h"

#include <stdarg.h>
#include <stdio.h>

const char *vlab_strerror(int err) {
    switch (err) {
    case VLAB_OK: return "success";
    case VLAB_EINVAL: return "invalid argument";
    case VLAB_ENOMEM: return "out of memory";
    case VLAB_ERANGE: return "guest-physical address outside guest memory";
    case VLAB_EPF: return "page fault";
    case VLAB_ENONCANON: return "non-canonical address";
    case VLAB_ENOTIMPL: return "not implemented";
    case VLAB_EIO: return "I/O error";
    case VLAB_EUNSUPP: return "unsupported by vlab";
    case VLAB_EEXIST: return "already exists";
    case VLAB_ENOENT: return "not found";
    default: return "unknown vlab error";
    }
}

int vlab_say(char *err, size_t errlen, int rc, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}
