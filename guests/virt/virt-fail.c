/*
 * virt-fail - a machine guest that fails on purpose through the test
 * finisher: it writes 0x3333 | (7 << 16). `ferry run` must exit 1 and
 * report code 7.
 */
#include "console.h"
#include "virt.h"

int main(void)
{
    printf("virt-fail: reporting failure code 7 through the test finisher\n");
    finisher_exit(7);
}
