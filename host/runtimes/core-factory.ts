/**
 * The CoreFactory for each runtime name (docs/runtimes.md): the module and the component in
 * this process, wasmtime and the native firmware each in a process of their own.
 */
import { componentCoreFactory } from '../core-component.js';
import { CORE_RUNTIMES } from '../core-runtime.js';
import type { CoreFactory, CoreRuntimeName } from '../core-runtime.js';
import { moduleCoreFactory } from '../core.js';
import { ConfigError } from '../errors.js';
import { nativeCoreFactory } from './native.js';
import { wasmtimeCoreFactory } from './wasmtime.js';

export function coreFactoryFor(runtime: CoreRuntimeName = 'module'): CoreFactory {
  switch (runtime) {
    case 'module': return moduleCoreFactory();
    case 'component': return componentCoreFactory();
    case 'wasmtime': return wasmtimeCoreFactory();
    case 'native': return nativeCoreFactory();
  }
  throw new ConfigError(`runtime must be ${CORE_RUNTIMES.join(', ')}, not ${String(runtime)}`);
}
