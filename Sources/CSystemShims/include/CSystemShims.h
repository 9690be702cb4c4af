#ifndef CSYSTEMSHIMS_H
#define CSYSTEMSHIMS_H
#include <sys/vfs.h>
#include <sys/statfs.h>
#endif
