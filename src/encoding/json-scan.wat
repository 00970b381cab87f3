;; The JSON cost scan of bounded-json.ts, 64 bytes per step with simd128.
;;
;; It answers only "within the limits, every string closed" (scan returns 0 for every chunk and
;; stringOpen returns 0 at the end) or "not known to be": the JavaScript scan then runs on the
;; same bytes and throws its own error, so the messages come from one place.
;;
;; The JavaScript scan knows backslashes only inside strings; here every run of backslashes
;; escapes, wherever it stands. The two read every byte alike up to the first backslash outside a
;; string: inside strings both escape alike, and outside one a backslash can change only how the
;; byte after it is read. So a block with a backslash outside a string (as seen here, which up to
;; that backslash is as the JavaScript scan sees it) stops the scan with "not known". Valid JSON
;; has none.
;;
;; Assembled by scripts/build-json-scan.js (npm run build:json-scan) into json-scan-module.ts.
(module
  ;; The JavaScript side copies the payload here, up to 64 KiB at a time.
  (memory (export "memory") 1 1)

  (global $maxDepth (mut i64) (i64.const 0))
  (global $maxValues (mut i64) (i64.const 0))
  (global $depth (mut i64) (i64.const 0))
  (global $values (mut i64) (i64.const 0))
  ;; All ones when the next block starts inside a string.
  (global $inString (mut i64) (i64.const 0))
  ;; 1 when the first byte of the next block is escaped by a backslash at the end of this one.
  (global $escapeCarry (mut i64) (i64.const 0))

  ;; Starts a payload. The limits are JavaScript numbers: floored, since a count is an integer
  ;; (count > x exactly when count > floor(x)), and saturated into i64.
  (func (export "begin") (param $maxDepth f64) (param $maxValues f64)
    (global.set $maxDepth (i64.trunc_sat_f64_s (f64.floor (local.get $maxDepth))))
    (global.set $maxValues (i64.trunc_sat_f64_s (f64.floor (local.get $maxValues))))
    (global.set $depth (i64.const 0))
    (global.set $values (i64.const 0))
    (global.set $inString (i64.const 0))
    (global.set $escapeCarry (i64.const 0)))

  ;; 1 when the payload ended inside a string.
  (func (export "stringOpen") (result i32)
    (i64.ne (global.get $inString) (i64.const 0)))

  ;; Scans the next $len bytes of the payload (0 to 65,536), at offset 0 of memory. Returns 0 while
  ;; the payload is within the limits so far, 1 when it is not or a backslash stands outside a
  ;; string; after 1 the state is spent until the next begin.
  ;;
  ;; A class of bytes becomes a 64-bit mask, byte i at bit i, by i8x16.bitmask of the comparisons
  ;; of each 16-byte quarter, written out each time: V8 (Node 20) does not inline a helper
  ;; function, and the calls made the scan 1.5 times slower.
  (func (export "scan") (param $len i32) (result i32)
    (local $at i32) (local $end i32)
    (local $depth i64) (local $values i64) (local $maxDepth i64) (local $maxValues i64)
    (local $inString i64) (local $escapeCarry i64)
    (local $quote v128) (local $backslash v128) (local $bit5 v128) (local $open v128) (local $close v128)
    (local $comma v128) (local $colon v128)
    ;; The block's quarters, and the same with bit 5 set, where [ and { meet at 0x7b, ] and } at 0x7d.
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $f0 v128) (local $f1 v128) (local $f2 v128) (local $f3 v128)
    (local $quotes i64) (local $backslashes i64)
    (local $run i64) (local $starts i64) (local $fromOdd i64) (local $escaped i64)
    (local $inside i64) (local $outside i64)
    (local $opens i64) (local $closes i64) (local $opened i64) (local $both i64) (local $bit i64)

    ;; Pad the last partial block with spaces, which count nothing.
    (local.set $end (i32.and (i32.add (local.get $len) (i32.const 63)) (i32.const -64)))
    (memory.fill (local.get $len) (i32.const 0x20) (i32.sub (local.get $end) (local.get $len)))

    (local.set $quote (i8x16.splat (i32.const 0x22)))
    (local.set $backslash (i8x16.splat (i32.const 0x5c)))
    (local.set $bit5 (i8x16.splat (i32.const 0x20)))
    (local.set $open (i8x16.splat (i32.const 0x7b)))
    (local.set $close (i8x16.splat (i32.const 0x7d)))
    (local.set $comma (i8x16.splat (i32.const 0x2c)))
    (local.set $colon (i8x16.splat (i32.const 0x3a)))
    (local.set $depth (global.get $depth))
    (local.set $values (global.get $values))
    (local.set $maxDepth (global.get $maxDepth))
    (local.set $maxValues (global.get $maxValues))
    (local.set $inString (global.get $inString))
    (local.set $escapeCarry (global.get $escapeCarry))

    (block $done
      (loop $block
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $v0 (v128.load offset=0 (local.get $at)))
        (local.set $v1 (v128.load offset=16 (local.get $at)))
        (local.set $v2 (v128.load offset=32 (local.get $at)))
        (local.set $v3 (v128.load offset=48 (local.get $at)))

        (local.set $quotes
          (i64.or
            (i64.extend_i32_u
              (i32.or
                (i8x16.bitmask (i8x16.eq (local.get $v0) (local.get $quote)))
                (i32.shl (i8x16.bitmask (i8x16.eq (local.get $v1) (local.get $quote))) (i32.const 16))))
            (i64.shl
              (i64.extend_i32_u
                (i32.or
                  (i8x16.bitmask (i8x16.eq (local.get $v2) (local.get $quote)))
                  (i32.shl (i8x16.bitmask (i8x16.eq (local.get $v3) (local.get $quote))) (i32.const 16))))
              (i64.const 32))))
        (local.set $backslashes
          (i64.or
            (i64.extend_i32_u
              (i32.or
                (i8x16.bitmask (i8x16.eq (local.get $v0) (local.get $backslash)))
                (i32.shl (i8x16.bitmask (i8x16.eq (local.get $v1) (local.get $backslash))) (i32.const 16))))
            (i64.shl
              (i64.extend_i32_u
                (i32.or
                  (i8x16.bitmask (i8x16.eq (local.get $v2) (local.get $backslash)))
                  (i32.shl (i8x16.bitmask (i8x16.eq (local.get $v3) (local.get $backslash))) (i32.const 16))))
              (i64.const 32))))

        ;; Escaped bytes. $run: the backslashes that can escape, less the first byte when the last
        ;; block escaped it. A run of them escapes the byte just past it when its length is odd,
        ;; that is when its start and that byte differ in parity. Adding a run's start bit to the
        ;; run carries through it and leaves one bit, just past it; so sum the starts of each
        ;; parity separately and keep the bits of the other parity. A run of odd start that reaches
        ;; bit 63 carries out of the sum: it escapes the first byte of the next block.
        (local.set $escaped (local.get $escapeCarry))
        (if (i64.ne (local.get $backslashes) (i64.const 0))
          (then
            (local.set $run (i64.and (local.get $backslashes) (i64.xor (local.get $escapeCarry) (i64.const -1))))
            (local.set $starts (i64.and (local.get $run) (i64.xor (i64.shl (local.get $run) (i64.const 1)) (i64.const -1))))
            (local.set $fromOdd (i64.add (local.get $run) (i64.and (local.get $starts) (i64.const 0xaaaaaaaaaaaaaaaa))))
            (local.set $escaped
              (i64.or
                (local.get $escaped)
                (i64.and
                  (i64.or
                    (i64.and
                      (i64.add (local.get $run) (i64.and (local.get $starts) (i64.const 0x5555555555555555)))
                      (i64.const 0xaaaaaaaaaaaaaaaa))
                    (i64.and (local.get $fromOdd) (i64.const 0x5555555555555555)))
                  (i64.xor (local.get $run) (i64.const -1)))))
            (local.set $escapeCarry (i64.extend_i32_u (i64.lt_u (local.get $fromOdd) (local.get $run)))))
          (else
            (local.set $escapeCarry (i64.const 0))))

        ;; Inside strings: from each unescaped quote to the next, the opening quote included and
        ;; the closing one not (prefix XOR), flipped when the block starts inside a string.
        (local.set $inside (i64.and (local.get $quotes) (i64.xor (local.get $escaped) (i64.const -1))))
        (local.set $inside (i64.xor (local.get $inside) (i64.shl (local.get $inside) (i64.const 1))))
        (local.set $inside (i64.xor (local.get $inside) (i64.shl (local.get $inside) (i64.const 2))))
        (local.set $inside (i64.xor (local.get $inside) (i64.shl (local.get $inside) (i64.const 4))))
        (local.set $inside (i64.xor (local.get $inside) (i64.shl (local.get $inside) (i64.const 8))))
        (local.set $inside (i64.xor (local.get $inside) (i64.shl (local.get $inside) (i64.const 16))))
        (local.set $inside (i64.xor (local.get $inside) (i64.shl (local.get $inside) (i64.const 32))))
        (local.set $inside (i64.xor (local.get $inside) (local.get $inString)))
        (local.set $inString (i64.shr_s (local.get $inside) (i64.const 63)))
        (local.set $outside (i64.xor (local.get $inside) (i64.const -1)))

        ;; A backslash outside a string: the two scans may read what follows differently.
        (if (i64.ne (i64.and (local.get $backslashes) (local.get $outside)) (i64.const 0))
          (then (return (i32.const 1))))

        (local.set $f0 (v128.or (local.get $v0) (local.get $bit5)))
        (local.set $f1 (v128.or (local.get $v1) (local.get $bit5)))
        (local.set $f2 (v128.or (local.get $v2) (local.get $bit5)))
        (local.set $f3 (v128.or (local.get $v3) (local.get $bit5)))
        ;; [ and {
        (local.set $opens
          (i64.and
            (local.get $outside)
            (i64.or
              (i64.extend_i32_u
                (i32.or
                  (i8x16.bitmask (i8x16.eq (local.get $f0) (local.get $open)))
                  (i32.shl (i8x16.bitmask (i8x16.eq (local.get $f1) (local.get $open))) (i32.const 16))))
              (i64.shl
                (i64.extend_i32_u
                  (i32.or
                    (i8x16.bitmask (i8x16.eq (local.get $f2) (local.get $open)))
                    (i32.shl (i8x16.bitmask (i8x16.eq (local.get $f3) (local.get $open))) (i32.const 16))))
                (i64.const 32)))))
        ;; ] and }
        (local.set $closes
          (i64.and
            (local.get $outside)
            (i64.or
              (i64.extend_i32_u
                (i32.or
                  (i8x16.bitmask (i8x16.eq (local.get $f0) (local.get $close)))
                  (i32.shl (i8x16.bitmask (i8x16.eq (local.get $f1) (local.get $close))) (i32.const 16))))
              (i64.shl
                (i64.extend_i32_u
                  (i32.or
                    (i8x16.bitmask (i8x16.eq (local.get $f2) (local.get $close)))
                    (i32.shl (i8x16.bitmask (i8x16.eq (local.get $f3) (local.get $close))) (i32.const 16))))
                (i64.const 32)))))
        (local.set $opened (i64.popcnt (local.get $opens)))

        ;; Values: each [ once (among the opens), each { twice (there and here), each , and : once.
        (local.set $values
          (i64.add
            (i64.add (local.get $values) (local.get $opened))
            (i64.popcnt
              (i64.and
                (local.get $outside)
                (i64.or
                  (i64.extend_i32_u
                    (i32.or
                      (i8x16.bitmask
                        (v128.or
                          (i8x16.eq (local.get $v0) (local.get $open))
                          (v128.or (i8x16.eq (local.get $v0) (local.get $comma)) (i8x16.eq (local.get $v0) (local.get $colon)))))
                      (i32.shl
                        (i8x16.bitmask
                          (v128.or
                            (i8x16.eq (local.get $v1) (local.get $open))
                            (v128.or (i8x16.eq (local.get $v1) (local.get $comma)) (i8x16.eq (local.get $v1) (local.get $colon)))))
                        (i32.const 16))))
                  (i64.shl
                    (i64.extend_i32_u
                      (i32.or
                        (i8x16.bitmask
                          (v128.or
                            (i8x16.eq (local.get $v2) (local.get $open))
                            (v128.or (i8x16.eq (local.get $v2) (local.get $comma)) (i8x16.eq (local.get $v2) (local.get $colon)))))
                        (i32.shl
                          (i8x16.bitmask
                            (v128.or
                              (i8x16.eq (local.get $v3) (local.get $open))
                              (v128.or (i8x16.eq (local.get $v3) (local.get $comma)) (i8x16.eq (local.get $v3) (local.get $colon)))))
                          (i32.const 16))))
                    (i64.const 32)))))))
        (if (i64.gt_s (local.get $values) (local.get $maxValues))
          (then (return (i32.const 1))))

        (if (i64.le_s (i64.add (local.get $depth) (local.get $opened)) (local.get $maxDepth))
          (then
            ;; Even with all its opens first, the block stays within the depth limit.
            (local.set $depth
              (i64.sub (i64.add (local.get $depth) (local.get $opened)) (i64.popcnt (local.get $closes)))))
          (else
            ;; It may cross it: follow the opens and closes in order, lowest bit first.
            (local.set $both (i64.or (local.get $opens) (local.get $closes)))
            (block $walked
              (loop $walk
                (br_if $walked (i64.eqz (local.get $both)))
                (local.set $bit (i64.shl (i64.const 1) (i64.ctz (local.get $both))))
                (local.set $both (i64.xor (local.get $both) (local.get $bit)))
                (if (i64.eqz (i64.and (local.get $opens) (local.get $bit)))
                  (then (local.set $depth (i64.sub (local.get $depth) (i64.const 1))))
                  (else
                    (local.set $depth (i64.add (local.get $depth) (i64.const 1)))
                    (if (i64.gt_s (local.get $depth) (local.get $maxDepth))
                      (then (return (i32.const 1))))))
                (br $walk)))))

        (local.set $at (i32.add (local.get $at) (i32.const 64)))
        (br $block)))

    (global.set $depth (local.get $depth))
    (global.set $values (local.get $values))
    (global.set $inString (local.get $inString))
    (global.set $escapeCarry (local.get $escapeCarry))
    (i32.const 0)))
