/*
 * ELF32 little-endian RISC-V executables for ferry-native: the same checks,
 * in the same order and with the same one-line messages, as the host's
 * host/elf.ts (parseElf) and host/loader.ts (checkImageFits).
 */
#ifndef FERRY_NATIVE_ELF_H
#define FERRY_NATIVE_ELF_H

#include <stddef.h>
#include <stdint.h>

#define ELF_MAX_SEGMENTS 64
#define ELF_ERROR_BYTES 512

typedef struct {
  /* Position in the program header table (as readelf -l numbers it). */
  uint32_t index;
  uint32_t paddr;
  /* The bytes from the file (p_filesz of them), inside the image buffer. */
  const uint8_t *data;
  uint32_t file_bytes;
  /* Size in memory; past file_bytes it is zero (bss). */
  uint32_t mem_bytes;
} elf_segment;

typedef struct {
  uint32_t entry;
  uint32_t segment_count;
  elf_segment segments[ELF_MAX_SEGMENTS];
  int has_tohost;
  uint32_t tohost;
} elf_image;

/* 0, or -1 with a one-line reason in `error` (without the image's name). */
int elf_parse(const uint8_t *bytes, size_t length, elf_image *image, char error[ELF_ERROR_BYTES]);

/* 0 when every segment, the entry and tohost lie in guest RAM; else -1 and why. */
int elf_check_fits(const elf_image *image, uint32_t ram_bytes, char error[ELF_ERROR_BYTES]);

#endif
