#ifndef CLIBPQ_SHIM_H
#define CLIBPQ_SHIM_H

// Debian installs libpq-fe.h under /usr/include/postgresql; pkg-config usually adds that folder,
// but fall back to the prefixed path when it does not.
#if __has_include(<libpq-fe.h>)
#include <libpq-fe.h>
#else
#include <postgresql/libpq-fe.h>
#endif

#endif
