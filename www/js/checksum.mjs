// The Internet checksum (RFC 1071), computed by wasm/checksum.wasm.
// The module is loaded only with WebAssembly.instantiateStreaming, on purpose with no
// fallback: it compiles while the bytes arrive, and it refuses a response whose
// Content-Type is not application/wasm. If the server got the type wrong, this fails.

export async function loadChecksum() {
  const url = new URL("../wasm/checksum.wasm", import.meta.url);
  const { instance } = await WebAssembly.instantiateStreaming(fetch(url));
  const { memory, checksum } = instance.exports;
  return (bytes) => {
    if (bytes.length > memory.buffer.byteLength) throw new RangeError("too many bytes for one page");
    new Uint8Array(memory.buffer, 0, bytes.length).set(bytes);
    return checksum(0, bytes.length);
  };
}

/** The same sum in JavaScript, to check the WebAssembly against. */
export function checksumJs(bytes) {
  let sum = 0;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length % 2) sum += bytes[bytes.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** "\r\n" typed as four characters stands for CR LF. */
export function bytesOf(text) {
  return new TextEncoder().encode(text.replace(/\\r/g, "\r").replace(/\\n/g, "\n"));
}

export function hex(value) {
  return "0x" + value.toString(16).padStart(4, "0");
}
