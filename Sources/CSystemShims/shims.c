// statfs(2) for the network-filesystem check (headers only), and the registry's write gate.
#define _GNU_SOURCE
#include "CSystemShims.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define OCP_GATE_MAGIC 0x6f637067u
#define OCP_GATE_SIZE 4096

struct ocp_write_gate {
    uint32_t magic;
    uint32_t reserved;
    pthread_mutex_t mutex;
};

ocp_write_gate *ocp_write_gate_open(const char *path, unsigned mode) {
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd >= 0) {
        fchmod(fd, mode);  // created here: the registry's mode whatever the umask (a team directory's group bits)
    } else if (errno == EEXIST) {
        fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    }
    if (fd < 0) return NULL;
    // flock on the gate file itself (never on the registry: closing a descriptor of a file SQLite
    // has open would drop its POSIX locks): two processes opening a new gate do not both set it up.
    if (flock(fd, LOCK_EX) != 0) { close(fd); return NULL; }
    ocp_write_gate *gate = NULL;
    struct stat info;
    if (fstat(fd, &info) == 0 && S_ISREG(info.st_mode)
        && (info.st_size >= OCP_GATE_SIZE || ftruncate(fd, OCP_GATE_SIZE) == 0)) {
        void *mapped = mmap(NULL, OCP_GATE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (mapped != MAP_FAILED) {
            gate = mapped;
            if (__atomic_load_n(&gate->magic, __ATOMIC_ACQUIRE) != OCP_GATE_MAGIC) {
                pthread_mutexattr_t attributes;
                pthread_mutexattr_init(&attributes);
                pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
                pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
                int rc = pthread_mutex_init(&gate->mutex, &attributes);
                pthread_mutexattr_destroy(&attributes);
                if (rc == 0) {
                    __atomic_store_n(&gate->magic, OCP_GATE_MAGIC, __ATOMIC_RELEASE);
                } else {
                    munmap(mapped, OCP_GATE_SIZE);
                    gate = NULL;
                }
            }
        }
    }
    flock(fd, LOCK_UN);
    close(fd);
    return gate;
}

int ocp_write_gate_lock(ocp_write_gate *gate, double seconds) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    long long nanoseconds = (long long)(seconds * 1e9) + deadline.tv_nsec;
    deadline.tv_sec += (time_t)(nanoseconds / 1000000000LL);
    deadline.tv_nsec = (long)(nanoseconds % 1000000000LL);
    int rc = pthread_mutex_timedlock(&gate->mutex, &deadline);
    if (rc == EOWNERDEAD) {
        // Its holder died holding it: the gate protects no data, so it is consistent as it is.
        pthread_mutex_consistent(&gate->mutex);
        return 0;
    }
    return rc == 0 ? 0 : 1;
}

void ocp_write_gate_unlock(ocp_write_gate *gate) {
    pthread_mutex_unlock(&gate->mutex);
}

void ocp_write_gate_close(ocp_write_gate *gate) {
    munmap(gate, OCP_GATE_SIZE);
}
