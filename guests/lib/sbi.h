/*
 * sbi.h - SBI calls for Ferry paravirtual guests (S-mode).
 *
 * Calling convention (SBI v0.2+): a7 = extension id (EID), a6 = function id
 * (FID), arguments in a0..a5; the hypervisor returns a0 = error, a1 = value
 * and preserves every other register.
 */
#ifndef FERRY_SBI_H
#define FERRY_SBI_H

#include <stdint.h>

#define SBI_EXT_LEGACY_PUTCHAR 0x01u
#define SBI_EXT_BASE           0x10u
#define SBI_EXT_TIME           0x54494D45u /* "TIME" */
#define SBI_EXT_SRST           0x53525354u /* "SRST" */
#define SBI_EXT_DBCN           0x4442434Eu /* "DBCN" */

/* Base extension function ids. */
#define SBI_BASE_GET_SPEC_VERSION 0
#define SBI_BASE_GET_IMPL_ID      1
#define SBI_BASE_GET_IMPL_VERSION 2
#define SBI_BASE_PROBE_EXTENSION  3
#define SBI_BASE_GET_MVENDORID    4
#define SBI_BASE_GET_MARCHID      5
#define SBI_BASE_GET_MIMPID       6

/* SRST system_reset arguments. */
#define SBI_SRST_TYPE_SHUTDOWN    0
#define SBI_SRST_TYPE_COLD_REBOOT 1
#define SBI_SRST_TYPE_WARM_REBOOT 2
#define SBI_SRST_REASON_NONE      0
#define SBI_SRST_REASON_FAILURE   1

/* Error codes. */
#define SBI_SUCCESS            0
#define SBI_ERR_FAILED        -1
#define SBI_ERR_NOT_SUPPORTED -2
#define SBI_ERR_INVALID_PARAM -3
#define SBI_ERR_DENIED        -4
#define SBI_ERR_INVALID_ADDRESS -5

struct sbiret {
    long error;
    long value;
};

static inline struct sbiret sbi_ecall(unsigned long eid, unsigned long fid,
                                      unsigned long arg0, unsigned long arg1,
                                      unsigned long arg2, unsigned long arg3,
                                      unsigned long arg4, unsigned long arg5)
{
    register unsigned long a0 __asm__("a0") = arg0;
    register unsigned long a1 __asm__("a1") = arg1;
    register unsigned long a2 __asm__("a2") = arg2;
    register unsigned long a3 __asm__("a3") = arg3;
    register unsigned long a4 __asm__("a4") = arg4;
    register unsigned long a5 __asm__("a5") = arg5;
    register unsigned long a6 __asm__("a6") = fid;
    register unsigned long a7 __asm__("a7") = eid;
    __asm__ volatile("ecall"
                     : "+r"(a0), "+r"(a1)
                     : "r"(a2), "r"(a3), "r"(a4), "r"(a5), "r"(a6), "r"(a7)
                     : "memory");
    struct sbiret ret = { (long)a0, (long)a1 };
    return ret;
}

/* ---- Base (EID 0x10) ---- */
static inline struct sbiret sbi_base(unsigned long fid, unsigned long arg0)
{
    return sbi_ecall(SBI_EXT_BASE, fid, arg0, 0, 0, 0, 0, 0);
}
static inline long sbi_get_spec_version(void) { return sbi_base(SBI_BASE_GET_SPEC_VERSION, 0).value; }
static inline long sbi_get_impl_id(void)      { return sbi_base(SBI_BASE_GET_IMPL_ID, 0).value; }
static inline long sbi_get_impl_version(void) { return sbi_base(SBI_BASE_GET_IMPL_VERSION, 0).value; }
/* Returns 0 when the extension is absent, non-zero (usually 1) when present. */
static inline long sbi_probe_extension(unsigned long eid) { return sbi_base(SBI_BASE_PROBE_EXTENSION, eid).value; }

/* ---- Legacy console_putchar (EID 0x01): returns only a0 ---- */
static inline long sbi_legacy_putchar(int ch)
{
    register unsigned long a0 __asm__("a0") = (unsigned char)ch;
    register unsigned long a7 __asm__("a7") = SBI_EXT_LEGACY_PUTCHAR;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a7) : "memory", "a1");
    return (long)a0;
}

/* ---- Debug console (EID "DBCN") ---- */
/* write(num_bytes, base_addr_lo, base_addr_hi): value = bytes written. */
static inline struct sbiret sbi_debug_console_write(unsigned long len, const void *buf)
{
    return sbi_ecall(SBI_EXT_DBCN, 0, len, (unsigned long)(uintptr_t)buf, 0, 0, 0, 0);
}
static inline struct sbiret sbi_debug_console_write_byte(uint8_t byte)
{
    return sbi_ecall(SBI_EXT_DBCN, 2, byte, 0, 0, 0, 0, 0);
}

/* ---- Timer (EID "TIME"): stime_value as a0 (low) / a1 (high) ---- */
static inline struct sbiret sbi_set_timer(uint64_t stime_value)
{
    return sbi_ecall(SBI_EXT_TIME, 0, (unsigned long)stime_value,
                     (unsigned long)(stime_value >> 32), 0, 0, 0, 0);
}

/* ---- System reset (EID "SRST") ---- */
static inline struct sbiret sbi_system_reset(unsigned long type, unsigned long reason)
{
    return sbi_ecall(SBI_EXT_SRST, 0, type, reason, 0, 0, 0, 0);
}

#endif /* FERRY_SBI_H */
