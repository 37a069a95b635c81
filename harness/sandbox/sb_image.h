/* The harness's side of the containers: the busybox image the tests run in and the prober
 * inside it. Not part of the student's interface. */
#ifndef VLAB_SB_IMAGE_H
#define VLAB_SB_IMAGE_H

#include <stddef.h>

/* Contents of /etc/marker in a fresh image: the copy-on-write tests look for it. */
#define SB_IMAGE_MARKER "vlab image marker\n"

/* Finds the static prober: $VLAB_GUEST_DIR/sb-prober, else guests/sb-prober next to this
 * executable. 0, or -1 with a message in path. */
int sb_find_prober(char *path, size_t len);
/* Builds a busybox-static image in dir (created, must not exist): /bin/busybox with its
 * applets as symlinks, /bin/prober (when prober is not NULL), /etc, and empty /proc, /dev,
 * /tmp, /sys. All root-owned, 0755 directories. 0 or -errno (dir then removed). */
int sb_image_build(const char *dir, const char *prober);
/* Removes a directory tree without following symlinks. 0 or -errno. */
int sb_tree_remove(const char *dir);

#endif
