// Headers only: statfs(2) for the network-filesystem check, which Glibc's Swift module lacks.
#include "CSystemShims.h"
