#ifndef CSYSTEMSHIMS_H
#define CSYSTEMSHIMS_H
#include <sys/vfs.h>
#include <sys/statfs.h>

/// The registry's write gate: a robust, process-shared mutex in a small file beside the registry
/// (`<registry>-gate`). Writers of this host queue on it in the kernel and are handed it in turn,
/// instead of each sleeping 0.1-2 ms in SQLite's busy handler while the lock may already be free.
/// It orders our own writers only; SQLite's lock stays what makes a transaction exclusive.
typedef struct ocp_write_gate ocp_write_gate;

/// Opens (creating with `mode`, initialising once under flock) the gate file; NULL if it cannot.
ocp_write_gate *ocp_write_gate_open(const char *path, unsigned mode);
/// 0: held (also when its previous holder died holding it); 1: not within `seconds`, or an error.
int ocp_write_gate_lock(ocp_write_gate *gate, double seconds);
void ocp_write_gate_unlock(ocp_write_gate *gate);
void ocp_write_gate_close(ocp_write_gate *gate);
#endif
