;; The Internet checksum (RFC 1071): the 16-bit ones'-complement sum that
;; every IPv4 and TCP header carries. The page copies bytes into `memory`
;; and calls `checksum(ptr, len)`.
;; Rebuild: wat2wasm checksum.wat -o checksum.wasm   (Debian package wabt)
(module
  (memory (export "memory") 1)
  (func (export "checksum") (param $ptr i32) (param $len i32) (result i32)
    (local $end i32) (local $sum i32)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    ;; add the bytes as big-endian 16-bit words
    (block $done
      (loop $words
        (br_if $done (i32.ge_u (i32.add (local.get $ptr) (i32.const 1)) (local.get $end)))
        (local.set $sum
          (i32.add (local.get $sum)
            (i32.or (i32.shl (i32.load8_u (local.get $ptr)) (i32.const 8))
                    (i32.load8_u offset=1 (local.get $ptr)))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 2)))
        (br $words)))
    ;; an odd last byte is padded with a zero byte
    (if (i32.lt_u (local.get $ptr) (local.get $end))
      (then
        (local.set $sum
          (i32.add (local.get $sum) (i32.shl (i32.load8_u (local.get $ptr)) (i32.const 8))))))
    ;; fold the carries back in, then complement
    (block $folded
      (loop $fold
        (br_if $folded (i32.eqz (i32.shr_u (local.get $sum) (i32.const 16))))
        (local.set $sum
          (i32.add (i32.and (local.get $sum) (i32.const 0xffff))
                   (i32.shr_u (local.get $sum) (i32.const 16))))
        (br $fold)))
    (i32.and (i32.xor (local.get $sum) (i32.const -1)) (i32.const 0xffff))))
