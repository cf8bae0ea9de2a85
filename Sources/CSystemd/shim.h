// libsystemd (Debian: libsystemd-dev): sd_notify, sd_listen_fds, sd_journal.
// Variadic entry points get non-variadic static inline wrappers here, since
// Swift cannot call C variadics.
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

/// sd_notify with a preformatted state string ("READY=1\nSTATUS=...").
static inline int revsd_sd_notify(const char *state) {
    return sd_notify(0, state);
}
