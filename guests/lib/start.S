/*
 * Ferry guest entry, shared by both guest kinds.
 *
 * Boot convention: pc = e_entry (= RAM_BASE), a0 = hart id, a1 = 0.
 * The stack is in the image's .stack area (see link.ld), so the guest does
 * not depend on how much RAM the VM was given. .bss is cleared here.
 * Then main(hartid, arg) runs; its return value goes to guest_exit(), which
 * the kind's runtime (runtime_sbi.c / runtime_virt.c) provides.
 */
    .section .text.start, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    la      sp, __stack_top
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sw      zero, 0(t0)
    addi    t0, t0, 4
    j       1b
2:  call    main                /* a0/a1 still hold the boot arguments */
    call    guest_exit          /* does not return */
3:  j       3b
    .size _start, . - _start
