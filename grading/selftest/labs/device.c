/* A test that needs a device node the grader's test uid cannot open on the host (/dev/kvm is
 * root-only here): it passes only when the rubric's `set device` gave the run a node of its
 * own, and skips, saying why, when the device is missing or closed to it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

Test(device, opens_kvm) {
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) cr_skip_test("cannot open /dev/kvm (%s)", strerror(errno));
    close(fd);
}
