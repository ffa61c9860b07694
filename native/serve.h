/*
 * The native firmware as a board processor (docs/runtimes.md, "Processors in another
 * process"): `ferry-native --serve` reads requests on stdin, runs their calls on the core
 * and answers on stdout. native/core-world.c (generated from wit/ferry.wit) holds one
 * function per export; this header is what those functions and native/board.c share.
 */
#ifndef FERRY_SERVE_H
#define FERRY_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "ferry-core.h"

/* A growable byte buffer: a reply, or the outputs (imports) recorded during one. */
typedef struct {
  uint8_t *bytes;
  size_t used;
  size_t capacity;
} serve_buffer;

/* One call of a request being decoded and run. */
typedef struct {
  Z_ferry_core_instance_t *core;
  const uint8_t *at; /* the next argument */
  const uint8_t *end;
  int bad;           /* an argument ran past the request, or a list was too long */
  serve_buffer *results;
} serve_call;

/* A list argument, copied into the core's staging buffer: what the export takes. */
typedef struct {
  u32 ptr;
  u32 len;
} serve_list;

typedef void (*serve_export)(serve_call *call);

extern const serve_export SERVE_EXPORTS[];
extern const unsigned SERVE_EXPORT_COUNT;
extern const char SERVE_WORLD_TEXT[];

u32 serve_arg_u32(serve_call *call);
u64 serve_arg_u64(serve_call *call);
serve_list serve_arg_list(serve_call *call);
void serve_result_u32(serve_call *call, u32 value);
void serve_result_u64(serve_call *call, u64 value);
/* A list result the core left at the start of its staging buffer, `len` bytes long. */
void serve_result_staged(serve_call *call, u32 len);

/* The board's imports while serving: each is recorded as an output of the reply. */
void serve_output_console(u32 vm, const uint8_t *bytes, u32 len);
void serve_output_link(u32 peer, u64 at_cycles, const uint8_t *bytes, u32 len);
void serve_output_trace(u32 event, u32 vm, u64 at_cycles, u64 a, u64 b);
void serve_output_event(u32 kind, u32 id, u32 vm, u64 at_ns, u64 a, u64 b);

/* Serves requests on stdin until it closes: the exit status (0, or 3 after a trap). */
int serve(Z_ferry_core_instance_t *core);

#endif
