/* kvmcheck: opens /dev/kvm and asserts KVM_GET_API_VERSION == 12 (built static by vlab-vm). */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void) {
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        printf("kvmcheck: FAIL: cannot open /dev/kvm: %s\n", strerror(errno));
        return 1;
    }
    int api = ioctl(fd, KVM_GET_API_VERSION, 0);
    int vm = ioctl(fd, KVM_CREATE_VM, 0);
    printf("kvmcheck: KVM_GET_API_VERSION = %d (expected 12), KVM_CREATE_VM %s\n", api,
           vm >= 0 ? "ok" : strerror(errno));
    if (vm >= 0) close(vm);
    close(fd);
    return api == 12 && vm >= 0 ? 0 : 1;
}
