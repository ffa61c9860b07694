// What the VMs wrote to their consoles. as-pect.config.js implements the board's
// `console-write` import and keeps the bytes per VM id; these imports read them back.

@external("ferry:test", "consoleLength")
declare function consoleLength(vm: u32): u32;
@external("ferry:test", "consoleByte")
declare function consoleByte(vm: u32, index: u32): i32;
@external("ferry:test", "consoleClear")
declare function consoleClear(vm: u32): void;

/** Everything VM `vm` handed to the board so far, as a string of bytes (Latin-1). */
export function consoleText(vm: u32): string {
  const length = consoleLength(vm);
  let text = "";
  for (let i: u32 = 0; i < length; i++) text += String.fromCharCode(consoleByte(vm, i));
  return text;
}

/** Like consoleText, with bytes outside printable ASCII written as \\xNN (for messages). */
export function consoleVisible(vm: u32): string {
  const length = consoleLength(vm);
  let text = "";
  for (let i: u32 = 0; i < length; i++) {
    const byte = consoleByte(vm, i);
    if (byte >= 0x20 && byte < 0x7F && byte != 0x5C) text += String.fromCharCode(byte);
    else text += "\\x" + (byte < 16 ? "0" : "") + byte.toString(16);
  }
  return text;
}

export function consoleBytes(vm: u32): u32 {
  return consoleLength(vm);
}

export function clearConsole(vm: u32): void {
  consoleClear(vm);
}
