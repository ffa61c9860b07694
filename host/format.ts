/** Guest addresses and sizes are read in hex, as in readelf and the linker script. */
export function hex(value: number | bigint): string {
  return '0x' + value.toString(16);
}
