/*
 * synap.h — the C ABI of libsynap.
 *
 * Conventions (they hold for every function in this header):
 *  - Every fallible function returns an int: SYNAP_OK (0) on success, a
 *    negative SYNAP_E* code on error. SYNAP_NOTFOUND (positive) means "no such
 *    thing" and is not an error.
 *  - After an error, synap_last_error() returns a message for the calling
 *    thread (thread-local; valid until that thread's next call into libsynap).
 *  - No C++ exception ever crosses this boundary.
 *  - Keys and values are (pointer, length) pairs; they need not be
 *    NUL-terminated. Memory returned by libsynap is freed with synap_free().
 *  - Symbols are versioned (capi/synap.map); the library's SONAME is
 *    libsynap.so.1. Functions are added, never changed, within a major
 *    version.
 *
 * This is the first slice of the ABI: versions and errors. The engine's data
 * models (KV, queues, streams, pub/sub) arrive with their own issues.
 */
#ifndef SYNAP_SYNAP_H
#define SYNAP_SYNAP_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SYNAP_API __attribute__((visibility("default")))
#else
#define SYNAP_API
#endif

/* ---- Versions ---- */

#define SYNAP_VERSION_MAJOR 0
#define SYNAP_VERSION_MINOR 1
#define SYNAP_VERSION_PATCH 0
/* MAJOR * 10000 + MINOR * 100 + PATCH, e.g. 100 for 0.1.0. */
#define SYNAP_VERSION_NUMBER (SYNAP_VERSION_MAJOR * 10000 + SYNAP_VERSION_MINOR * 100 + SYNAP_VERSION_PATCH)
#define SYNAP_VERSION_STRING "0.1.0"

/* The version of the library actually loaded (compare with the macros, which
 * give the version of the header compiled against). Thread-safe; never fails. */
SYNAP_API int synap_version_number(void);
/* A static string such as "0.1.0"; never NULL, never freed. Thread-safe. */
SYNAP_API const char* synap_version_string(void);

/* ---- Result codes ---- */

#define SYNAP_OK 0
#define SYNAP_NOTFOUND 1          /* the key, message or offset does not exist (not an error) */
#define SYNAP_EINVAL (-1)         /* invalid argument: NULL pointer, bad name, bad option value */
#define SYNAP_ETOOLARGE (-2)      /* a named limit was exceeded (key, value, batch size, ...) */
#define SYNAP_ECORRUPT (-3)       /* stored data failed validation; the message names file and offset */
#define SYNAP_EIO (-4)            /* the operating system reported an I/O error */
#define SYNAP_ENOSPC (-5)         /* no space left on the device */
#define SYNAP_EREADONLY (-6)      /* the engine turned read-only after a failed write or fsync */
#define SYNAP_ELOCKED (-7)        /* another process holds the data directory */
#define SYNAP_ECLOSED (-8)        /* the handle was closed */
#define SYNAP_EBUSY (-9)          /* a bounded resource is full; retry later */
#define SYNAP_EUNSUPPORTED (-10)  /* not possible here (e.g. a newer on-disk format version) */
#define SYNAP_ENOMEM (-11)        /* out of memory */
#define SYNAP_EINTERNAL (-12)     /* a bug in libsynap; the message says where */

/* A static, English description of a result code ("unknown result code" for
 * values not listed above). Never NULL, never freed. Thread-safe. */
SYNAP_API const char* synap_strerror(int code);

/* The message of the calling thread's most recent failed call ("" if none,
 * or if a fallible call succeeded since). Never NULL. Owned by libsynap:
 * valid until this thread's next call into libsynap. Thread-safe (each
 * thread has its own). */
SYNAP_API const char* synap_last_error(void);

/* Frees memory that libsynap returned. NULL is allowed. Thread-safe. */
SYNAP_API void synap_free(void* ptr);

#ifdef __cplusplus
}
#endif

#endif /* SYNAP_SYNAP_H */
