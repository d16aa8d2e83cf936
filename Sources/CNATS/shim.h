// The libnats C client (Debian libnats-dev) for Swift: the modern <nats/nats.h>, not the deprecated top-level header,
// plus small wrappers for what Swift cannot express directly.
#ifndef HIVE_HEALTH_CNATS_SHIM_H
#define HIVE_HEALTH_CNATS_SHIM_H

#include <nats/nats.h>
#include <stdint.h>

// Exponential reconnect backoff (base doubling per attempt, capped), as a natsCustomReconnectDelayHandler. The base
// and the cap travel in the closure pointer itself (cap in the upper bits, base in the lower 24), so there is no
// allocation to free.
static inline int64_t hh_nats_backoff_delay(natsConnection *nc, int attempts, void *closure) {
    (void)nc;
    uintptr_t packed = (uintptr_t)closure;
    int64_t base = (int64_t)(packed & 0xFFFFFF);
    int64_t cap = (int64_t)(packed >> 24);
    if (base <= 0) base = 1;
    int64_t delay = base;
    for (int i = 1; i < attempts && delay < cap; i++) delay *= 2;
    return delay < cap ? delay : cap;
}

// Installs hh_nats_backoff_delay with `base_ms` (up to 16777215) and `cap_ms`.
static inline natsStatus hh_nats_options_set_backoff(natsOptions *opts, int64_t base_ms, int64_t cap_ms) {
    if (base_ms > 0xFFFFFF) base_ms = 0xFFFFFF;
    if (cap_ms < base_ms) cap_ms = base_ms;
    uintptr_t packed = ((uintptr_t)cap_ms << 24) | (uintptr_t)base_ms;
    return natsOptions_SetCustomReconnectDelay(opts, hh_nats_backoff_delay, (void *)packed);
}

#endif
