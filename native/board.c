/*
 * ferry-native: Ferry's core as native firmware (docs/runtimes.md).
 *
 * The core (build/core.wasm) is translated to C by wasm2c and linked with this
 * board runtime: one processor, one VM. It loads an ELF32 RISC-V image, runs
 * the VM in quanta of virtual time until it stops, sends the guest's console
 * to stdout and exits with the status `ferry run` gives for the same image:
 *
 *   ferry-native [--mode paravirtual|machine] [--max-cycles N] [--instret] <image.elf>
 *
 * or it is one processor of a board the host emulates, every export at its call
 * (native/serve.c, docs/runtimes.md):
 *
 *   ferry-native --serve
 *
 *   0    the guest passed (SRST shutdown reason none, tohost = 1, finisher pass)
 *   1    the guest failed (failure, tohost odd, finisher fail, reboot, fault, stalled)
 *   2    bad image or bad option (one line on stderr)
 *   3    internal error (the core trapped)
 *   124  --max-cycles ran out
 *
 * The core's memory is checked explicitly on every access
 * (WASM_RT_MEMCHECK_SIGNAL_HANDLER=0): no guard pages, no address-space
 * reservation, memory grows with realloc; the same code fits a target with an
 * MMU-less microcontroller's allocator.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "elf.h"
#include "ferry-core.h"
#include "serve.h"
#include "wasm-rt-impl.h"

/* Defaults of `ferry run` (host/defaults.ts). */
#define DEFAULT_RAM_BYTES (8u * 1024u * 1024u)
#define DEFAULT_CLOCK_HZ 100000000u
#define QUANTUM_CYCLES 1000000ull

/* vmCreate kinds and vmExit reasons (docs/core-interface.md). */
enum { KIND_PARAVIRTUAL = 0, KIND_MACHINE = 1 };
enum { VM_EXIT_RUNNING = 0, VM_EXIT_SHUTDOWN, VM_EXIT_FAILURE, VM_EXIT_TOHOST, VM_EXIT_FINISHER, VM_EXIT_REBOOT, VM_EXIT_FAULT };
enum { STATUS_PASS = 0, STATUS_FAIL = 1, STATUS_USAGE = 2, STATUS_INTERNAL = 3, STATUS_MAX_CYCLES = 124 };

static const char *program = "ferry-native";

/* The board side of the core's imports (ferry:core/board): one processor alone with no
 * links, or (serving) one of a board, whose imports go back to the host with each reply. */
struct Z_ferryZ3AcoreZ2Fboard_instance_t {
  Z_ferry_core_instance_t *core;
  uint64_t frames_dropped;
  int serving;
};

static wasm_rt_memory_t *core_memory(Z_ferry_core_instance_t *core) {
  return Z_ferry_coreZ_memory(core);
}

/* A view of [ptr, ptr + len) in core memory, or NULL if it is not all inside. */
static uint8_t *core_bytes(Z_ferry_core_instance_t *core, uint32_t ptr, uint32_t len) {
  wasm_rt_memory_t *memory = core_memory(core);
  if ((uint64_t)ptr + len > memory->size) return NULL;
  return memory->data + ptr;
}

void Z_ferryZ3AcoreZ2FboardZ_consoleZ2Dwrite(struct Z_ferryZ3AcoreZ2Fboard_instance_t *board, u32 vm, u32 ptr, u32 len) {
  const uint8_t *bytes = core_bytes(board->core, ptr, len);
  if (bytes == NULL) return;
  if (board->serving) serve_output_console(vm, bytes, len);
  else fwrite(bytes, 1, len, stdout);
}

void Z_ferryZ3AcoreZ2FboardZ_linkZ2Dsend(struct Z_ferryZ3AcoreZ2Fboard_instance_t *board, u32 peer, u64 at_cycles, u32 ptr, u32 len) {
  const uint8_t *bytes = core_bytes(board->core, ptr, len);
  if (board->serving && bytes != NULL) serve_output_link(peer, at_cycles, bytes, len);
  /* Alone, the processor has no links: the frame goes nowhere. */
  else board->frames_dropped++;
}

void Z_ferryZ3AcoreZ2FboardZ_trace(struct Z_ferryZ3AcoreZ2Fboard_instance_t *board, u32 event, u32 vm, u64 at_cycles, u64 a, u64 b) {
  /* Alone, tracing stays off (traceEnable is never called). */
  if (board->serving) serve_output_trace(event, vm, at_cycles, a, b);
}

void Z_ferryZ3AcoreZ2FboardZ_event(struct Z_ferryZ3AcoreZ2Fboard_instance_t *board, u32 kind, u32 id, u32 vm, u64 at_ns, u64 a, u64 b) {
  /* Alone, there are no migrations or links to report on. */
  if (board->serving) serve_output_event(kind, id, vm, at_ns, a, b);
}

static int usage_error(const char *format, ...) {
  char line[768];
  va_list args;
  va_start(args, format);
  vsnprintf(line, sizeof line, format, args);
  va_end(args);
  fprintf(stderr, "%s: error: %s\n", program, line);
  return STATUS_USAGE;
}

static void print_help(void) {
  printf("Usage: %s [options] <image.elf>\n\n"
         "Runs an RV32IM ELF guest in one VM on one processor: Ferry's core as native\n"
         "firmware (wasm2c + gcc). Behaves like `ferry run` on the same image.\n\n"
         "Options:\n"
         "  --mode <mode>     paravirtual or machine (default: machine if the image has a\n"
         "                    tohost symbol, else paravirtual)\n"
         "  --max-cycles <n>  stop with exit status 124 after n cycles of virtual time\n"
         "  --instret         print the instructions the guest retired (instret: <n>) on\n"
         "                    stderr at the end\n"
         "  --serve           (alone) be one processor of a board the host drives over\n"
         "                    stdin and stdout (docs/runtimes.md)\n"
         "  -h, --help        this text\n\n"
         "Exit status: 0 pass, 1 fail, 2 bad image or option, 3 internal error,\n"
         "124 --max-cycles ran out.\n",
         program);
}

/* Decimal or 0x-hex, underscores allowed, from 1 to 2^64 - 1 (as the CLI's parseCycles). */
static int parse_cycles(const char *text, uint64_t *out) {
  char digits[96];
  size_t n = 0;
  for (const char *p = text; *p; p++) {
    if (*p == '_') continue;
    if (n + 1 >= sizeof digits) return -1;
    digits[n++] = *p;
  }
  digits[n] = 0;
  int base = 10;
  const char *start = digits;
  if (n > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    base = 16;
    start += 2;
  }
  if (*start == 0) return -1;
  uint64_t value = 0;
  for (const char *p = start; *p; p++) {
    int digit;
    if (*p >= '0' && *p <= '9') digit = *p - '0';
    else if (base == 16 && *p >= 'a' && *p <= 'f') digit = *p - 'a' + 10;
    else if (base == 16 && *p >= 'A' && *p <= 'F') digit = *p - 'A' + 10;
    else return -1;
    if (value > (UINT64_MAX - (uint64_t)digit) / (uint64_t)base) return -2;
    value = value * (uint64_t)base + (uint64_t)digit;
  }
  if (value < 1) return -2;
  *out = value;
  return 0;
}

/* Reads the whole image; NULL and a message on failure (as the host's describeFsError). */
static uint8_t *read_image(const char *path, size_t *length, char *error, size_t error_size) {
  struct stat info;
  const char *why = NULL;
  if (stat(path, &info) != 0) why = errno == ENOENT ? "no such file" : errno == EACCES ? "permission denied" : strerror(errno);
  else if (S_ISDIR(info.st_mode)) why = "it is a directory";
  /* Regular files only, as the host reads them: a FIFO would block the open, a device never end. */
  else if (S_ISFIFO(info.st_mode)) why = "it is a FIFO, not a regular file";
  else if (S_ISCHR(info.st_mode)) why = "it is a character device, not a regular file";
  else if (S_ISBLK(info.st_mode)) why = "it is a block device, not a regular file";
  else if (S_ISSOCK(info.st_mode)) why = "it is a socket, not a regular file";
  else if (!S_ISREG(info.st_mode)) why = "it is not a regular file";
  FILE *file = why == NULL ? fopen(path, "rb") : NULL;
  if (why == NULL && file == NULL) why = errno == EACCES ? "permission denied" : strerror(errno);
  if (why != NULL) {
    snprintf(error, error_size, "%s: cannot read the image (%s)", path, why);
    return NULL;
  }
  size_t capacity = info.st_size > 0 ? (size_t)info.st_size : 4096;
  uint8_t *bytes = malloc(capacity);
  size_t used = 0;
  for (;;) {
    if (bytes == NULL) break;
    used += fread(bytes + used, 1, capacity - used, file);
    if (used < capacity) break;
    uint8_t *grown = realloc(bytes, capacity * 2);
    if (grown == NULL) {
      free(bytes);
      bytes = NULL;
      break;
    }
    bytes = grown;
    capacity *= 2;
  }
  int failed = ferror(file);
  fclose(file);
  if (bytes == NULL || failed) {
    free(bytes);
    snprintf(error, error_size, "%s: cannot read the image (%s)", path, bytes == NULL ? "out of memory" : "read error");
    return NULL;
  }
  *length = used;
  return bytes;
}

static const char *exception_name(uint32_t number) {
  switch (number) {
    case 0: return "instruction address misaligned";
    case 1: return "instruction access fault";
    case 2: return "illegal instruction";
    case 3: return "breakpoint";
    case 4: return "load address misaligned";
    case 5: return "load access fault";
    case 6: return "store/AMO address misaligned";
    case 7: return "store/AMO access fault";
    case 8: return "environment call from U-mode";
    case 9: return "environment call from S-mode";
    case 11: return "environment call from M-mode";
    case 12: return "instruction page fault";
    case 13: return "load page fault";
    case 15: return "store/AMO page fault";
  }
  return NULL;
}

static const char *interrupt_name(uint32_t number) {
  switch (number) {
    case 1: return "supervisor software interrupt";
    case 3: return "machine software interrupt";
    case 5: return "supervisor timer interrupt";
    case 7: return "machine timer interrupt";
    case 9: return "supervisor external interrupt";
    case 11: return "machine external interrupt";
  }
  return NULL;
}

/* mcause/scause in words, as host/vm-exit.ts trapCauseName. */
static void trap_cause_name(uint32_t cause, char *out, size_t size) {
  int is_interrupt = (cause & 0x80000000u) != 0;
  uint32_t number = cause & 0x7fffffffu;
  const char *name = is_interrupt ? interrupt_name(number) : exception_name(number);
  if (name != NULL) snprintf(out, size, "%s", name);
  else snprintf(out, size, "%s %u", is_interrupt ? "interrupt" : "exception", number);
}

/* The exit status for a stopped VM, and the message host/vm-exit.ts gives (empty if none). */
static int describe_exit(uint32_t reason, uint32_t code, uint32_t pc, char *message, size_t size) {
  message[0] = 0;
  switch (reason) {
    case VM_EXIT_SHUTDOWN:
      return STATUS_PASS;
    case VM_EXIT_FAILURE:
      snprintf(message, size, "shutdown: the guest reported a system failure (SRST reason %u)", code);
      return STATUS_FAIL;
    case VM_EXIT_TOHOST:
      if (code == 1) return STATUS_PASS;
      if (code & 1) snprintf(message, size, "tohost: test %u failed", code >> 1);
      else snprintf(message, size, "tohost: unsupported value 0x%x (HTIF device requests are not supported)", code);
      return STATUS_FAIL;
    case VM_EXIT_FINISHER: {
      uint32_t status = code & 0xffff;
      if (status == 0x5555) return STATUS_PASS;
      if (status == 0x3333) snprintf(message, size, "finisher: fail, code %u", code >> 16);
      else if (status == 0x7777) snprintf(message, size, "finisher: the guest asked for a reset; ferry does not reboot guests");
      else snprintf(message, size, "finisher: unknown value 0x%x", code);
      return STATUS_FAIL;
    }
    case VM_EXIT_REBOOT: {
      const char *kind = code == 1 ? "cold reboot" : code == 2 ? "warm reboot" : "reboot";
      snprintf(message, size, "reboot: the guest asked for a %s (SRST type %u); ferry does not reboot guests", kind, code);
      return STATUS_FAIL;
    }
    case VM_EXIT_FAULT: {
      char name[64];
      trap_cause_name(code, name, sizeof name);
      snprintf(message, size, "fault: the guest trapped with no usable handler: %s (cause 0x%x) at pc 0x%x", name, code, pc);
      return STATUS_FAIL;
    }
  }
  snprintf(message, size, "fault: the core stopped the VM for an unknown reason %u (code 0x%x)", reason, code);
  return STATUS_FAIL;
}

static const char *sbi_error_name(int32_t code) {
  switch (code) {
    case -1: return " (failed)";
    case -2: return " (not supported)";
    case -3: return " (invalid parameter)";
    case -11: return " (bad range)";
  }
  return "";
}

typedef struct {
  const char *image_path;
  int mode; /* -1: from the image */
  int has_max_cycles;
  uint64_t max_cycles;
  int instret;
} options;

static int parse_options(int argc, char **argv, options *opts, int *done) {
  *done = 0;
  memset(opts, 0, sizeof *opts);
  opts->mode = -1;
  int only_operands = 0;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    const char *value = NULL;
    if (!only_operands && strcmp(arg, "--") == 0) {
      only_operands = 1;
    } else if (!only_operands && (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)) {
      print_help();
      *done = 1;
      return STATUS_PASS;
    } else if (!only_operands && strcmp(arg, "--instret") == 0) {
      opts->instret = 1;
    } else if (!only_operands && (strncmp(arg, "--mode", 6) == 0 && (arg[6] == 0 || arg[6] == '='))) {
      value = arg[6] == '=' ? arg + 7 : (i + 1 < argc ? argv[++i] : NULL);
      if (value == NULL) return usage_error("option '--mode <mode>' argument missing");
      if (strcmp(value, "paravirtual") == 0) opts->mode = KIND_PARAVIRTUAL;
      else if (strcmp(value, "machine") == 0) opts->mode = KIND_MACHINE;
      else return usage_error("option '--mode <mode>' argument '%s' is invalid. Allowed choices are paravirtual, machine.", value);
    } else if (!only_operands && (strncmp(arg, "--max-cycles", 12) == 0 && (arg[12] == 0 || arg[12] == '='))) {
      value = arg[12] == '=' ? arg + 13 : (i + 1 < argc ? argv[++i] : NULL);
      if (value == NULL) return usage_error("option '--max-cycles <n>' argument missing");
      int parsed = parse_cycles(value, &opts->max_cycles);
      if (parsed == -1) return usage_error("option '--max-cycles <n>' argument '%s' is invalid. Expected a whole number of cycles (decimal or 0x hex).", value);
      if (parsed == -2) return usage_error("option '--max-cycles <n>' argument '%s' is invalid. Expected at least 1 and below 2^64.", value);
      opts->has_max_cycles = 1;
    } else if (!only_operands && arg[0] == '-' && arg[1] != 0) {
      return usage_error("unknown option '%s'", arg);
    } else if (opts->image_path == NULL) {
      opts->image_path = arg;
    } else {
      return usage_error("too many arguments: expected one image, got '%s' too", arg);
    }
  }
  if (opts->image_path == NULL) return usage_error("missing required argument 'image.elf'");
  return STATUS_PASS;
}

/* Copies a segment through the staging buffer, chunk by chunk, as host/loader.ts does. */
static int load_segment(Z_ferry_core_instance_t *core, uint32_t vm, const elf_segment *segment) {
  uint32_t staging = Z_ferry_coreZ_stagingBuffer(core);
  uint32_t chunk_bytes = Z_ferry_coreZ_stagingBytes(core);
  if (chunk_bytes == 0) {
    fprintf(stderr, "%s: internal error: the core has no staging buffer\n", program);
    return -1;
  }
  for (uint32_t offset = 0; offset < segment->file_bytes; offset += chunk_bytes) {
    uint32_t len = segment->file_bytes - offset < chunk_bytes ? segment->file_bytes - offset : chunk_bytes;
    uint8_t *target = core_bytes(core, staging, len);
    if (target == NULL) {
      fprintf(stderr, "%s: internal error: the staging buffer lies outside core memory\n", program);
      return -1;
    }
    memcpy(target, segment->data + offset, len);
    int32_t loaded = (int32_t)Z_ferry_coreZ_vmLoad(core, vm, segment->paddr + offset, staging, len);
    if (loaded != 0) {
      fprintf(stderr, "%s: internal error: vmLoad(%u, 0x%x, %u bytes) failed: SBI error %d%s\n",
              program, vm, segment->paddr + offset, len, loaded, sbi_error_name(loaded));
      return -1;
    }
  }
  return 0;
}

/* Everything that calls into the core, so a trap lands in one place. */
static int run_guest(Z_ferry_core_instance_t *core, const elf_image *image, int kind, const options *opts) {
  Z_ferry_coreZ_configure(core, DEFAULT_CLOCK_HZ, 0);
  int32_t vm = (int32_t)Z_ferry_coreZ_vmCreate(core, (uint32_t)kind, DEFAULT_RAM_BYTES);
  if (vm < 0) {
    return usage_error("cannot create a %s VM with %u bytes of RAM: %s", kind == KIND_MACHINE ? "machine" : "paravirtual",
                       DEFAULT_RAM_BYTES, vm == -1 ? "the core has no memory for it" : "SBI error");
  }
  for (uint32_t i = 0; i < image->segment_count; i++) {
    if (load_segment(core, (uint32_t)vm, &image->segments[i]) != 0) return STATUS_INTERNAL;
  }
  if (image->has_tohost) Z_ferry_coreZ_vmSetTohost(core, (uint32_t)vm, image->tohost);
  int32_t booted = (int32_t)Z_ferry_coreZ_vmBoot(core, (uint32_t)vm, image->entry, 0, 0);
  if (booted != 0) {
    fprintf(stderr, "%s: internal error: vmBoot(%d, 0x%x) failed: SBI error %d%s\n", program, vm, image->entry, booted, sbi_error_name(booted));
    return STATUS_INTERNAL;
  }

  char message[256] = "";
  int status;
  uint64_t cycles = 0;
  for (;;) {
    if (Z_ferry_coreZ_vmExit(core, (uint32_t)vm) != VM_EXIT_RUNNING) {
      uint32_t reason = Z_ferry_coreZ_vmExit(core, (uint32_t)vm);
      status = describe_exit(reason, Z_ferry_coreZ_vmExitCode(core, (uint32_t)vm), Z_ferry_coreZ_vmGetPc(core, (uint32_t)vm),
                             message, sizeof message);
      break;
    }
    uint64_t left = opts->has_max_cycles ? opts->max_cycles - cycles : QUANTUM_CYCLES;
    if (left == 0) {
      snprintf(message, sizeof message, "max-cycles: the guest was still running after %" PRIu64 " cycles (pc 0x%x)",
               cycles, Z_ferry_coreZ_vmGetPc(core, (uint32_t)vm));
      status = STATUS_MAX_CYCLES;
      break;
    }
    uint64_t advanced = Z_ferry_coreZ_run(core, left < QUANTUM_CYCLES ? left : QUANTUM_CYCLES);
    cycles += advanced;
    /* run() gives back less only when nothing can run; a VM still "running" then waits forever. */
    if (advanced == 0 && Z_ferry_coreZ_vmExit(core, (uint32_t)vm) == VM_EXIT_RUNNING) {
      snprintf(message, sizeof message, "stalled: the VM waits at pc 0x%x but nothing can wake it (after %" PRIu64 " cycles)",
               Z_ferry_coreZ_vmGetPc(core, (uint32_t)vm), cycles);
      status = STATUS_FAIL;
      break;
    }
  }
  uint64_t instret = Z_ferry_coreZ_vmInstret(core, (uint32_t)vm);
  fflush(stdout);
  if (message[0] != 0) fprintf(stderr, "%s\n", message);
  if (opts->instret) fprintf(stderr, "instret: %" PRIu64 "\n", instret);
  return status;
}

/* One processor of a board: the host drives every export (native/serve.c). */
static int serve_board(void) {
  static Z_ferry_core_instance_t core;
  static struct Z_ferryZ3AcoreZ2Fboard_instance_t board;
  board.core = &core;
  board.serving = 1;
  wasm_rt_init();
  Z_ferry_core_init_module();
  Z_ferry_core_instantiate(&core, &board);
  int status = serve(&core);
  Z_ferry_core_free(&core);
  wasm_rt_free();
  return status;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--serve") == 0) return serve_board();
  options opts;
  int done;
  int status = parse_options(argc, argv, &opts, &done);
  if (status != STATUS_PASS || done) return status;

  char error[ELF_ERROR_BYTES];
  size_t length = 0;
  uint8_t *bytes = read_image(opts.image_path, &length, error, sizeof error);
  if (bytes == NULL) return usage_error("%s", error);
  static elf_image image;
  if (elf_parse(bytes, length, &image, error) != 0 || elf_check_fits(&image, DEFAULT_RAM_BYTES, error) != 0) {
    usage_error("%s: %s", opts.image_path, error);
    free(bytes);
    return STATUS_USAGE;
  }
  int kind = opts.mode >= 0 ? opts.mode : image.has_tohost ? KIND_MACHINE : KIND_PARAVIRTUAL;

  static Z_ferry_core_instance_t core;
  static struct Z_ferryZ3AcoreZ2Fboard_instance_t board;
  board.core = &core;
  wasm_rt_init();
  Z_ferry_core_init_module();
  /* A trap anywhere in the core (a bug, never the guest's doing) comes back here. */
  wasm_rt_trap_t trap = wasm_rt_impl_try();
  if (trap != WASM_RT_TRAP_NONE) {
    fflush(stdout);
    fprintf(stderr, "%s: internal error: the core trapped: %s\n", program, wasm_rt_strerror(trap));
    return STATUS_INTERNAL;
  }
  Z_ferry_core_instantiate(&core, &board);
  status = run_guest(&core, &image, kind, &opts);
  Z_ferry_core_free(&core);
  wasm_rt_free();
  free(bytes);
  return status;
}
