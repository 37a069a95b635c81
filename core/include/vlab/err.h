/* Error codes shared by every vlab module: negative ints, 0 is success. */
#ifndef VLAB_ERR_H
#define VLAB_ERR_H

#include <stddef.h>

enum vlab_err {
    VLAB_OK = 0,
    VLAB_EINVAL = -1,    /* bad argument (misaligned, overlapping, zero size, ...) */
    VLAB_ENOMEM = -2,    /* host allocation failed, or a fixed pool is exhausted */
    VLAB_ERANGE = -3,    /* guest-physical address outside every memory region */
    VLAB_EPF = -4,       /* the access raises #PF; details in the walk result */
    VLAB_ENONCANON = -5, /* non-canonical virtual address: #GP, not #PF */
    VLAB_ENOTIMPL = -6,  /* student stub not written yet */
    VLAB_EIO = -7,       /* host I/O error */
    VLAB_EUNSUPP = -8,   /* architectural feature vlab does not model */
    VLAB_EEXIST = -9,    /* already mapped / already present */
    VLAB_ENOENT = -10,   /* not found / not mapped */
};

/* A static, human-readable message; unknown codes give "unknown vlab error". */
const char *vlab_strerror(int err);

/* Writes the sentence into err (when err and errlen are non-zero) and returns rc: the one line
 * every parser's refusal is ("return vlab_say(err, errlen, VLAB_EINVAL, "...", ...)"). */
int vlab_say(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
