/*
 * ELF32 RISC-V image checks for ferry-native. Everything in the file is
 * untrusted: every offset and size is checked against the file (in 64-bit
 * arithmetic, so nothing wraps) before it is used. The messages match
 * host/elf.ts and host/loader.ts word for word.
 */
#include "elf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define GUEST_RAM_BASE 0x80000000u
#define EM_RISCV 243
#define ELF32_HEADER_BYTES 52
#define ELF32_PHDR_BYTES 32
#define ELF32_SHDR_BYTES 40
#define ELF32_SYM_BYTES 16
#define PT_LOAD 1
#define SHT_SYMTAB 2
#define STB_GLOBAL 1
#define EF_RISCV_FLOAT_ABI 0x6

static int fail(char *error, const char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(error, ELF_ERROR_BYTES, format, args);
  va_end(args);
  return -1;
}

static int truncated(char *error, const char *what, uint64_t offset, uint64_t size, size_t file_bytes) {
  return fail(error, "truncated: %s at offset 0x%llx (%llu bytes) runs past the end of the file (%zu bytes)",
              what, (unsigned long long)offset, (unsigned long long)size, file_bytes);
}

static uint16_t u16_at(const uint8_t *p, int little) {
  return little ? (uint16_t)(p[0] | p[1] << 8) : (uint16_t)(p[1] | p[0] << 8);
}

static uint32_t u32_at(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static const char *machine_name(unsigned machine, char *buffer, size_t size) {
  switch (machine) {
    case 0: return "none";
    case 2: return "SPARC";
    case 3: return "x86 (i386)";
    case 8: return "MIPS";
    case 20: return "PowerPC";
    case 21: return "PowerPC64";
    case 22: return "S/390";
    case 40: return "ARM";
    case 43: return "SPARC v9";
    case 50: return "IA-64";
    case 62: return "x86-64";
    case 183: return "AArch64";
    case 243: return "RISC-V";
    case 247: return "BPF";
    case 258: return "LoongArch";
  }
  snprintf(buffer, size, "unknown machine %u", machine);
  return buffer;
}

/* ", machine x86-64" when e_machine is readable (it sits at 18 in every class). */
static void machine_suffix(const uint8_t *bytes, size_t length, char *out, size_t size) {
  out[0] = 0;
  if (length < 20 || (bytes[5] != 1 && bytes[5] != 2)) return;
  char unknown[32];
  snprintf(out, size, ", machine %s", machine_name(u16_at(bytes + 18, bytes[5] == 1), unknown, sizeof unknown));
}

static int check_ident(const uint8_t *bytes, size_t length, char *error) {
  if (length == 0) return fail(error, "not an ELF file (the file is empty)");
  if (length < 4 || memcmp(bytes, "\x7f" "ELF", 4) != 0) {
    return fail(error, "not an ELF file (no \\x7fELF magic number at the start)");
  }
  if (length < 16) return truncated(error, "ELF identification", 0, 16, length);
  char suffix[64];
  if (bytes[4] != 1) {
    char what[32];
    if (bytes[4] == 2) snprintf(what, sizeof what, "ELFCLASS64");
    else snprintf(what, sizeof what, "EI_CLASS %u", bytes[4]);
    machine_suffix(bytes, length, suffix, sizeof suffix);
    return fail(error, "not a 32-bit ELF file (%s%s): ferry runs RV32 executables", what, suffix);
  }
  if (bytes[5] != 1) {
    char what[32];
    if (bytes[5] == 2) snprintf(what, sizeof what, "big-endian, ELFDATA2MSB");
    else snprintf(what, sizeof what, "EI_DATA %u", bytes[5]);
    machine_suffix(bytes, length, suffix, sizeof suffix);
    return fail(error, "not a little-endian ELF file (%s%s): RISC-V images are little-endian", what, suffix);
  }
  if (bytes[6] != 1) return fail(error, "unsupported ELF version %u (expected 1)", bytes[6]);
  return 0;
}

static const char *type_name(unsigned type, char *buffer, size_t size) {
  switch (type) {
    case 0: return "ET_NONE (no file type)";
    case 1: return "ET_REL (a relocatable object: link it first)";
    case 3: return "ET_DYN (a shared object or position-independent executable: link it static, non-PIE)";
    case 4: return "ET_CORE (a core dump)";
  }
  snprintf(buffer, size, "unknown type %u", type);
  return buffer;
}

static int check_header(const uint8_t *bytes, size_t length, char *error) {
  if (length < ELF32_HEADER_BYTES) return truncated(error, "ELF header", 0, ELF32_HEADER_BYTES, length);
  unsigned type = u16_at(bytes + 16, 1);
  unsigned machine = u16_at(bytes + 18, 1);
  uint32_t flags = u32_at(bytes + 36);
  char name[48];
  if (machine != EM_RISCV) {
    return fail(error, "not a RISC-V executable: machine is %s (e_machine %u)", machine_name(machine, name, sizeof name), machine);
  }
  if (type != 2) return fail(error, "not an executable: e_type is %s", type_name(type, name, sizeof name));
  if (flags & EF_RISCV_FLOAT_ABI) {
    return fail(error, "built for a hard-float ABI (ilp32f/ilp32d): ferry runs RV32IMAC, build with -mabi=ilp32");
  }
  return 0;
}

typedef struct {
  uint32_t offset;
  uint32_t count;
  uint32_t entry_bytes;
} table;

/* A header table from the ELF header's fields, checked to lie inside the file. */
static int read_table(const uint8_t *bytes, size_t length, const char *what, int offset_field, int entry_field,
                      int count_field, uint32_t min_entry_bytes, table *out, char *error) {
  out->offset = u32_at(bytes + offset_field);
  out->entry_bytes = u16_at(bytes + entry_field, 1);
  out->count = u16_at(bytes + count_field, 1);
  if (out->count == 0 || out->offset == 0) {
    out->offset = 0;
    out->count = 0;
    out->entry_bytes = min_entry_bytes;
    return 0;
  }
  if (out->entry_bytes < min_entry_bytes) {
    return fail(error, "bad %s entry size %u bytes (expected %u)", what, out->entry_bytes, min_entry_bytes);
  }
  uint64_t table_bytes = (uint64_t)out->count * out->entry_bytes;
  if ((uint64_t)out->offset + table_bytes > length) {
    char where[96];
    snprintf(where, sizeof where, "%ss (%u \xc3\x97 %u bytes)", what, out->count, out->entry_bytes);
    return truncated(error, where, out->offset, table_bytes, length);
  }
  return 0;
}

static int read_segments(const uint8_t *bytes, size_t length, elf_image *image, char *error) {
  table phdrs;
  if (read_table(bytes, length, "program header", 28, 42, 44, ELF32_PHDR_BYTES, &phdrs, error) != 0) return -1;
  image->segment_count = 0;
  for (uint32_t index = 0; index < phdrs.count; index++) {
    const uint8_t *at = bytes + phdrs.offset + (uint64_t)index * phdrs.entry_bytes;
    if (u32_at(at) != PT_LOAD) continue;
    uint32_t file_offset = u32_at(at + 4);
    uint32_t file_bytes = u32_at(at + 16);
    uint32_t mem_bytes = u32_at(at + 20);
    if ((uint64_t)file_offset + file_bytes > length) {
      char what[32];
      snprintf(what, sizeof what, "segment %u", index);
      return truncated(error, what, file_offset, file_bytes, length);
    }
    if (file_bytes > mem_bytes) {
      return fail(error, "segment %u: file size %u bytes exceeds its memory size %u bytes", index, file_bytes, mem_bytes);
    }
    if (mem_bytes == 0) continue;
    if (image->segment_count == ELF_MAX_SEGMENTS) return fail(error, "more than %d loadable segments", ELF_MAX_SEGMENTS);
    elf_segment *segment = &image->segments[image->segment_count++];
    segment->index = index;
    segment->paddr = u32_at(at + 12);
    segment->data = bytes + file_offset;
    segment->file_bytes = file_bytes;
    segment->mem_bytes = mem_bytes;
  }
  if (image->segment_count == 0) return fail(error, "no loadable (PT_LOAD) segments: nothing to run");
  return 0;
}

typedef struct {
  uint32_t type;
  uint32_t offset;
  uint32_t size_bytes;
  uint32_t link;
  uint32_t entry_bytes;
} section;

static section section_at(const uint8_t *bytes, const table *shdrs, uint32_t index) {
  const uint8_t *at = bytes + shdrs->offset + (uint64_t)index * shdrs->entry_bytes;
  section s = { u32_at(at + 4), u32_at(at + 16), u32_at(at + 20), u32_at(at + 24), u32_at(at + 36) };
  return s;
}

static int check_section_in_file(const section *s, uint32_t index, size_t length, char *error) {
  if ((uint64_t)s->offset + s->size_bytes > length) {
    char what[32];
    snprintf(what, sizeof what, "section %u", index);
    return truncated(error, what, s->offset, s->size_bytes, length);
  }
  return 0;
}

/* The symbol table is optional (a stripped image has none); a broken one is refused. */
static int read_symbols(const uint8_t *bytes, size_t length, elf_image *image, char *error) {
  image->has_tohost = 0;
  table shdrs;
  if (read_table(bytes, length, "section header", 32, 46, 48, ELF32_SHDR_BYTES, &shdrs, error) != 0) return -1;
  uint32_t symtab_index = 0;
  int found = 0;
  for (uint32_t index = 0; index < shdrs.count && !found; index++) {
    if (section_at(bytes, &shdrs, index).type == SHT_SYMTAB) {
      symtab_index = index;
      found = 1;
    }
  }
  if (!found) return 0;
  section symtab = section_at(bytes, &shdrs, symtab_index);
  if (symtab.link >= shdrs.count) {
    return fail(error, "symbol table (section %u) links to missing string table section %u", symtab_index, symtab.link);
  }
  section strtab = section_at(bytes, &shdrs, symtab.link);
  if (check_section_in_file(&symtab, symtab_index, length, error) != 0) return -1;
  if (check_section_in_file(&strtab, symtab.link, length, error) != 0) return -1;
  const uint8_t *strings = bytes + strtab.offset;
  uint32_t entry_bytes = symtab.entry_bytes > ELF32_SYM_BYTES ? symtab.entry_bytes : ELF32_SYM_BYTES;
  uint32_t count = symtab.size_bytes / entry_bytes;
  int tohost_bind = -1;
  for (uint32_t index = 1; index < count; index++) {
    const uint8_t *at = bytes + symtab.offset + (uint64_t)index * entry_bytes;
    uint32_t name = u32_at(at);
    unsigned bind = at[12] >> 4;
    unsigned section_index = u16_at(at + 14, 1);
    if (section_index == 0 || name == 0) continue;
    const uint8_t *end = name < strtab.size_bytes ? memchr(strings + name, 0, strtab.size_bytes - name) : NULL;
    if (end == NULL) {
      return fail(error, "symbol %u: name at string table offset %u runs past the string table (%u bytes)",
                  index, name, strtab.size_bytes);
    }
    /* A global definition wins over a local one; otherwise the first one counts. */
    if (strcmp((const char *)strings + name, "tohost") == 0
        && (tohost_bind < 0 || (tohost_bind != STB_GLOBAL && bind == STB_GLOBAL))) {
      image->has_tohost = 1;
      image->tohost = u32_at(at + 4);
      tohost_bind = (int)bind;
    }
  }
  return 0;
}

int elf_parse(const uint8_t *bytes, size_t length, elf_image *image, char error[ELF_ERROR_BYTES]) {
  if (check_ident(bytes, length, error) != 0) return -1;
  if (check_header(bytes, length, error) != 0) return -1;
  if (read_segments(bytes, length, image, error) != 0) return -1;
  if (read_symbols(bytes, length, image, error) != 0) return -1;
  image->entry = u32_at(bytes + 24);
  return 0;
}

static void ram_range(uint32_t ram_bytes, char *out, size_t size) {
  /* "0x80000000–0x807fffff": first and last byte of RAM. */
  snprintf(out, size, "0x%x\xe2\x80\x93" "0x%x", GUEST_RAM_BASE, (uint32_t)(GUEST_RAM_BASE + ram_bytes - 1));
}

static int check_in_ram(const char *what, uint32_t address, uint32_t ram_bytes, char *error) {
  if (address < GUEST_RAM_BASE || (uint64_t)address >= (uint64_t)GUEST_RAM_BASE + ram_bytes) {
    char range[48];
    ram_range(ram_bytes, range, sizeof range);
    return fail(error, "%s 0x%x lies outside guest RAM %s", what, address, range);
  }
  return 0;
}

int elf_check_fits(const elf_image *image, uint32_t ram_bytes, char error[ELF_ERROR_BYTES]) {
  uint64_t needed = 0;
  uint64_t ram_end = (uint64_t)GUEST_RAM_BASE + ram_bytes;
  for (uint32_t i = 0; i < image->segment_count; i++) {
    const elf_segment *segment = &image->segments[i];
    int starts_in_ram = segment->paddr >= GUEST_RAM_BASE && segment->paddr < ram_end;
    int wraps = (uint64_t)segment->paddr + segment->mem_bytes > 0x100000000ull;
    if (!starts_in_ram || wraps) {
      char range[48];
      ram_range(ram_bytes, range, sizeof range);
      return fail(error, "segment %u at 0x%x (size %u bytes) lies outside guest RAM %s",
                  segment->index, segment->paddr, segment->mem_bytes, range);
    }
    uint64_t end = (uint64_t)segment->paddr + segment->mem_bytes - GUEST_RAM_BASE;
    if (end > needed) needed = end;
  }
  /* A segment that starts in RAM but runs past its end wants a bigger VM. */
  if (needed > ram_bytes) {
    return fail(error, "image needs %llu bytes but the VM has %u", (unsigned long long)needed, ram_bytes);
  }
  if (check_in_ram("entry point", image->entry, ram_bytes, error) != 0) return -1;
  if (image->has_tohost && check_in_ram("tohost symbol", image->tohost, ram_bytes, error) != 0) return -1;
  return 0;
}
