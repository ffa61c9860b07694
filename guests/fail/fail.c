/*
 * fail - a paravirtual guest that reports a system failure on purpose.
 *
 * Prints a line, then SBI SRST shutdown with reason "system failure":
 * `ferry run` must exit with status 1.
 */
#include "console.h"
#include "sbi.h"

int main(void)
{
    printf("fail: this guest reports a system failure on purpose\n");
    sbi_system_reset(SBI_SRST_TYPE_SHUTDOWN, SBI_SRST_REASON_FAILURE);
    printf("fail: SRST returned, which it must not do\n");
    return 2; /* guest_exit(2) tries SRST failure once more */
}
