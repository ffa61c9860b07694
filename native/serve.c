/*
 * `ferry-native --serve`: the native firmware as a processor of a board the host emulates
 * (docs/runtimes.md, "Processors in another process"). Requests come on stdin, replies go
 * to stdout, both as a u32 byte count and the bytes, little endian:
 *
 *   request  u32 calls, then per call u16 export and its arguments
 *   reply    u8 0 (done): the results in order, u32 outputs, the outputs (imports)
 *            u8 1 (trapped): u32 call, list<u8> message; then exit status 3
 *            u8 2 (refused): list<u8> why; then exit status 2
 *
 * The first request is the hello: the world as the host knows it, which must be the one
 * native/core-world.c was generated from.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve.h"
#include "wasm-rt-impl.h"

enum { STATUS_DONE = 0, STATUS_TRAPPED = 1, STATUS_REFUSED = 2 };
enum { OUTPUT_CONSOLE = 0, OUTPUT_LINK = 1, OUTPUT_TRACE = 2, OUTPUT_EVENT = 3 };
enum { EXIT_OK = 0, EXIT_REFUSED = 2, EXIT_TRAPPED = 3 };

#define HELLO_EXPORT 0xFFFFu
/* Names how the core's accesses are bounds-checked (scripts/build-native.sh). */
#if WASM_RT_MEMCHECK_SIGNAL_HANDLER
#define SELF_DESCRIPTION "ferry-native wasm2c, guard-page bounds checks"
#else
#define SELF_DESCRIPTION "ferry-native wasm2c, explicit bounds checks"
#endif
/* The host sends at most one staging buffer per list and a quantum's worth of frames. */
#define MAX_REQUEST_BYTES (64u * 1024u * 1024u)

static Z_ferry_core_instance_t *served;
static serve_buffer outputs;
static u32 output_count;

static void out_of_memory(void) {
  fprintf(stderr, "ferry-native: internal error: out of memory\n");
  exit(EXIT_TRAPPED);
}

static void put(serve_buffer *buffer, const void *bytes, size_t n) {
  if (buffer->used + n > buffer->capacity) {
    size_t capacity = buffer->capacity < 4096 ? 4096 : buffer->capacity;
    while (capacity < buffer->used + n) capacity *= 2;
    uint8_t *grown = realloc(buffer->bytes, capacity);
    if (grown == NULL) out_of_memory();
    buffer->bytes = grown;
    buffer->capacity = capacity;
  }
  memcpy(buffer->bytes + buffer->used, bytes, n);
  buffer->used += n;
}

static void put_u8(serve_buffer *buffer, uint8_t value) { put(buffer, &value, 1); }

static void put_u32(serve_buffer *buffer, u32 value) {
  uint8_t bytes[4] = { (uint8_t)value, (uint8_t)(value >> 8), (uint8_t)(value >> 16), (uint8_t)(value >> 24) };
  put(buffer, bytes, 4);
}

static void put_u64(serve_buffer *buffer, u64 value) {
  put_u32(buffer, (u32)value);
  put_u32(buffer, (u32)(value >> 32));
}

static void put_list(serve_buffer *buffer, const uint8_t *bytes, u32 len) {
  put_u32(buffer, len);
  put(buffer, bytes, len);
}

static u32 le32(const uint8_t *at) {
  return (u32)at[0] | (u32)at[1] << 8 | (u32)at[2] << 16 | (u32)at[3] << 24;
}

/* Bytes [ptr, ptr + len) of core memory, or NULL if they are not all inside. */
static uint8_t *core_bytes(u32 ptr, u32 len) {
  wasm_rt_memory_t *memory = Z_ferry_coreZ_memory(served);
  if ((uint64_t)ptr + len > memory->size) return NULL;
  return memory->data + ptr;
}

u32 serve_arg_u32(serve_call *call) {
  if (call->bad || call->end - call->at < 4) { call->bad = 1; return 0; }
  u32 value = le32(call->at);
  call->at += 4;
  return value;
}

u64 serve_arg_u64(serve_call *call) {
  u64 low = serve_arg_u32(call);
  return low | (u64)serve_arg_u32(call) << 32;
}

serve_list serve_arg_list(serve_call *call) {
  serve_list list = { 0, serve_arg_u32(call) };
  if (call->bad || (size_t)(call->end - call->at) < list.len) { call->bad = 1; return list; }
  /* The canonical ABI's cabi_realloc hands out the staging buffer: so does this. */
  list.ptr = Z_ferry_coreZ_stagingBuffer(call->core);
  uint8_t *staging = list.len <= Z_ferry_coreZ_stagingBytes(call->core) ? core_bytes(list.ptr, list.len) : NULL;
  if (staging == NULL) { call->bad = 1; return list; }
  memcpy(staging, call->at, list.len);
  call->at += list.len;
  return list;
}

void serve_result_u32(serve_call *call, u32 value) { put_u32(call->results, value); }
void serve_result_u64(serve_call *call, u64 value) { put_u64(call->results, value); }

void serve_result_staged(serve_call *call, u32 len) {
  const uint8_t *bytes = core_bytes(Z_ferry_coreZ_stagingBuffer(call->core), len);
  if (bytes == NULL) { call->bad = 1; return; }
  put_list(call->results, bytes, len);
}

void serve_output_console(u32 vm, const uint8_t *bytes, u32 len) {
  put_u8(&outputs, OUTPUT_CONSOLE);
  put_u32(&outputs, vm);
  put_list(&outputs, bytes, len);
  output_count++;
}

void serve_output_link(u32 peer, u64 at_cycles, const uint8_t *bytes, u32 len) {
  put_u8(&outputs, OUTPUT_LINK);
  put_u32(&outputs, peer);
  put_u64(&outputs, at_cycles);
  put_list(&outputs, bytes, len);
  output_count++;
}

void serve_output_trace(u32 event, u32 vm, u64 at_cycles, u64 a, u64 b) {
  put_u8(&outputs, OUTPUT_TRACE);
  put_u32(&outputs, event);
  put_u32(&outputs, vm);
  put_u64(&outputs, at_cycles);
  put_u64(&outputs, a);
  put_u64(&outputs, b);
  output_count++;
}

void serve_output_event(u32 kind, u32 id, u32 vm, u64 at_ns, u64 a, u64 b) {
  put_u8(&outputs, OUTPUT_EVENT);
  put_u32(&outputs, kind);
  put_u32(&outputs, id);
  put_u32(&outputs, vm);
  put_u64(&outputs, at_ns);
  put_u64(&outputs, a);
  put_u64(&outputs, b);
  output_count++;
}

/* 1: all n bytes read; 0: end of input before the first; -1: end of input inside them. */
static int read_full(uint8_t *bytes, size_t n) {
  for (size_t done = 0; done < n;) {
    ssize_t got = read(STDIN_FILENO, bytes + done, n - done);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return done == 0 ? 0 : -1;
    done += (size_t)got;
  }
  return 1;
}

static void send_reply(serve_buffer *reply) {
  uint8_t length[4] = { (uint8_t)reply->used, (uint8_t)(reply->used >> 8), (uint8_t)(reply->used >> 16), (uint8_t)(reply->used >> 24) };
  const uint8_t *parts[2] = { length, reply->bytes };
  size_t sizes[2] = { 4, reply->used };
  for (int part = 0; part < 2; part++) {
    for (size_t done = 0; done < sizes[part];) {
      ssize_t wrote = write(STDOUT_FILENO, parts[part] + done, sizes[part] - done);
      if (wrote < 0 && errno == EINTR) continue;
      /* The host is gone: nobody is left to answer. */
      if (wrote <= 0) exit(EXIT_OK);
      done += (size_t)wrote;
    }
  }
}

static int refuse(serve_buffer *reply, const char *format, ...) {
  char why[512];
  va_list args;
  va_start(args, format);
  vsnprintf(why, sizeof why, format, args);
  va_end(args);
  reply->used = 0;
  put_u8(reply, STATUS_REFUSED);
  put_list(reply, (const uint8_t *)why, (u32)strlen(why));
  send_reply(reply);
  fprintf(stderr, "ferry-native: refused: %s\n", why);
  return EXIT_REFUSED;
}

/* The hello: the host's world must be native/core-world.c's, line for line. */
static int hello(serve_buffer *reply, const uint8_t *text, u32 len) {
  const char *ours = SERVE_WORLD_TEXT;
  size_t line = 1, at = 0;
  for (; at < len && ours[at] != 0 && ours[at] == (char)text[at]; at++) if (text[at] == '\n') line++;
  if (at != len || ours[at] != 0) {
    return refuse(reply, "the host's wit/ferry.wit differs from the one this ferry-native was built from (line %zu of the world): rebuild it with `npm run build:native`", line);
  }
  reply->used = 0;
  put_u8(reply, STATUS_DONE);
  put_list(reply, (const uint8_t *)SELF_DESCRIPTION, (u32)strlen(SELF_DESCRIPTION));
  send_reply(reply);
  return EXIT_OK;
}

/* Runs one request's calls: 0 replied, or the exit status after a refusal or a trap. */
static int run_request(serve_buffer *reply, serve_buffer *results, const uint8_t *at, const uint8_t *end) {
  u32 calls = le32(at);
  at += 4;
  results->used = 0;
  outputs.used = 0;
  output_count = 0;
  /* Survives the longjmp of a trap: which call was running. */
  volatile u32 current = 0;
  wasm_rt_trap_t trap = wasm_rt_impl_try();
  if (trap != WASM_RT_TRAP_NONE) {
    const char *message = wasm_rt_strerror(trap);
    reply->used = 0;
    put_u8(reply, STATUS_TRAPPED);
    put_u32(reply, current);
    put_list(reply, (const uint8_t *)message, (u32)strlen(message));
    send_reply(reply);
    fprintf(stderr, "ferry-native: internal error: the core trapped in call %u of a request: %s\n", current, message);
    return EXIT_TRAPPED;
  }
  for (u32 i = 0; i < calls; i++) {
    current = i;
    if (end - at < 2) return refuse(reply, "call %u of %u: the request ends before it", i, calls);
    unsigned index = (unsigned)at[0] | (unsigned)at[1] << 8;
    at += 2;
    if (index >= SERVE_EXPORT_COUNT) return refuse(reply, "call %u: no export %u (the world has %u)", i, index, SERVE_EXPORT_COUNT);
    serve_call call = { served, at, end, 0, results };
    SERVE_EXPORTS[index](&call);
    if (call.bad) return refuse(reply, "call %u (export %u): its arguments do not parse", i, index);
    at = call.at;
  }
  if (at != end) return refuse(reply, "%zu bytes follow the request's last call", (size_t)(end - at));
  reply->used = 0;
  put_u8(reply, STATUS_DONE);
  put(reply, results->bytes, results->used);
  put_u32(reply, output_count);
  put(reply, outputs.bytes, outputs.used);
  send_reply(reply);
  return 0;
}

int serve(Z_ferry_core_instance_t *core) {
  served = core;
  serve_buffer reply = { 0 }, results = { 0 }, request = { 0 };
  for (int first = 1;; first = 0) {
    uint8_t header[4];
    int got = read_full(header, 4);
    if (got == 0) return EXIT_OK; /* the host closed the pipe: the board is done */
    u32 length = got < 0 ? 0 : le32(header);
    if (got < 0 || length > MAX_REQUEST_BYTES) return refuse(&reply, "a request of %u bytes (at most %u)", length, MAX_REQUEST_BYTES);
    request.used = 0;
    if (length > request.capacity) {
      free(request.bytes);
      request.bytes = malloc(length);
      if (request.bytes == NULL) out_of_memory();
      request.capacity = length;
    }
    if (length > 0 && read_full(request.bytes, length) != 1) return EXIT_OK;
    const uint8_t *at = request.bytes, *end = request.bytes + length;
    if (length < 4) return refuse(&reply, "a request of %u bytes has no call count", length);
    int is_hello = length >= 10 && le32(at) == 1 && (at[4] | at[5] << 8) == HELLO_EXPORT;
    if (first != is_hello) return refuse(&reply, first ? "the first request must be the hello" : "a second hello");
    int status = is_hello ? (le32(at + 6) == length - 10 ? hello(&reply, at + 10, length - 10) : refuse(&reply, "a hello whose text length is wrong"))
                          : run_request(&reply, &results, at, end);
    if (status != 0) return status;
  }
}
