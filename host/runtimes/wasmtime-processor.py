"""A board processor on wasmtime: Ferry's core component (build/component/ferry-core.component.wasm,
world ferry:core/core) run by wasmtime's component API (wasmtime-py 49), driven by the host over
stdin and stdout (docs/runtimes.md, "Processors in another process").

    python wasmtime-processor.py <component.wasm>

Requests are a u32 byte count and the bytes: u32 calls, then per call u16 export and its arguments.
Each reply is u8 0 (done: the results, u32 outputs, the outputs), 1 (trapped: u32 call, the
message; then exit 3) or 2 (refused: why; then exit 2). The first request is the hello: the world
as the host knows it, checked here against the component's own types.
"""
import glob
import hashlib
import importlib.metadata
import os
import struct
import sys
import tempfile
from ctypes import byref, pointer

import wasmtime
import wasmtime.component as wc
from wasmtime import _ffi as ffi
from wasmtime.component._enter import enter_wasm

STATUS_DONE, STATUS_TRAPPED, STATUS_REFUSED = 0, 1, 2
EXIT_OK, EXIT_REFUSED, EXIT_TRAPPED = 0, 2, 3
HELLO_EXPORT = 0xFFFF
BOARD_INTERFACE = "ferry:core/board"
WASMTIME_VERSION = "49.0.0"

FIXED = {"u32": struct.Struct("<I"), "s32": struct.Struct("<i"), "u64": struct.Struct("<Q"), "s64": struct.Struct("<q")}
U8, U16, U32 = struct.Struct("<B"), struct.Struct("<H"), struct.Struct("<I")
# The component's types by the names the hello uses.
TYPE_NAMES = {wc.U32: "u32", wc.S32: "s32", wc.U64: "u64", wc.S64: "s64"}


class Refused(Exception):
    """The host's request (or its world) is not one this processor can serve."""


class Export:
    """One export, called as wasmtime-py 49's Func.__call__ calls it, with its types looked up
    once: Func.__call__ asks the C API for them on every call, which made a board quantum
    (a run and the reads after it) three times slower."""

    def __init__(self, store, func):
        self.store, self.func = store, func
        ftype = func.type(store)
        self.param_types = [t for _, t in ftype.params]
        self.result_type = ftype.result
        self.params = (ffi.wasmtime_component_val_t * max(1, len(self.param_types)))()
        self.result = ffi.wasmtime_component_val_t()

    def __call__(self, *args):
        store, func, params, n = self.store, self.func, self.params, 0
        try:
            for kind, value in zip(self.param_types, args):
                kind.convert_to_c(store, value, pointer(params[n]))
                n += 1
            has_result = self.result_type is not None
            enter_wasm(lambda: ffi.wasmtime_component_func_call(
                byref(func._func), store._context(), params, n, byref(self.result) if has_result else None, 1 if has_result else 0))
            value = self.result_type.convert_from_c(self.result) if has_result else None
        finally:
            for i in range(n):
                ffi.wasmtime_component_val_delete(byref(params[i]))
        enter_wasm(lambda: ffi.wasmtime_component_func_post_return(byref(func._func), store._context()))
        return value


def encode(out, kind, value):
    if kind == "list<u8>":
        out += U32.pack(len(value))
        out += value
    else:
        out += FIXED[kind].pack(value)


def decode(data, at, kind):
    if kind == "list<u8>":
        (length,) = U32.unpack_from(data, at)
        end = at + 4 + length
        if end > len(data):
            raise Refused("a list runs past the request's end")
        return bytes(data[at + 4:end]), end
    return FIXED[kind].unpack_from(data, at)[0], at + FIXED[kind].size


def type_name(valtype):
    if isinstance(valtype, wc.ListType):
        return "list<u8>" if type(valtype.element) is wc.U8 else "list<?>"
    return TYPE_NAMES.get(type(valtype), type(valtype).__name__)


def load_component(engine, path):
    """The component, compiled by Cranelift once per build of it: the machine code is kept
    beside it (named by the component's digest and wasmtime's version) for the next processor,
    which then starts in milliseconds instead of compiling again."""
    with open(path, "rb") as file:
        wasm = file.read()
    compiled = f"{path}.{hashlib.sha256(wasm).hexdigest()[:16]}.wasmtime-{WASMTIME_VERSION}.cwasm"
    if os.path.exists(compiled):
        try:
            return wc.Component.deserialize_file(engine, compiled)
        except wasmtime.WasmtimeError:
            pass  # compiled elsewhere, for another CPU: compile it again
    component = wc.Component(engine, wasm)
    # Another processor may be writing it too: each writes its own file, the rename is atomic.
    fd, partial = tempfile.mkstemp(dir=os.path.dirname(compiled), suffix=".partial")
    with os.fdopen(fd, "wb") as file:
        file.write(component.serialize())
    os.replace(partial, compiled)
    for stale in glob.glob(f"{glob.escape(path)}.*.cwasm"):
        if stale != compiled:
            try:
                os.remove(stale)  # the machine code of an older build of the component
            except FileNotFoundError:
                pass  # another processor removed it first
    return component


def parse_world(text):
    """[(kind, name, [param types], result type or None)] from the hello's lines."""
    functions = []
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        name, _, rest = rest.partition("(")
        params, _, result = rest.partition(")")
        functions.append((kind, name, [p for p in params.split(",") if p], result.strip()[3:] or None))
    return functions


class Processor:
    def __init__(self, component_path):
        self.engine = wasmtime.Engine()
        self.store = wasmtime.Store(self.engine)
        self.component = load_component(self.engine, component_path)
        self.outputs = bytearray()
        self.output_count = 0
        self.exports = []
        self.instance = None

    def record(self, index, kinds, values):
        out = self.outputs
        out += U8.pack(index)
        for kind, value in zip(kinds, values):
            encode(out, kind, value)
        self.output_count += 1

    def board_import(self, index, kinds):
        # wasmtime passes the store first; lists arrive as bytes.
        return lambda _store, *values: self.record(index, kinds, values)

    def hello(self, text):
        world = parse_world(text)
        linker = wc.Linker(self.engine)
        with linker.root() as root:
            with root.add_instance(BOARD_INTERFACE) as board:
                imports = [f for f in world if f[0] == "import"]
                for index, (_, name, params, _) in enumerate(imports):
                    board.add_func(name, self.board_import(index, params))
        try:
            self.instance = linker.instantiate(self.store, self.component)
        except wasmtime.WasmtimeError as error:
            raise Refused(f"the component does not take the host's board imports: {error}") from error
        for _, name, params, result in (f for f in world if f[0] == "export"):
            func = self.instance.get_func(self.store, name)
            if func is None:
                raise Refused(f"the component has no export {name}: rebuild it with `npm run build:component`")
            ftype = func.type(self.store)
            ours = [type_name(t) for _, t in ftype.params]
            our_result = None if ftype.result is None else type_name(ftype.result)
            if ours != params or our_result != result:
                raise Refused(f"{name} is ({','.join(ours)}) -> {our_result} in the component, ({','.join(params)}) -> {result} in the host's world: rebuild it")
            self.exports.append((Export(self.store, func), params, result))
        return f"wasmtime {WASMTIME_VERSION}".encode()

    def run(self, data, results):
        """Runs a request's calls; returns (results, None) or (None, (call, message)) after a trap."""
        (calls,) = U32.unpack_from(data, 0)
        at = 4
        self.outputs = bytearray()
        self.output_count = 0
        for call in range(calls):
            if at + 2 > len(data):
                raise Refused(f"call {call} of {calls}: the request ends before it")
            (index,) = U16.unpack_from(data, at)
            at += 2
            if index >= len(self.exports):
                raise Refused(f"call {call}: no export {index} (the world has {len(self.exports)})")
            func, params, result = self.exports[index]
            args = []
            try:
                for kind in params:
                    value, at = decode(data, at, kind)
                    args.append(value)
            except struct.error as error:
                raise Refused(f"call {call} (export {index}): its arguments do not parse") from error
            try:
                value = func(*args)
            except (wasmtime.Trap, wasmtime.WasmtimeError) as error:
                return None, (call, str(error))
            if result is not None:
                encode(results, result, value)
        if at != len(data):
            raise Refused(f"{len(data) - at} bytes follow the request's last call")
        return results, None


def read_exactly(stream, n):
    data = stream.read(n)
    return data if data is not None and len(data) == n else None


def send(stream, reply):
    stream.write(U32.pack(len(reply)))
    stream.write(reply)
    stream.flush()


def serve(component_path):
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    try:
        installed = importlib.metadata.version("wasmtime")
        if installed != WASMTIME_VERSION:
            raise Refused(f"wasmtime {installed} is installed; Ferry pins {WASMTIME_VERSION} (npm run setup:wasmtime)")
        processor = Processor(component_path)
        first = True
        while True:
            header = read_exactly(stdin, 4)
            if header is None:
                return EXIT_OK  # the host closed the pipe: the board is done
            (length,) = U32.unpack(header)
            data = read_exactly(stdin, length)
            if data is None:
                return EXIT_OK
            if len(data) < 4:
                raise Refused(f"a request of {length} bytes has no call count")
            is_hello = len(data) >= 10 and U32.unpack_from(data, 0)[0] == 1 and U16.unpack_from(data, 4)[0] == HELLO_EXPORT
            if first != is_hello:
                raise Refused("the first request must be the hello" if first else "a second hello")
            first = False
            reply = bytearray(U8.pack(STATUS_DONE))
            if is_hello:
                text, _ = decode(data, 6, "list<u8>")
                encode(reply, "list<u8>", processor.hello(text.decode()))
                send(stdout, reply)
                continue
            results, trap = processor.run(data, reply)
            if trap is not None:
                call, message = trap
                failed = bytearray(U8.pack(STATUS_TRAPPED) + U32.pack(call))
                encode(failed, "list<u8>", message.encode())
                send(stdout, failed)
                print(f"wasmtime processor: internal error: the core trapped in call {call} of a request: {message}", file=sys.stderr)
                return EXIT_TRAPPED
            results += U32.pack(processor.output_count)
            results += processor.outputs
            send(stdout, results)
    except Refused as why:
        refused = bytearray(U8.pack(STATUS_REFUSED))
        encode(refused, "list<u8>", str(why).encode())
        send(stdout, refused)
        print(f"wasmtime processor: refused: {why}", file=sys.stderr)
        return EXIT_REFUSED
    except BrokenPipeError:
        return EXIT_OK  # the host went away mid-reply


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: wasmtime-processor.py <component.wasm>", file=sys.stderr)
        sys.exit(EXIT_REFUSED)
    sys.exit(serve(sys.argv[1]))
