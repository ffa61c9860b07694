/**
 * The few WebAssembly JS API types the host uses. TypeScript ships them only
 * in lib.dom, and @types/node 20 does not declare them; rather than pulling
 * every browser global into a Node program, declare what we call.
 * Delete this file if "DOM" is ever added to tsconfig's lib.
 */
declare namespace WebAssembly {
  type BufferSource = ArrayBufferView | ArrayBuffer;
  type ImportValue = ((...args: any[]) => unknown) | Memory | Global | Table | number | bigint;
  type Imports = Record<string, Record<string, ImportValue>>;
  type ExportValue = ((...args: any[]) => unknown) | Memory | Global | Table;
  type Exports = Record<string, ExportValue>;

  class Module {
    constructor(bytes: BufferSource);
    static exports(module: Module): { name: string; kind: string }[];
    static imports(module: Module): { module: string; name: string; kind: string }[];
  }
  class Instance {
    constructor(module: Module, imports?: Imports);
    readonly exports: Exports;
  }
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number; shared?: boolean });
    readonly buffer: ArrayBuffer;
    grow(deltaPages: number): number;
  }
  class Global {
    value: unknown;
  }
  class Table {
    readonly length: number;
  }
  class CompileError extends Error {}
  class LinkError extends Error {}
  class RuntimeError extends Error {}

  function compile(bytes: BufferSource): Promise<Module>;
  function validate(bytes: BufferSource): boolean;
  function instantiate(module: Module, imports?: Imports): Promise<Instance>;
  function instantiate(bytes: BufferSource, imports?: Imports): Promise<{ module: Module; instance: Instance }>;
}
