/*
 * runtime_sbi.c - runtime for paravirtual guests (S-mode, SBI hypercalls).
 *
 * Console: SBI DBCN write (one hypercall per buffer); if the hypervisor does
 * not implement DBCN, falls back to the legacy console_putchar (EID 0x01).
 * Exit: SBI SRST shutdown, reason none (code 0) or system failure (else).
 */
#include "console.h"
#include "sbi.h"
#include "riscv.h"

static int dbcn_state; /* 0 = not probed yet, 1 = DBCN, -1 = legacy putchar */

void console_write(const char *buf, size_t len)
{
    if (dbcn_state == 0)
        dbcn_state = sbi_probe_extension(SBI_EXT_DBCN) ? 1 : -1;
    if (dbcn_state > 0) {
        while (len > 0) {
            struct sbiret r = sbi_debug_console_write(len, buf);
            if (r.error != SBI_SUCCESS || r.value <= 0 || (size_t)r.value > len)
                break;              /* fall through to the byte-wise path */
            buf += r.value;
            len -= (size_t)r.value;
        }
    }
    while (len > 0) {
        sbi_legacy_putchar(*buf++);
        len--;
    }
}

__attribute__((noreturn)) void guest_exit(int code)
{
    sbi_system_reset(SBI_SRST_TYPE_SHUTDOWN,
                     code == 0 ? SBI_SRST_REASON_NONE : SBI_SRST_REASON_FAILURE);
    /* SRST should not return; if it does, park the hart. */
    for (;;) wfi();
}
