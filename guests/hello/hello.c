/*
 * hello - the smallest paravirtual Ferry guest.
 *
 * Prints a greeting and what the hypervisor says about itself through the SBI
 * Base extension, then shuts the VM down (SRST, reason none): exit status 0.
 */
#include "console.h"
#include "sbi.h"

static const char *yes_no(long present) { return present ? "yes" : "no"; }

int main(unsigned long hartid, unsigned long arg)
{
    (void)arg;
    printf("Hello from a Ferry guest!\n");

    long spec = sbi_get_spec_version();
    printf("hart %lu, SBI spec %ld.%ld\n", hartid, (spec >> 24) & 0x7f, spec & 0xffffff);
    printf("SBI implementation id 0x%lx, version 0x%lx\n",
           sbi_get_impl_id(), sbi_get_impl_version());
    printf("mvendorid 0x%lx, marchid 0x%lx, mimpid 0x%lx\n",
           sbi_base(SBI_BASE_GET_MVENDORID, 0).value,
           sbi_base(SBI_BASE_GET_MARCHID, 0).value,
           sbi_base(SBI_BASE_GET_MIMPID, 0).value);
    printf("extensions: TIME %s, SRST %s, DBCN %s\n",
           yes_no(sbi_probe_extension(SBI_EXT_TIME)),
           yes_no(sbi_probe_extension(SBI_EXT_SRST)),
           yes_no(sbi_probe_extension(SBI_EXT_DBCN)));
    printf("Goodbye.\n");
    return 0; /* start.S hands this to guest_exit(): SRST shutdown, reason none */
}
