#!/usr/bin/env python3
"""Generates guests/isa/isa.S, Ferry's self-checking RV32IMAC + Zicsr +
privileged-architecture test for machine guests.

    python3 guests/isa/gen_isa.py > guests/isa/isa.S

isa.S is committed, so building the guests does not need Python; edit this
generator (not isa.S) and regenerate. Every test gets an explicit number and a
comment line `# test N: description` in isa.S, so `tohost: test N failed`
can be looked up with `grep -n "test N:" guests/isa/isa.S`.

Expected values are computed here with 32-bit semantics, not typed by hand.

Register conventions inside isa.S (the harness owns s4..s11):
  gp (x3)      number of the running test; returned on failure
  s11          resume address for an expected trap (0: no trap expected;
               any trap while s11 == 0 fails the running test)
  s8, s9, s10  mcause, mepc, mtval of the last trap taken to M-mode
  s4, s5, s6   scause, sepc, stval of the last trap taken to S-mode
  s7           trap handler scratch
Tests may use a0-a7, t0-t6, s0-s3, ra.
"""

import sys

M32 = 0xFFFFFFFF


def u32(x):
    return x & M32


def s32(x):
    x &= M32
    return x - (1 << 32) if x & 0x80000000 else x


# ---------------------------------------------------------------- semantics

def sll(a, b): return u32(a << (b & 31))
def srl(a, b): return u32(a) >> (b & 31)
def sra(a, b): return u32(s32(a) >> (b & 31))
def slt(a, b): return 1 if s32(a) < s32(b) else 0
def sltu(a, b): return 1 if u32(a) < u32(b) else 0
def mul(a, b): return u32(s32(a) * s32(b))
def mulh(a, b): return u32((s32(a) * s32(b)) >> 32)
def mulhsu(a, b): return u32((s32(a) * u32(b)) >> 32)
def mulhu(a, b): return u32((u32(a) * u32(b)) >> 32)


def div(a, b):
    a, b = s32(a), s32(b)
    if b == 0:
        return M32
    if a == -(1 << 31) and b == -1:
        return u32(a)
    q = abs(a) // abs(b)
    return u32(-q if (a < 0) != (b < 0) else q)


def divu(a, b):
    return M32 if u32(b) == 0 else u32(a) // u32(b)


def rem(a, b):
    a, b = s32(a), s32(b)
    if b == 0:
        return u32(a)
    if a == -(1 << 31) and b == -1:
        return 0
    r = abs(a) % abs(b)
    return u32(-r if a < 0 else r)


def remu(a, b):
    return u32(a) if u32(b) == 0 else u32(a) % u32(b)


RR = {
    'add': lambda a, b: u32(a + b),
    'sub': lambda a, b: u32(a - b),
    'and': lambda a, b: u32(a & b),
    'or': lambda a, b: u32(a | b),
    'xor': lambda a, b: u32(a ^ b),
    'sll': sll, 'srl': srl, 'sra': sra, 'slt': slt, 'sltu': sltu,
    'mul': mul, 'mulh': mulh, 'mulhsu': mulhsu, 'mulhu': mulhu,
    'div': div, 'divu': divu, 'rem': rem, 'remu': remu,
}

IMM = {
    'addi': lambda a, i: u32(a + i),
    'andi': lambda a, i: u32(a & i),
    'ori': lambda a, i: u32(a | i),
    'xori': lambda a, i: u32(a ^ i),
    'slti': lambda a, i: slt(a, i),
    'sltiu': lambda a, i: sltu(a, u32(i)),
    'slli': sll, 'srli': srl, 'srai': sra,
}

BRANCH = {
    'beq': lambda a, b: u32(a) == u32(b),
    'bne': lambda a, b: u32(a) != u32(b),
    'blt': lambda a, b: s32(a) < s32(b),
    'bge': lambda a, b: s32(a) >= s32(b),
    'bltu': lambda a, b: u32(a) < u32(b),
    'bgeu': lambda a, b: u32(a) >= u32(b),
}

# ---------------------------------------------------------------- emitter

out = []
tests = []
label_id = [0]


def emit(s=''):
    out.append(s)


def lab(prefix='L'):
    label_id[0] += 1
    return f'.L{prefix}{label_id[0]}'


def lit(v):
    """An operand for `li`: signed decimal, always in range on RV32."""
    return str(s32(v))


def test(desc):
    n = len(tests) + 1
    tests.append(desc)
    emit()
    emit(f'    # test {n}: {desc}')
    emit(f'    li      gp, {n}')
    return n


def check(reg, value):
    """Fail the running test unless reg == value (range-safe: uses j)."""
    ok = lab('ok')
    emit(f'    li      t2, {lit(value)}')
    emit(f'    beq     {reg}, t2, {ok}')
    emit('    j       fail')
    emit(f'{ok}:')


def check_reg(reg, other):
    ok = lab('ok')
    emit(f'    beq     {reg}, {other}, {ok}')
    emit('    j       fail')
    emit(f'{ok}:')


def check_label(reg, label):
    emit(f'    la      t3, {label}')
    check_reg(reg, 't3')


def expect_trap(resume):
    emit(f'    la      s11, {resume}')


# ---------------------------------------------------------------- data

LOAD_BYTES = [0x00, 0x80, 0xFF, 0x7F, 0x01, 0x23, 0x45, 0x67,
              0x89, 0xAB, 0xCD, 0xEF, 0xF0, 0x0F, 0x55, 0xAA]


def load_val(op, off):
    b = LOAD_BYTES
    if op in ('lb', 'lbu'):
        v = b[off]
        return u32(v - 256 if (op == 'lb' and v & 0x80) else v)
    if op in ('lh', 'lhu'):
        v = b[off] | b[off + 1] << 8
        return u32(v - 65536 if (op == 'lh' and v & 0x8000) else v)
    return b[off] | b[off + 1] << 8 | b[off + 2] << 16 | b[off + 3] << 24


# ================================================================ the tests

def gen_tests():
    # ---- harness / x0 ------------------------------------------------
    test('harness: trap vector installed, mtvec reads back')
    emit('    csrr    a0, mtvec')
    check_label('a0', 'mtrap')

    test('x0: addi x0 leaves x0 == 0')
    emit('    addi    x0, x0, 5')
    emit('    mv      a0, x0')
    check('a0', 0)
    test('x0: lui/add/lw/jal/csrr into x0 leave it 0')
    emit('    lui     x0, 0x12345')
    emit('    li      a1, 7')
    emit('    add     x0, a1, a1')
    emit('    la      a2, load_data')
    emit('    lw      x0, 4(a2)')
    l = lab('j')
    emit(f'    jal     x0, {l}')
    emit('    j       fail')
    emit(f'{l}:')
    emit('    csrr    x0, mscratch')
    emit('    add     a0, x0, x0')
    check('a0', 0)
    test('x0: reads as 0 as a source')
    emit('    li      a0, 99')
    emit('    sub     a0, x0, a0')
    check('a0', -99)

    # ---- register-register ALU ----------------------------------------
    alu_cases = {
        'add': [(1, 1), (3, 7), (0x7FFFFFFF, 1), (0xFFFFFFFF, 1), (0x80000000, 0x80000000), (-5, 3)],
        'sub': [(0, 1), (7, 3), (0x80000000, 1), (3, 7), (0, 0x80000000)],
        'and': [(0xFF00FF00, 0x0F0F0F0F), (0xFFFFFFFF, 0x12345678)],
        'or': [(0xFF00FF00, 0x0F0F0F0F), (0, 0)],
        'xor': [(0xFF00FF00, 0x0F0F0F0F), (0xFFFFFFFF, 0x12345678)],
        'sll': [(1, 0), (1, 1), (1, 31), (0xFFFFFFFF, 7), (0x21212121, 14), (1, 32), (1, 63), (3, 0xFFFFFFE1)],
        'srl': [(0x80000000, 0), (0x80000000, 1), (0x80000000, 31), (0xFFFFFFFF, 4), (0x80000000, 33), (0x12345678, 0xFFFFFFE4)],
        'sra': [(0x80000000, 0), (0x80000000, 1), (0x80000000, 31), (0x7FFFFFFF, 31), (0x81818181, 7), (0x80000000, 0xFFFFFFFF)],
        'slt': [(0, 0), (1, 2), (2, 1), (0xFFFFFFFF, 1), (1, 0xFFFFFFFF), (0x80000000, 0x7FFFFFFF)],
        'sltu': [(0, 0), (1, 2), (2, 1), (0xFFFFFFFF, 1), (1, 0xFFFFFFFF), (0x80000000, 0x7FFFFFFF)],
    }
    for op, cases in alu_cases.items():
        for a, b in cases:
            r = RR[op](u32(a), u32(b))
            test(f'{op} {u32(a):#x}, {u32(b):#x} = {r:#x}')
            emit(f'    li      a1, {lit(a)}')
            emit(f'    li      a2, {lit(b)}')
            emit(f'    {op:<7} a0, a1, a2')
            check('a0', r)
    # destination aliasing a source
    for op, a, b in [('add', 13, 11), ('sub', 13, 11), ('sll', 1, 5), ('sltu', 1, 2)]:
        r = RR[op](a, b)
        test(f'{op} with rd == rs1')
        emit(f'    li      a1, {a}')
        emit(f'    li      a2, {b}')
        emit(f'    {op:<7} a1, a1, a2')
        check('a1', r)
        test(f'{op} with rd == rs2')
        emit(f'    li      a1, {a}')
        emit(f'    li      a2, {b}')
        emit(f'    {op:<7} a2, a1, a2')
        check('a2', r)
    test('sub rd == rs1 == rs2 gives 0')
    emit('    li      a1, 12345')
    emit('    sub     a1, a1, a1')
    check('a1', 0)

    # ---- register-immediate ALU ----------------------------------------
    imm_cases = {
        'addi': [(0, 0), (1, 1), (0x7FFFFFFF, 1), (0, -1), (0, 2047), (0, -2048), (0x80000000, -1)],
        'andi': [(0xFF00FF00, 0x70F), (0xFF00FF00, -16), (0x12345678, 0)],
        'ori': [(0xFF00FF00, 0x0F0), (0x00FF00FF, -241), (0, -1)],
        'xori': [(0x00FF0F00, -241), (0x12345678, 0x7FF), (0x12345678, -1)],
        'slti': [(0, 0), (0, 1), (0xFFFFFFFF, 0), (0, -1), (0x80000000, -2048), (0x7FFFFFFF, 2047)],
        'sltiu': [(0, 0), (0, 1), (0, -1), (0xFFFFFFFE, -1), (0xFFFFFFFF, -1), (0x7FF, 0x7FF), (1, 0)],
        'slli': [(1, 0), (1, 1), (1, 31), (0xFFFFFFFF, 31), (0x21212121, 14)],
        'srli': [(0x80000000, 0), (0x80000000, 1), (0x80000000, 31), (0xFFFFFFFF, 31), (0x21212121, 14)],
        'srai': [(0x80000000, 0), (0x80000000, 1), (0x80000000, 31), (0x7FFFFFFF, 31), (0x81818181, 14), (0xFFFFFFFF, 31)],
    }
    for op, cases in imm_cases.items():
        for a, i in cases:
            r = IMM[op](u32(a), i)
            test(f'{op} {u32(a):#x}, {i} = {r:#x}')
            emit(f'    li      a1, {lit(a)}')
            emit(f'    {op:<7} a0, a1, {i}')
            check('a0', r)
    test('seqz (sltiu 1) of 0 and of -1')
    emit('    seqz    a0, x0')
    check('a0', 1)
    emit('    li      a1, -1')
    emit('    seqz    a0, a1')
    check('a0', 0)

    # ---- LUI / AUIPC -----------------------------------------------------
    for imm in (0, 1, 0x80000, 0xFFFFF, 0x12345):
        test(f'lui {imm:#x}')
        emit(f'    lui     a0, {imm:#x}')
        check('a0', u32(imm << 12))
    for imm in (0, 1, 0xFFFFF, 0x7FFFF):
        test(f'auipc {imm:#x} = pc + {u32(imm << 12):#x}')
        here = lab('pc')
        emit(f'{here}:')
        emit(f'    auipc   a0, {imm:#x}')
        emit(f'    lui     a1, %hi({here})')          # absolute address of here,
        emit(f'    addi    a1, a1, %lo({here})')      # computed without auipc
        emit(f'    li      a2, {lit(imm << 12)}')
        emit('    add     a1, a1, a2')
        check_reg('a0', 'a1')

    # ---- branches ---------------------------------------------------------
    pairs = [(0, 0), (1, 1), (1, 2), (2, 1), (0xFFFFFFFF, 1), (1, 0xFFFFFFFF),
             (0x80000000, 0x7FFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF)]
    for op, fn in BRANCH.items():
        for a, b in pairs:
            taken = fn(a, b)
            test(f'{op} {u32(a):#x}, {u32(b):#x}: {"taken" if taken else "not taken"}')
            emit(f'    li      a1, {lit(a)}')
            emit(f'    li      a2, {lit(b)}')
            t = lab('bt')
            after = lab('ba')
            emit(f'    {op:<7} a1, a2, {t}')
            if taken:
                emit('    j       fail')
                emit(f'{t}:')
            else:
                emit(f'    j       {after}')
                emit(f'{t}:')
                emit('    j       fail')
                emit(f'{after}:')
    test('backward branch loop runs 10 times')
    emit('    li      a0, 0')
    emit('    li      a1, 10')
    loop = lab('loop')
    emit(f'{loop}:')
    emit('    addi    a0, a0, 1')
    emit(f'    bltu    a0, a1, {loop}')
    check('a0', 10)

    # ---- JAL / JALR ----------------------------------------------------------
    test('jal: jumps and links pc + 4')
    tgt, ret = lab('tgt'), lab('ret')
    emit(f'    jal     ra, {tgt}')
    emit(f'{ret}:')
    emit('    j       fail')
    emit(f'{tgt}:')
    check_label('ra', ret)
    test('jal backwards')
    back, fwd, done = lab('back'), lab('fwd'), lab('done')
    emit(f'    j       {fwd}')
    emit(f'{back}:')
    emit(f'    j       {done}')
    emit(f'{fwd}:')
    emit(f'    jal     a5, {back}')
    emit('    j       fail')
    emit(f'{done}:')
    test('jalr: jumps to rs1 + 0 and links pc + 4')
    tgt, ret = lab('tgt'), lab('ret')
    emit(f'    la      t0, {tgt}')
    emit('    jalr    ra, 0(t0)')
    emit(f'{ret}:')
    emit('    j       fail')
    emit(f'{tgt}:')
    check_label('ra', ret)
    test('jalr with positive and negative offsets')
    tgt = lab('tgt')
    emit(f'    la      t0, {tgt}')
    emit('    addi    t0, t0, -16')
    emit('    jalr    ra, 16(t0)')
    emit('    j       fail')
    emit(f'{tgt}:')
    tgt2 = lab('tgt')
    emit(f'    la      t0, {tgt2}')
    emit('    addi    t0, t0, 8')
    emit('    jalr    x0, -8(t0)')
    emit('    j       fail')
    emit(f'{tgt2}:')
    test('jalr clears bit 0 of the target')
    tgt, ret = lab('tgt'), lab('ret')
    emit(f'    la      t0, {tgt}')
    emit('    addi    t0, t0, 1')
    emit('    jalr    ra, 0(t0)')
    emit(f'{ret}:')
    emit('    j       fail')
    emit(f'{tgt}:')
    check_label('ra', ret)
    tgt = lab('tgt')
    emit(f'    la      t0, {tgt}')
    emit('    jalr    x0, 1(t0)')          # odd sum from the immediate
    emit('    j       fail')
    emit(f'{tgt}:')
    test('jalr with rd == rs1 uses the old rs1 as target')
    tgt, ret = lab('tgt'), lab('ret')
    emit(f'    la      t0, {tgt}')
    emit('    jalr    t0, 0(t0)')
    emit(f'{ret}:')
    emit('    j       fail')
    emit(f'{tgt}:')
    check_label('t0', ret)
    test('call/ret through a subroutine')
    emit('    li      a0, 20')
    emit('    call    sub_add22')
    check('a0', 42)

    # ---- loads ------------------------------------------------------------------
    for op in ('lb', 'lbu'):
        for off in (0, 1, 2, 3, 11):
            v = load_val(op, off)
            test(f'{op} offset {off} = {v:#x}')
            emit('    la      a1, load_data')
            emit(f'    {op:<7} a0, {off}(a1)')
            check('a0', v)
    for op in ('lh', 'lhu'):
        for off in (0, 2, 10, 12):
            v = load_val(op, off)
            test(f'{op} offset {off} = {v:#x}')
            emit('    la      a1, load_data')
            emit(f'    {op:<7} a0, {off}(a1)')
            check('a0', v)
    for off in (0, 4, 8, 12):
        v = load_val('lw', off)
        test(f'lw offset {off} = {v:#x}')
        emit('    la      a1, load_data')
        emit(f'    lw      a0, {off}(a1)')
        check('a0', v)
    test('loads with a negative offset')
    emit('    la      a1, load_data + 8')
    emit('    lw      a0, -8(a1)')
    check('a0', load_val('lw', 0))
    emit('    lb      a0, -7(a1)')
    check('a0', load_val('lb', 1))
    emit('    lhu     a0, -2(a1)')
    check('a0', load_val('lhu', 6))
    # misaligned loads must work (no trap: s11 == 0 makes a trap fail the test)
    for op, off in [('lh', 1), ('lh', 3), ('lhu', 1), ('lhu', 7), ('lh', 9),
                    ('lw', 1), ('lw', 2), ('lw', 3), ('lw', 5), ('lw', 10), ('lw', 11)]:
        v = load_val(op, off)
        test(f'misaligned {op} offset {off} = {v:#x}')
        emit('    la      a1, load_data')
        emit(f'    {op:<7} a0, {off}(a1)')
        check('a0', v)

    # ---- stores --------------------------------------------------------------------
    def clear_store():
        emit('    la      a1, store_data')
        for k in range(0, 16, 4):
            emit(f'    sw      zero, {k}(a1)')

    def check_store(mem):
        for k in range(0, 16, 4):
            emit(f'    lw      a0, {k}(a1)')
            check('a0', mem[k] | mem[k + 1] << 8 | mem[k + 2] << 16 | mem[k + 3] << 24)

    store_cases = [
        ('sb', 0, 0xA5), ('sb', 1, 0x1FF), ('sb', 3, 0x80), ('sb', 6, 0x12345678),
        ('sh', 0, 0xBEEF), ('sh', 2, 0x12345678), ('sh', 6, 0xFFFF8001),
        ('sw', 0, 0xDEADBEEF), ('sw', 8, 0x01020304),
        # misaligned stores must work too
        ('sh', 1, 0xCAFE), ('sh', 3, 0xA1B2), ('sh', 7, 0x1234),
        ('sw', 1, 0x11223344), ('sw', 2, 0xA0B0C0D0), ('sw', 3, 0x55667788), ('sw', 6, 0xFEDCBA98),
    ]
    for op, off, val in store_cases:
        mis = (op == 'sh' and off % 2) or (op == 'sw' and off % 4)
        test(f'{"misaligned " if mis else ""}{op} {val & M32:#x} at offset {off}')
        clear_store()
        emit(f'    li      a2, {lit(val)}')
        emit(f'    {op:<7} a2, {off}(a1)')
        mem = [0] * 16
        width = {'sb': 1, 'sh': 2, 'sw': 4}[op]
        for k in range(width):
            mem[off + k] = (u32(val) >> (8 * k)) & 0xFF
        check_store(mem)
    test('store then load back through every width, negative offset')
    clear_store()
    emit('    addi    a3, a1, 12')
    emit('    li      a2, -2')
    emit('    sb      a2, -11(a3)')
    emit('    lb      a0, -11(a3)')
    check('a0', -2)
    emit('    lbu     a0, -11(a3)')
    check('a0', 0xFE)
    emit('    li      a2, -3')
    emit('    sh      a2, -8(a3)')
    emit('    lh      a0, -8(a3)')
    check('a0', -3)
    emit('    lhu     a0, -8(a3)')
    check('a0', 0xFFFD)
    emit('    li      a2, 0x76543210')
    emit('    sw      a2, 0(a3)')
    emit('    lw      a0, 0(a3)')
    check('a0', 0x76543210)

    # ---- M extension ---------------------------------------------------------------
    INT_MIN = 0x80000000
    m_cases = {
        'mul': [(3, 7), (-3, 7), (-3, -7), (0x7FFFFFFF, 0x7FFFFFFF), (INT_MIN, -1), (0x10000, 0x10000), (0xFFFFFFFF, 0xFFFFFFFF)],
        'mulh': [(3, 7), (-3, 7), (-3, -7), (INT_MIN, INT_MIN), (INT_MIN, -1), (0x7FFFFFFF, 0x7FFFFFFF), (-1, 1), (0x10000, 0x10000)],
        'mulhsu': [(3, 7), (-3, 7), (-1, 0xFFFFFFFF), (INT_MIN, 0xFFFFFFFF), (0x7FFFFFFF, 0xFFFFFFFF), (-1, 1), (1, -1)],
        'mulhu': [(3, 7), (0xFFFFFFFF, 0xFFFFFFFF), (INT_MIN, INT_MIN), (0xFFFFFFFF, 2), (-3, 7), (0x10000, 0x10000)],
        'div': [(20, 6), (-20, 6), (20, -6), (-20, -6), (7, 0), (-7, 0), (INT_MIN, -1), (INT_MIN, 1), (0, 5), (INT_MIN, 2)],
        'divu': [(20, 6), (0xFFFFFFEC, 6), (20, 0xFFFFFFFA), (7, 0), (0, 0), (INT_MIN, 0xFFFFFFFF), (0xFFFFFFFF, 1)],
        'rem': [(20, 6), (-20, 6), (20, -6), (-20, -6), (7, 0), (-7, 0), (INT_MIN, -1), (INT_MIN, 3), (0, 5)],
        'remu': [(20, 6), (0xFFFFFFEC, 6), (20, 0xFFFFFFFA), (7, 0), (0xFFFFFFFF, 0), (INT_MIN, 0xFFFFFFFF), (0, 1)],
    }
    for op, cases in m_cases.items():
        for a, b in cases:
            r = RR[op](u32(a), u32(b))
            test(f'{op} {s32(a)}, {s32(b)} = {r:#x}')
            emit(f'    li      a1, {lit(a)}')
            emit(f'    li      a2, {lit(b)}')
            emit(f'    {op:<7} a0, a1, a2')
            check('a0', r)
    test('mul + mulh give the full signed 64-bit product')
    emit('    li      a1, -123456789')
    emit('    li      a2, 987654321')
    emit('    mul     a3, a1, a2')
    emit('    mulh    a4, a1, a2')
    full = (-123456789 * 987654321) & 0xFFFFFFFFFFFFFFFF
    check('a3', full & M32)
    check('a4', full >> 32)
    test('div and rem with rd == rs1')
    emit('    li      a1, -37')
    emit('    li      a2, 5')
    emit('    mv      a3, a1')
    emit('    div     a1, a1, a2')
    emit('    rem     a3, a3, a2')
    check('a1', div(u32(-37), 5))
    check('a3', rem(u32(-37), 5))

    # ---- fences and self-modifying code -------------------------------------
    test('fence, fence rw,rw and fence.i execute')
    emit('    fence')
    emit('    fence   rw, rw')
    emit('    fence   iorw, iorw')
    emit('    fence.i')
    emit('    li      a0, 1')
    check('a0', 1)
    test('self-modifying code: patch a called routine, fence.i, call again')
    emit('    call    smc_routine')
    check('a0', 1)
    emit('    la      t0, smc_routine')
    emit(f'    li      t1, {0x00200513}               # addi a0, zero, 2')
    emit('    sw      t1, 0(t0)')
    emit('    fence.i')
    emit('    call    smc_routine')
    check('a0', 2)
    test('self-modifying code: patch the next instruction in line')
    patch = lab('patch')
    emit(f'    la      t0, {patch}')
    emit(f'    li      t1, {0x00300513}               # addi a0, zero, 3')
    emit('    sw      t1, 0(t0)')
    emit('    fence.i')
    emit(f'{patch}:')
    emit('    addi    a0, zero, 1')
    check('a0', 3)
    test('self-modifying code: patch a loop body between iterations')
    loop, ins, done = lab('loop'), lab('ins'), lab('done')
    emit('    li      a3, 0')
    emit('    li      a4, 0')
    emit(f'{loop}:')
    emit(f'{ins}:')
    emit('    addi    a0, zero, 1')
    emit('    add     a4, a4, a0')
    emit(f'    bnez    a3, {done}')
    emit('    li      a3, 1')
    emit(f'    la      t0, {ins}')
    emit(f'    li      t1, {0x00500513}               # addi a0, zero, 5')
    emit('    sw      t1, 0(t0)')
    emit('    fence.i')
    emit(f'    j       {loop}')
    emit(f'{done}:')
    check('a4', 6)

    # ---- Zicsr ---------------------------------------------------------------
    test('misa: MXL = 1 (32-bit), I and M present, E absent')  # A and C: see the RV32C tests
    emit('    csrr    a0, misa')
    emit('    srli    a1, a0, 30')
    check('a1', 1)
    emit('    srli    a1, a0, 8')        # I
    emit('    andi    a1, a1, 1')
    check('a1', 1)
    emit('    srli    a1, a0, 12')       # M
    emit('    andi    a1, a1, 1')
    check('a1', 1)
    emit('    srli    a1, a0, 4')        # E
    emit('    andi    a1, a1, 1')
    check('a1', 0)
    test('mhartid = 0')
    emit('    csrr    a0, mhartid')
    check('a0', 0)
    test('csrrw: mscratch round trip, returns the old value')
    emit('    li      a1, 0x12345678')
    emit('    csrw    mscratch, a1')
    emit('    csrr    a0, mscratch')
    check('a0', 0x12345678)
    emit('    li      a2, -559038737')  # 0xdeadbeef
    emit('    csrrw   a3, mscratch, a2')
    check('a3', 0x12345678)
    emit('    csrr    a0, mscratch')
    check('a0', 0xDEADBEEF)
    test('csrrw with rd == rs1 swaps')
    emit('    li      a1, 5')
    emit('    csrw    mscratch, a1')
    emit('    li      a2, 9')
    emit('    csrrw   a2, mscratch, a2')
    check('a2', 5)
    emit('    csrr    a0, mscratch')
    check('a0', 9)
    test('csrrs sets bits, returns the old value')
    emit('    li      a1, 0x0F0F0000')
    emit('    csrw    mscratch, a1')
    emit('    li      a2, 0x000000FF')
    emit('    csrrs   a3, mscratch, a2')
    check('a3', 0x0F0F0000)
    emit('    csrr    a0, mscratch')
    check('a0', 0x0F0F00FF)
    test('csrrc clears bits, returns the old value')
    emit('    li      a2, 0x0F00000F')
    emit('    csrrc   a3, mscratch, a2')
    check('a3', 0x0F0F00FF)
    emit('    csrr    a0, mscratch')
    check('a0', 0x000F00F0)
    test('csrrwi / csrrsi / csrrci')
    emit('    csrrwi  a3, mscratch, 0x15')
    check('a3', 0x000F00F0)
    emit('    csrrsi  a3, mscratch, 0x0A')
    check('a3', 0x15)
    emit('    csrrci  a3, mscratch, 0x11')
    check('a3', 0x1F)
    emit('    csrr    a0, mscratch')
    check('a0', 0x0E)
    emit('    csrrwi  a3, mscratch, 31')
    emit('    csrr    a0, mscratch')
    check('a0', 31)
    test('csrrs/csrrc/csrrsi with x0 / 0 do not write: reading read-only CSRs is legal')
    emit('    csrrs   a0, mhartid, x0')
    emit('    csrrc   a0, mhartid, x0')
    emit('    csrrsi  a0, mhartid, 0')
    emit('    csrrci  a0, misa, 0')
    emit('    csrrs   a0, cycle, x0')
    emit('    li      a0, 1')
    check('a0', 1)
    for name, hi in (('mcycle', 'mcycleh'), ('minstret', 'minstreth'),
                     ('cycle', 'cycleh'), ('instret', 'instreth')):
        test(f'{name} increases; {hi} readable')
        emit(f'    csrr    a0, {name}')
        emit('    nop')
        emit('    nop')
        emit(f'    csrr    a1, {name}')
        emit(f'    csrr    a2, {hi}')
        emit('    sub     a3, a1, a0')
        ok = lab('ok')
        emit(f'    bnez    a3, {ok}')
        emit('    j       fail')
        emit(f'{ok}:')
    test('minstret counts retired instructions: 3 between two reads')
    emit('    csrr    a0, minstret')
    emit('    nop')
    emit('    nop')
    emit('    csrr    a1, minstret')
    emit('    sub     a3, a1, a0')
    check('a3', 3)

    # ---- traps in M-mode ----------------------------------------------------
    test('ecall from M-mode: mcause 11, mepc = the ecall')
    at, resume = lab('at'), lab('resume')
    expect_trap(resume)
    emit(f'{at}:')
    emit('    ecall')
    emit('    j       fail')
    emit(f'{resume}:')
    check('s8', 11)
    check_label('s9', at)
    test('ebreak: mcause 3, mepc = the ebreak')
    at, resume = lab('at'), lab('resume')
    expect_trap(resume)
    emit(f'{at}:')
    emit('    ebreak')
    emit('    j       fail')
    emit(f'{resume}:')
    check('s8', 3)
    check_label('s9', at)
    for word, what in ((0x0015051B, 'addiw (RV64-only opcode)'),
                       (0xC0001073, 'csrw cycle (write to a read-only CSR)'),
                       (0x00000000, 'all-zero word')):
        test(f'illegal instruction {word:#010x} {what}: mcause 2, mtval = the bits')
        at, resume = lab('at'), lab('resume')
        expect_trap(resume)
        emit(f'{at}:')
        emit(f'    .word   {word:#010x}')
        emit('    j       fail')
        emit(f'{resume}:')
        check('s8', 2)
        check_label('s9', at)
        check('s10', word)
    test('trap entry: mstatus.MPP = M, MPIE = old MIE (1), MIE = 0')
    resume = lab('resume')
    emit('    li      t0, 0x1880')         # clear MPP, MPIE
    emit('    csrc    mstatus, t0')
    emit('    csrw    mie, zero')           # nothing can interrupt
    emit('    csrsi   mstatus, 8')          # MIE = 1
    expect_trap(resume)
    emit('    ecall')
    emit('    j       fail')
    emit(f'{resume}:')
    emit('    csrci   mstatus, 8')
    emit('    lw      a0, isa_trap_mstatus')  # mstatus as the handler found it
    emit('    srli    a1, a0, 3')           # MIE
    emit('    andi    a1, a1, 1')
    check('a1', 0)
    emit('    srli    a1, a0, 7')           # MPIE
    emit('    andi    a1, a1, 1')
    check('a1', 1)
    emit('    srli    a1, a0, 11')          # MPP
    emit('    andi    a1, a1, 3')
    check('a1', 3)
    test('mret returns to mepc, sets MIE = MPIE, MPIE = 1, MPP = U')
    tgt = lab('tgt')
    emit(f'    la      t0, {tgt}')
    emit('    csrw    mepc, t0')
    emit('    csrw    mie, zero')
    emit('    li      t0, 0x1800')          # MPP = M
    emit('    csrs    mstatus, t0')
    emit('    li      t0, 0x80')            # MPIE = 1
    emit('    csrs    mstatus, t0')
    emit('    csrci   mstatus, 8')          # MIE = 0
    emit('    mret')
    emit('    j       fail')
    emit(f'{tgt}:')
    emit('    csrr    a0, mstatus')
    emit('    csrci   mstatus, 8')
    emit('    srli    a1, a0, 3')
    emit('    andi    a1, a1, 1')
    check('a1', 1)
    emit('    srli    a1, a0, 7')
    emit('    andi    a1, a1, 1')
    check('a1', 1)
    emit('    srli    a1, a0, 11')
    emit('    andi    a1, a1, 3')
    check('a1', 0)

    # ---- lower privilege modes -----------------------------------------------
    def enter(mode, target):
        """mret from M-mode into `mode` ('S' or 'U') at target."""
        emit('    li      t0, 0x1800')
        emit('    csrc    mstatus, t0')
        if mode == 'S':
            emit('    li      t0, 0x0800')
            emit('    csrs    mstatus, t0')
        emit(f'    la      t0, {target}')
        emit('    csrw    mepc, t0')
        emit('    mret')
        emit('    j       fail')

    emit()
    emit('    # PMP: allow S/U access to everything (entry 0, NAPOT, RWX); a core')
    emit('    # without PMP CSRs may trap on these writes, which is tolerated.')
    resume = lab('nopmp')
    expect_trap(resume)
    emit('    li      t0, -1')
    emit('    csrw    pmpaddr0, t0')
    emit('    li      t0, 0x1F')
    emit('    csrw    pmpcfg0, t0')
    emit(f'{resume}:')
    emit('    li      s11, 0')

    for mode, cause in (('S', 9), ('U', 8)):
        test(f'mret to {mode}-mode; ecall from {mode}-mode: mcause {cause}, mepc = the ecall')
        low, at, back = lab('low'), lab('at'), lab('back')
        enter(mode, low)
        emit(f'{low}:                               # now in {mode}-mode')
        expect_trap(back)
        emit(f'{at}:')
        emit('    ecall')
        emit('    j       fail')
        emit(f'{back}:                              # back in M-mode')
        check('s8', cause)
        check_label('s9', at)
        emit('    lw      a0, isa_trap_mstatus')
        emit('    srli    a0, a0, 11')
        emit('    andi    a0, a0, 3')
        check('a0', 1 if mode == 'S' else 0)   # MPP = the mode the trap came from

        test(f'{mode}-mode access to mscratch is an illegal instruction (mcause 2)')
        low, at, back = lab('low'), lab('at'), lab('back')
        enter(mode, low)
        emit(f'{low}:')
        expect_trap(back)
        emit(f'{at}:')
        emit('    csrr    a0, mscratch')
        emit('    j       fail')
        emit(f'{back}:')
        check('s8', 2)
        check_label('s9', at)

    test('U-mode access to sstatus is an illegal instruction (mcause 2)')
    low, at, back = lab('low'), lab('at'), lab('back')
    enter('U', low)
    emit(f'{low}:')
    expect_trap(back)
    emit(f'{at}:')
    emit('    csrr    a0, sstatus')
    emit('    j       fail')
    emit(f'{back}:')
    check('s8', 2)
    check_label('s9', at)

    test('medeleg: ebreak in S-mode goes to stvec (scause 3, sepc), not to M')
    low, at, sback, back = lab('low'), lab('at'), lab('sback'), lab('back')
    emit('    la      t0, strap')
    emit('    csrw    stvec, t0')
    emit('    li      t0, 8')                # 1 << 3: breakpoint
    emit('    csrw    medeleg, t0')
    emit('    csrr    a0, medeleg')
    check('a0', 8)
    emit('    li      s8, 0x5a5')            # sentinel: the M handler must not run
    emit('    li      s4, 0')
    enter('S', low)
    emit(f'{low}:                               # S-mode')
    expect_trap(sback)
    emit(f'{at}:')
    emit('    ebreak')
    emit('    j       fail')
    emit(f'{sback}:                              # S-mode, after sret from strap')
    check('s8', 0x5A5)
    check('s4', 3)
    check_label('s5', at)
    emit('    csrr    a0, stvec')
    check_label('a0', 'strap')
    expect_trap(back)
    emit('    ecall                               # back to M-mode (cause 9)')
    emit('    j       fail')
    emit(f'{back}:')
    check('s8', 9)
    emit('    csrw    medeleg, zero')

    test('medeleg: ecall from U-mode delegated to S (scause 8); sret to U-mode')
    s_code, u_code, at, sback, back = lab('s'), lab('u'), lab('at'), lab('sback'), lab('back')
    emit('    li      t0, 0x100')            # 1 << 8: ecall from U
    emit('    csrw    medeleg, t0')
    emit('    li      s8, 0x5a5')
    emit('    li      s4, 0')
    enter('S', s_code)
    emit(f'{s_code}:                               # S-mode: sret into U-mode')
    emit(f'    la      t0, {u_code}')
    emit('    csrw    sepc, t0')
    emit('    li      t0, 0x100')            # SPP = U
    emit('    csrc    sstatus, t0')
    emit('    sret')
    emit('    j       fail')
    emit(f'{u_code}:                               # U-mode')
    expect_trap(sback)
    emit(f'{at}:')
    emit('    ecall')
    emit('    j       fail')
    emit(f'{sback}:                              # S-mode again')
    check('s8', 0x5A5)
    check('s4', 8)
    check_label('s5', at)
    expect_trap(back)
    emit('    ecall')
    emit('    j       fail')
    emit(f'{back}:')
    check('s8', 9)
    emit('    csrw    medeleg, zero')

    test('after all mode changes: still in M-mode (mscratch accessible)')
    emit('    csrw    mscratch, gp')
    emit('    csrr    a0, mscratch')
    check_reg('a0', 'gp')

    gen_c_tests()
    gen_a_tests()


# ---- RV32C ----------------------------------------------------------------
# isa.S is assembled with .option norvc (every instruction above is 32 bits, which
# the self-modifying-code tests rely on); the compressed instructions below are
# written explicitly, each inside .option rvc.

def c(*insts):
    emit('    .option push')
    emit('    .option rvc')
    for inst in insts:
        emit(f'    {inst}')
    emit('    .option pop')


def align4():
    """Pads to a 4-byte boundary: with a c.nop where needed (under norvc the
    assembler has no 2-byte nop to pad with)."""
    c('.p2align 2')


def c_encode_li(rd, imm):
    """c.li rd, imm (-32..31)."""
    u = imm & 0x3F
    return (2 << 13) | ((u >> 5) << 12) | (rd << 7) | ((u & 0x1F) << 2) | 1


def gen_c_tests():
    test('misa: C and A present (bits 2 and 0)')
    emit('    csrr    a0, misa')
    emit('    andi    a1, a0, 5')
    check('a1', 5)

    test('c.li, c.addi, c.mv, c.add')
    c('c.li    a0, -5', 'c.addi  a0, 7', 'c.mv    a1, a0', 'c.add   a1, a0')
    check('a0', 2)
    check('a1', 4)

    test('c.lui (sign-extended), c.addi16sp, c.addi4spn')
    emit('    mv      s0, sp')
    emit('    li      sp, 0x1000')
    c('c.addi16sp sp, -512', 'c.addi4spn a2, sp, 1020', 'c.lui   a3, 0xfffe1', 'c.lui   a4, 1')
    emit('    mv      a5, sp')
    emit('    mv      sp, s0')
    check('a5', 0x1000 - 512)
    check('a2', 0x1000 - 512 + 1020)
    check('a3', 0xFFFE1000)
    check('a4', 0x1000)

    test('c.srli, c.srai, c.andi, c.slli')
    emit(f'    li      a0, {lit(0x80000010)}')
    emit(f'    li      a1, {lit(0x80000010)}')
    c('c.srli  a0, 4', 'c.srai  a1, 4')
    check('a0', 0x08000001)
    check('a1', 0xF8000001)
    c('c.andi  a1, -2', 'c.slli  a1, 1')
    check('a1', 0xF0000000)

    test('c.sub, c.xor, c.or, c.and')
    emit('    li      s0, 100')
    emit('    li      s1, 58')
    emit('    li      a2, 0xF0F0')
    emit('    li      a3, 0xFF00')
    c('c.sub   s0, s1')
    check('s0', 42)
    emit('    mv      a4, a2')
    emit('    mv      a5, a2')
    c('c.xor   a2, a3', 'c.or    a4, a3', 'c.and   a5, a3')
    check('a2', 0x0FF0)
    check('a4', 0xFFF0)
    check('a5', 0xF000)

    test('c.sw, c.lw, c.swsp, c.lwsp')
    emit('    la      a4, store_data')
    emit(f'    li      a5, {lit(0x12345678)}')
    c('c.sw    a5, 4(a4)', 'c.lw    a3, 4(a4)')
    check('a3', 0x12345678)
    emit('    mv      s0, sp')
    emit('    la      sp, store_data')
    emit(f'    li      a5, {lit(0x9ABCDEF0)}')
    c('c.swsp  a5, 8(sp)', 'c.lwsp  a0, 8(sp)')
    emit('    mv      sp, s0')
    check('a0', 0x9ABCDEF0)
    emit('    lw      a1, 8(a4)')
    check('a1', 0x9ABCDEF0)

    test('c.beqz, c.bnez, c.j (taken and not taken)')
    bad, ok1, ok2 = lab('bad'), lab('ok'), lab('ok')
    emit('    li      a0, 0')
    emit('    li      a1, 1')
    c(f'c.bnez  a0, {bad}', f'c.beqz  a0, {ok1}', f'c.j     {bad}')
    emit(f'{ok1}:')
    c(f'c.beqz  a1, {bad}', f'c.bnez  a1, {ok2}')
    emit(f'{bad}:')
    emit('    j       fail')
    emit(f'{ok2}:')

    def call_returns(call):
        """`call` (given the subroutine's label) must link the pc after it; the subroutine returns with c.jr."""
        back, sub, after = lab('back'), lab('sub'), lab('after')
        call(sub)
        emit(f'{back}:')
        check_label('ra', back)
        emit(f'    j       {after}')
        emit(f'{sub}:')
        c('c.jr    ra')
        emit(f'{after}:')

    test('c.jal links pc + 2, c.jr returns there')
    call_returns(lambda sub: c(f'c.jal   {sub}'))
    test('c.jalr links pc + 2 and jumps to rs1')
    call_returns(lambda sub: (emit(f'    la      t0, {sub}'), c('c.jalr  t0')))

    test('32-bit instructions at 2-byte aligned pcs: addi, jal links pc + 4')
    at, target = lab('at'), lab('tgt')
    align4()
    c('c.nop')
    emit('    addi    a0, zero, 9')
    emit(f'{at}:')
    emit(f'    jal     ra, {target}')
    emit('    j       fail')
    emit(f'{target}:')
    check('a0', 9)
    emit(f'    la      t3, {at}')
    emit('    addi    t3, t3, 4')
    check_reg('ra', 't3')
    emit(f'    la      t3, {at}')
    emit('    andi    t3, t3, 3')
    check('t3', 2)

    test('c.ebreak: mcause 3, mepc = mtval = the c.ebreak')
    at, resume = lab('at'), lab('resume')
    expect_trap(resume)
    emit(f'{at}:')
    c('c.ebreak')
    emit('    j       fail')
    emit(f'{resume}:')
    check('s8', 3)
    check_label('s9', at)
    check_label('s10', at)

    for half, what in ((0x0000, 'the all-zero halfword'), (0x6101, 'c.addi16sp with immediate 0'),
                       (0x6501, 'c.lui with immediate 0'), (0x8002, 'c.jr x0'), (0x4002, 'c.lwsp x0'),
                       (0x9001, 'c.srli with shamt[5] = 1'), (0x2000, 'c.fld (no D)'), (0xE002, 'c.fswsp (no F)')):
        test(f'reserved compressed encoding {half:#06x} ({what}): illegal instruction, mtval = its 16 bits')
        at, resume = lab('at'), lab('resume')
        expect_trap(resume)
        emit(f'{at}:')
        emit(f'    .half   {half:#06x}')
        emit('    j       fail')
        emit(f'{resume}:')
        check('s8', 2)
        check_label('s9', at)
        check('s10', half)

    test('mepc keeps bit 1 (IALIGN = 16), clears bit 0')
    emit(f'    li      t0, {lit(0x80000103)}')
    emit('    csrw    mepc, t0')
    emit('    csrr    a0, mepc')
    check('a0', 0x80000102)

    test('self-modifying compressed code: sh replaces a c.li, fence.i')
    patch = lab('patch')
    emit(f'    la      t0, {patch}')
    emit(f'    li      t1, {c_encode_li(10, 7)}               # c.li a0, 7')
    emit('    sh      t1, 0(t0)')
    emit('    fence.i')
    emit(f'{patch}:')
    c('c.li    a0, 1')
    check('a0', 7)
    align4()


# ---- RV32A ----------------------------------------------------------------

AMO = {
    'amoswap.w': lambda m, v: v,
    'amoadd.w': lambda m, v: u32(m + v),
    'amoxor.w': lambda m, v: m ^ v,
    'amoand.w': lambda m, v: m & v,
    'amoor.w': lambda m, v: m | v,
    'amomin.w': lambda m, v: m if s32(m) < s32(v) else v,
    'amomax.w': lambda m, v: m if s32(m) > s32(v) else v,
    'amominu.w': lambda m, v: min(m, v),
    'amomaxu.w': lambda m, v: max(m, v),
}


def gen_a_tests():
    emit('    la      a1, store_data')
    test('lr.w / sc.w: sc.w on the reserved word stores and writes rd = 0')
    emit('    li      a2, 5')
    emit('    sw      a2, 0(a1)')
    emit('    lr.w    a0, (a1)')
    emit('    addi    a0, a0, 1')
    emit('    sc.w    a3, a0, (a1)')
    check('a3', 0)
    emit('    lw      a4, 0(a1)')
    check('a4', 6)
    test('a second sc.w fails: rd = 1, memory unchanged')
    emit('    sc.w    a3, a2, (a1)')
    check('a3', 1)
    emit('    lw      a4, 0(a1)')
    check('a4', 6)
    test('sc.w fails after an intervening trap (mret clears the reservation)')
    resume = lab('resume')
    emit('    lr.w.aq a0, (a1)')
    expect_trap(resume)
    emit('    ecall')
    emit('    j       fail')
    emit(f'{resume}:')
    emit('    sc.w.rl a3, a2, (a1)')
    check('a3', 1)
    emit('    lw      a4, 0(a1)')
    check('a4', 6)

    INT_MIN, INT_MAX = 0x80000000, 0x7FFFFFFF
    cases = [(INT_MIN, INT_MAX), (0xFFFFFFFF, 1), (0x0F0F0F0F, 0xFF00FF00)]
    for op, f in AMO.items():
        for m, v in cases:
            test(f'{op} on {m:#x} with {v:#x}: rd = old, memory = {f(m, v):#x}')
            emit(f'    li      a2, {lit(m)}')
            emit('    sw      a2, 4(a1)')
            emit(f'    li      a2, {lit(v)}')
            emit('    addi    a5, a1, 4')
            emit(f'    {op:<9} a0, a2, (a5)')
            check('a0', m)
            emit('    lw      a4, 4(a1)')
            check('a4', f(m, v))
    test('amoadd.w.aqrl: aq and rl accepted')
    emit('    li      a2, 1')
    emit('    sw      a2, 4(a1)')
    emit('    addi    a5, a1, 4')
    emit('    amoadd.w.aqrl a0, a2, (a5)')
    emit('    lw      a4, 4(a1)')
    check('a4', 2)

    for inst, addr, cause, what in (
            ('amoadd.w a0, a2, (a5)', 'a1, 2', 6, 'an AMO to a misaligned address: store/AMO misaligned'),
            ('sc.w    a0, a2, (a5)', 'a1, 1', 6, 'sc.w to a misaligned address: store/AMO misaligned'),
            ('lr.w    a0, (a5)', 'a1, 2', 4, 'lr.w from a misaligned address: load misaligned'),
            ('amoswap.w a0, a2, (a5)', 'zero, 0', 7, 'an AMO to the UART: store/AMO access fault'),
            ('lr.w    a0, (a5)', 'zero, 0', 5, 'lr.w from the UART: load access fault')):
        test(f'{what} (mcause {cause}, mtval = the address)')
        at, resume = lab('at'), lab('resume')
        if addr.startswith('zero'):
            emit('    li      a5, 0x10000000')
        else:
            emit(f'    addi    a5, {addr}')
        emit('    li      a0, 0x5a5')
        expect_trap(resume)
        emit(f'{at}:')
        emit(f'    {inst}')
        emit('    j       fail')
        emit(f'{resume}:')
        check('s8', cause)
        check_label('s9', at)
        check_reg('s10', 'a5')
        check('a0', 0x5A5)


HEADER = '''\
/*
 * isa.S - Ferry's self-checking RV32IMAC / Zicsr / privileged-mode test.
 *
 * GENERATED by guests/isa/gen_isa.py - edit the generator, not this file:
 *     python3 guests/isa/gen_isa.py > guests/isa/isa.S
 *
 * Runs in M-mode on a machine guest. isa_run() returns 0 when every test
 * passed, else the number of the first failing test; main.c reports it
 * through the UART and the HTIF tohost word ((n << 1) | 1).
 * Find a test by number:  grep -n "# test N:" guests/isa/isa.S
 *
 * Harness registers (see the generator): gp = test number, s11 = expected
 * trap resume address (0 = a trap fails the test), s8/s9/s10 = mcause/mepc/
 * mtval of the last M-mode trap, s4/s5/s6 = scause/sepc/stval of the last
 * S-mode trap, s7 = handler scratch.
 */
    .option norvc
    .text
    .globl  isa_run
    .type   isa_run, @function
    .p2align 2
isa_run:
    la      t0, isa_saved
    sw      ra, 0(t0)
    sw      sp, 4(t0)
    sw      gp, 8(t0)
    sw      tp, 12(t0)
    sw      s0, 16(t0)
    sw      s1, 20(t0)
    sw      s2, 24(t0)
    sw      s3, 28(t0)
    sw      s4, 32(t0)
    sw      s5, 36(t0)
    sw      s6, 40(t0)
    sw      s7, 44(t0)
    sw      s8, 48(t0)
    sw      s9, 52(t0)
    sw      s10, 56(t0)
    sw      s11, 60(t0)
    li      gp, 1
    li      s11, 0
    la      t0, mtrap
    csrw    mtvec, t0
'''

FOOTER = '''
    # ---- all tests passed ------------------------------------------------
    li      a0, 0
    j       isa_return

    # ---- failure: get back to M-mode (ecall either traps and resumes at
    # .Lfail_m, or, if it does not trap at all, falls through to it) --------
fail:
    la      s11, .Lfail_m
    ecall
.Lfail_m:
    li      s11, 0
    mv      a0, gp
isa_return:
    csrw    medeleg, zero
    la      t0, isa_saved
    lw      ra, 0(t0)
    lw      sp, 4(t0)
    lw      gp, 8(t0)
    lw      tp, 12(t0)
    lw      s0, 16(t0)
    lw      s1, 20(t0)
    lw      s2, 24(t0)
    lw      s3, 28(t0)
    lw      s4, 32(t0)
    lw      s5, 36(t0)
    lw      s6, 40(t0)
    lw      s7, 44(t0)
    lw      s8, 48(t0)
    lw      s9, 52(t0)
    lw      s10, 56(t0)
    lw      s11, 60(t0)
    ret
    .size   isa_run, . - isa_run

/* M-mode trap handler. Records mcause/mepc/mtval in s8/s9/s10 (and mstatus
 * at entry in isa_trap_mstatus) and returns
 * to M-mode: at s11 if a trap was expected, else at `fail` after saving the
 * cause for main.c. */
    .p2align 2
    .globl  mtrap
mtrap:
    csrr    s8, mcause
    csrr    s9, mepc
    csrr    s7, mstatus
    la      s10, isa_trap_mstatus
    sw      s7, 0(s10)
    csrr    s10, mtval
    li      s7, 0x1800              # MPP = M
    csrs    mstatus, s7
    beqz    s11, 1f
    csrw    mepc, s11
    li      s11, 0
    mret
1:  la      s7, isa_trap_info
    sw      s8, 0(s7)
    sw      s9, 4(s7)
    sw      s10, 8(s7)
    li      s10, 1                  # an unexpected M-mode trap
    sw      s10, 12(s7)
    la      s7, fail
    csrw    mepc, s7
    mret

/* S-mode trap handler (used while medeleg delegates). Records scause/sepc/
 * stval in s4/s5/s6 and returns to S-mode at s11; an unexpected trap is
 * recorded and turned into a failure. */
    .p2align 2
    .globl  strap
strap:
    csrr    s4, scause
    csrr    s5, sepc
    csrr    s6, stval
    li      s7, 0x100               # SPP = S
    csrs    sstatus, s7
    beqz    s11, 1f
    csrw    sepc, s11
    li      s11, 0
    sret
1:  la      s7, isa_trap_info
    sw      s4, 0(s7)
    sw      s5, 4(s7)
    sw      s6, 8(s7)
    li      s6, 2                   # an unexpected S-mode trap
    sw      s6, 12(s7)
    j       fail

/* Returns a0 + 22. */
    .p2align 2
sub_add22:
    addi    a0, a0, 22
    ret

/* Patched by the self-modifying-code test: returns 1, then 2. */
    .p2align 2
    .globl  smc_routine
smc_routine:
    addi    a0, zero, 1
    ret

    .data
    .p2align 4
load_data:
    .byte   {load_bytes}
    .p2align 4
store_data:
    .zero   16

    .section .rodata
    .p2align 2
    .globl  isa_test_count
isa_test_count:
    .word   {count}

    .bss
    .p2align 4
isa_saved:
    .zero   64
    .globl  isa_trap_info
isa_trap_info:                      /* cause, epc, tval, 1 = M / 2 = S trap */
    .zero   16
isa_trap_mstatus:                   /* mstatus when the last M-mode trap came */
    .zero   4
'''


def main():
    gen_tests()
    sys.stdout.write(HEADER)
    sys.stdout.write('\n'.join(out))
    sys.stdout.write('\n')
    sys.stdout.write(FOOTER.replace('{load_bytes}', ', '.join(f'{b:#04x}' for b in LOAD_BYTES))
                     .replace('{count}', str(len(tests))))
    sys.stderr.write(f'gen_isa.py: {len(tests)} tests\n')


if __name__ == '__main__':
    main()
