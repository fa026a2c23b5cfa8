;; Byte kernels, as WebAssembly (with SIMD): the level-word scan of `detected_level` and the
;; token bloom filter of a block cut (ingest), substring search in a decoded block, LZ4 block
;; decoding, a block payload's line span and the flat-JSON check (query). Each answers exactly
;; what its reference answers (field-detection.ts `scanLevelWords`, bloom.ts `TokenHashSet` and
;; `bloomFromSet`, Buffer.indexOf, lz4-napi, block.ts `payloadLineSpan`), or for json_flat never vouches for a line the json parser finds in
;; error; src/wasm/kernels.test.ts and test/logql/pipeline/parsers-differential.test.ts compare them.
;;
;; Edit this file, then run `npm run wasm` to regenerate kernels.gen.ts. See README.md.
;;
;; Memory layout (the caller's data starts at DATA_BASE = 1024):
;;     0 ..  255  1 for the bytes that may follow a level word (Loki's right word boundary)
;;   256 ..  511  1 for token bytes [0-9A-Za-z]
;;   512 ..  567  level words, lower case: trace debug fatal critical error warning info
;;   600 ..  855  JSON byte classes of json_flat (1 whitespace, 2 [A-Za-z0-9_], 4 ends a bare token)
;; Every load of the level scan and the search reads 16 bytes: the caller keeps 16 bytes of
;; memory after its data.
(module
  (memory (export "memory") 1)

  (data (i32.const 0x09) "\01\01")      ;; \t \n
  (data (i32.const 0x20) "\01\01\01")   ;; space ! "
  (data (i32.const 0x27) "\01\01\01")   ;; ' ( )
  (data (i32.const 0x2c) "\01")         ;; ,
  (data (i32.const 0x3a) "\01")         ;; :
  (data (i32.const 0x3d) "\01")         ;; =
  (data (i32.const 0x5b) "\01")         ;; [
  (data (i32.const 0x5d) "\01")         ;; ]
  (data (i32.const 0x7b) "\01\01\01")   ;; { | }
  (data (i32.const 304) "\01\01\01\01\01\01\01\01\01\01")  ;; 256 + '0' .. '9'
  (data (i32.const 321) "\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01")  ;; 256 + 'A' .. 'Z'
  (data (i32.const 353) "\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01")  ;; 256 + 'a' .. 'z'
  (data (i32.const 512) "trace\00\00\00debug\00\00\00fatal\00\00\00critical")
  (data (i32.const 544) "error\00\00\00warning\00info")
  (data (i32.const 600) "\00\00\00\00\00\00\00\00\00\05\05\00\00\05\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\05\00\00\00\00\00\00\00\00\00\00\00\04\00\00\00\02\02\02\02\02\02\02\02\02\02\00\00\00\00\00\00")  ;; JSON byte classes 0x00..0x3f (json_flat)
  (data (i32.const 664) "\00\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\00\00\04\00\02\00\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\00\00\04\00\00")  ;; 0x40..0x7f

  ;; ---------------------------------------------------------------------------------------
  ;; Level words (Loki's detectLevelFromLogLine). Answers are LINE_LEVELS codes
  ;; (0 unknown, 1 trace, 2 debug, 3 info, 4 warn, 5 error, 6 critical, 7 fatal).

  ;; Whether the lower-case word at $w ($n bytes) is at $i, its first byte already matched,
  ;; ending at $e or before a right boundary byte.
  (func $word (param $i i32) (param $e i32) (param $w i32) (param $n i32) (result i32)
    (local $k i32)
    (if (i32.gt_u (i32.add (local.get $i) (local.get $n)) (local.get $e)) (then (return (i32.const 0))))
    (local.set $k (i32.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $k) (local.get $n)))
        ;; Word bytes are lower-case letters: `| 0x20` folds exactly their upper case onto them.
        (br_if $done
          (i32.ne
            (i32.or (i32.load8_u (i32.add (local.get $i) (local.get $k))) (i32.const 0x20))
            (i32.load8_u (i32.add (local.get $w) (local.get $k)))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
    (if (i32.lt_u (local.get $k) (local.get $n)) (then (return (i32.const 0))))
    (if (i32.eq (i32.add (local.get $i) (local.get $n)) (local.get $e)) (then (return (i32.const 1))))
    (i32.load8_u (i32.load8_u (i32.add (local.get $i) (local.get $n)))))

  ;; The level word starting at $i (after a left boundary), or 0.
  (func $match (param $i i32) (param $e i32) (result i32)
    (local $c i32)
    (local.set $c (i32.or (i32.load8_u (local.get $i)) (i32.const 0x20)))
    (if (i32.eq (local.get $c) (i32.const 0x74))                     ;; t
      (then (return (select (i32.const 1) (i32.const 0) (call $word (local.get $i) (local.get $e) (i32.const 512) (i32.const 5))))))
    (if (i32.eq (local.get $c) (i32.const 0x64))                     ;; d
      (then (return (select (i32.const 2) (i32.const 0) (call $word (local.get $i) (local.get $e) (i32.const 520) (i32.const 5))))))
    (if (i32.eq (local.get $c) (i32.const 0x66))                     ;; f
      (then (return (select (i32.const 7) (i32.const 0) (call $word (local.get $i) (local.get $e) (i32.const 528) (i32.const 5))))))
    (if (i32.eq (local.get $c) (i32.const 0x63))                     ;; c
      (then (return (select (i32.const 6) (i32.const 0) (call $word (local.get $i) (local.get $e) (i32.const 536) (i32.const 8))))))
    (if (i32.eq (local.get $c) (i32.const 0x65))                     ;; e: error, err
      (then (return (select (i32.const 5) (i32.const 0)
        (i32.or
          (call $word (local.get $i) (local.get $e) (i32.const 544) (i32.const 5))
          (call $word (local.get $i) (local.get $e) (i32.const 544) (i32.const 3)))))))
    (if (i32.eq (local.get $c) (i32.const 0x77))                     ;; w: warning, warn
      (then (return (select (i32.const 4) (i32.const 0)
        (i32.or
          (call $word (local.get $i) (local.get $e) (i32.const 552) (i32.const 7))
          (call $word (local.get $i) (local.get $e) (i32.const 552) (i32.const 4)))))))
    (if (i32.eq (local.get $c) (i32.const 0x69))                     ;; i
      (then (return (select (i32.const 3) (i32.const 0) (call $word (local.get $i) (local.get $e) (i32.const 560) (i32.const 4))))))
    (i32.const 0))

  ;; Bits of the bytes of a 16-byte chunk at $p that lie before $e.
  (func $valid (param $p i32) (param $e i32) (result i32)
    (local $rem i32)
    (local.set $rem (i32.sub (local.get $e) (local.get $p)))
    (if (result i32) (i32.ge_u (local.get $rem) (i32.const 16))
      (then (i32.const 0xffff))
      (else (i32.sub (i32.shl (i32.const 1) (local.get $rem)) (i32.const 1)))))

  ;; 1 when a '=' is in [$p, $e).
  (func $hasEq (param $p i32) (param $e i32) (result i32)
    (block $none
      (loop $chunk
        (br_if $none (i32.ge_u (local.get $p) (local.get $e)))
        (if (i32.and
              (i8x16.bitmask (i8x16.eq (v128.load align=1 (local.get $p)) (v128.const i8x16 0x3d 0x3d 0x3d 0x3d 0x3d 0x3d 0x3d 0x3d 0x3d 0x3d 0x3d 0x3d 0x3d 0x3d 0x3d 0x3d)))
              (call $valid (local.get $p) (local.get $e)))
          (then (return (i32.const 1))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $chunk)))
    (i32.const 0))

  ;; The level word of the line [$s, $e) that starts first, as a LINE_LEVELS code, plus 16
  ;; when the line holds a '=' anywhere. A word starts at $s or after a left boundary byte
  ;; (space \t \n [ ( { " ' = |) and is followed by a right boundary byte or the end.
  ;; Sixteen bytes at a time: candidates are word-start letters after a boundary; only those
  ;; are compared.
  (func (export "level") (param $s i32) (param $e i32) (result i32)
    (local $p i32) (local $v v128) (local $lo v128)
    (local $starts i32) (local $bounds i32) (local $valid i32)
    (local $carry i32) (local $eq i32) (local $cand i32) (local $code i32)
    (local.set $carry (i32.const 1))
    (local.set $p (local.get $s))
    (block $out
      (loop $chunk
        (br_if $out (i32.ge_u (local.get $p) (local.get $e)))
        (local.set $v (v128.load align=1 (local.get $p)))
        (local.set $lo (v128.or (local.get $v) (v128.const i8x16 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20 0x20)))
        ;; t d f c e w i, either case
        (local.set $starts (i8x16.bitmask
          (v128.or
            (v128.or
              (v128.or (i8x16.eq (local.get $lo) (i8x16.splat (i32.const 0x74))) (i8x16.eq (local.get $lo) (i8x16.splat (i32.const 0x64))))
              (v128.or (i8x16.eq (local.get $lo) (i8x16.splat (i32.const 0x66))) (i8x16.eq (local.get $lo) (i8x16.splat (i32.const 0x63)))))
            (v128.or
              (v128.or (i8x16.eq (local.get $lo) (i8x16.splat (i32.const 0x65))) (i8x16.eq (local.get $lo) (i8x16.splat (i32.const 0x77))))
              (i8x16.eq (local.get $lo) (i8x16.splat (i32.const 0x69)))))))
        ;; left boundaries: space \t \n [ ( { " ' = |
        (local.set $bounds (i8x16.bitmask
          (v128.or
            (v128.or
              (v128.or (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x20))) (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x09))))
              (v128.or (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x0a))) (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x5b)))))
            (v128.or
              (v128.or
                (v128.or (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x28))) (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x7b))))
                (v128.or (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x22))) (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x27)))))
              (v128.or (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x3d))) (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x7c))))))))
        (local.set $valid (call $valid (local.get $p) (local.get $e)))
        (local.set $eq (i32.or (local.get $eq)
          (i32.and (local.get $valid) (i8x16.bitmask (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x3d)))))))
        (local.set $cand (i32.and (i32.and (local.get $starts) (local.get $valid))
          (i32.or (i32.shl (local.get $bounds) (i32.const 1)) (local.get $carry))))
        (local.set $carry (i32.and (i32.shr_u (local.get $bounds) (i32.const 15)) (i32.const 1)))
        (block $none
          (loop $cands
            (br_if $none (i32.eqz (local.get $cand)))
            (local.set $code (call $match (i32.add (local.get $p) (i32.ctz (local.get $cand))) (local.get $e)))
            (if (local.get $code)
              (then
                (if (i32.eqz (local.get $eq))
                  (then (local.set $eq (call $hasEq (i32.add (local.get $p) (i32.const 16)) (local.get $e)))))
                (return (i32.or (local.get $code) (select (i32.const 16) (i32.const 0) (local.get $eq))))))
            (local.set $cand (i32.and (local.get $cand) (i32.sub (local.get $cand) (i32.const 1))))
            (br $cands)))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $chunk)))
    (select (i32.const 16) (i32.const 0) (local.get $eq)))

  ;; ---------------------------------------------------------------------------------------
  ;; Token hash set and bloom filter (FORMAT.md "Token bloom filter").

  ;; Open-addressing set of token hashes (0 = empty slot), at most half full.
  (global $slots (mut i32) (i32.const 0))   ;; address of the slots
  (global $cap (mut i32) (i32.const 0))     ;; slots, a power of two
  (global $tmp (mut i32) (i32.const 0))     ;; rehash scratch
  (global $size (mut i32) (i32.const 0))
  (global $limit (mut i32) (i32.const 0))
  (global $overflow (mut i32) (i32.const 0))

  ;; An empty set of $cap slots at $slots (room for them to double until the set holds $limit
  ;; hashes), with $tmp as rehash scratch (room for the largest cap before the last doubling).
  (func (export "set_init") (param $slots i32) (param $cap i32) (param $tmp i32) (param $limit i32)
    (global.set $slots (local.get $slots))
    (global.set $cap (local.get $cap))
    (global.set $tmp (local.get $tmp))
    (global.set $limit (local.get $limit))
    (global.set $size (i32.const 0))
    (global.set $overflow (i32.const 0))
    (memory.fill (local.get $slots) (i32.const 0) (i32.shl (local.get $cap) (i32.const 2))))

  (func (export "set_clear")
    (if (global.get $size)
      (then (memory.fill (global.get $slots) (i32.const 0) (i32.shl (global.get $cap) (i32.const 2)))))
    (global.set $size (i32.const 0))
    (global.set $overflow (i32.const 0)))

  (func (export "set_size") (result i32) (global.get $size))
  (func (export "set_cap") (result i32) (global.get $cap))
  (func (export "set_overflow") (result i32) (global.get $overflow))

  ;; Doubles the slots and re-inserts every hash in slot order.
  (func $grow
    (local $old i32) (local $j i32) (local $h i32) (local $p i32) (local $mask i32)
    (local.set $old (global.get $cap))
    (memory.copy (global.get $tmp) (global.get $slots) (i32.shl (local.get $old) (i32.const 2)))
    (global.set $cap (i32.shl (local.get $old) (i32.const 1)))
    (memory.fill (global.get $slots) (i32.const 0) (i32.shl (global.get $cap) (i32.const 2)))
    (local.set $mask (i32.sub (global.get $cap) (i32.const 1)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $j) (local.get $old)))
        (local.set $h (i32.load (i32.add (global.get $tmp) (i32.shl (local.get $j) (i32.const 2)))))
        (if (local.get $h)
          (then
            (local.set $p (i32.and (local.get $h) (local.get $mask)))
            (block $free
              (loop $probe
                (br_if $free (i32.eqz (i32.load (i32.add (global.get $slots) (i32.shl (local.get $p) (i32.const 2))))))
                (local.set $p (i32.and (i32.add (local.get $p) (i32.const 1)) (local.get $mask)))
                (br $probe)))
            (i32.store (i32.add (global.get $slots) (i32.shl (local.get $p) (i32.const 2))) (local.get $h))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $next))))

  ;; Adds hash $h (non-zero); 1 when the set is full ($limit hashes) and $h is new: overflow.
  (func $insert (param $h i32) (result i32)
    (local $p i32) (local $v i32) (local $mask i32) (local $at i32)
    (local.set $mask (i32.sub (global.get $cap) (i32.const 1)))
    (local.set $p (i32.and (local.get $h) (local.get $mask)))
    (loop $probe
      (local.set $at (i32.add (global.get $slots) (i32.shl (local.get $p) (i32.const 2))))
      (local.set $v (i32.load (local.get $at)))
      (if (i32.eq (local.get $v) (local.get $h)) (then (return (i32.const 0))))
      (if (i32.eqz (local.get $v))
        (then
          (if (i32.ge_u (global.get $size) (global.get $limit))
            (then
              (global.set $overflow (i32.const 1))
              (return (i32.const 1))))
          (i32.store (local.get $at) (local.get $h))
          (global.set $size (i32.add (global.get $size) (i32.const 1)))
          (if (i32.gt_u (i32.shl (global.get $size) (i32.const 1)) (global.get $cap)) (then (call $grow)))
          (return (i32.const 0))))
      (local.set $p (i32.and (i32.add (local.get $p) (i32.const 1)) (local.get $mask)))
      (br $probe))
    (unreachable))

  ;; Adds the hash of every token of lines [$lines + off[l], $lines + off[l+1]) for l < $n,
  ;; where off is the int32 array at $offs. A token is a maximal run of [0-9A-Za-z]; its hash
  ;; is FNV-1a finished with murmur3's fmix32, 0 mapped to 1. Returns the overflow flag.
  (func (export "add_lines") (param $lines i32) (param $offs i32) (param $n i32) (result i32)
    (local $l i32) (local $i i32) (local $end i32) (local $h i32) (local $o i32)
    (if (global.get $overflow) (then (return (i32.const 1))))
    (block $all
      (loop $line
        (br_if $all (i32.ge_u (local.get $l) (local.get $n)))
        (local.set $o (i32.add (local.get $offs) (i32.shl (local.get $l) (i32.const 2))))
        (local.set $i (i32.add (local.get $lines) (i32.load (local.get $o))))
        (local.set $end (i32.add (local.get $lines) (i32.load offset=4 (local.get $o))))
        (block $eol
          (loop $token
            (block $found
              (loop $skip
                (br_if $eol (i32.ge_u (local.get $i) (local.get $end)))
                (br_if $found (i32.load8_u offset=256 (i32.load8_u (local.get $i))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $skip)))
            (local.set $h (i32.const 0x811c9dc5))
            (loop $bytes
              (local.set $h (i32.mul (i32.xor (local.get $h) (i32.load8_u (local.get $i))) (i32.const 16777619)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $bytes
                (i32.and
                  (i32.lt_u (local.get $i) (local.get $end))
                  (i32.load8_u offset=256 (i32.load8_u (local.get $i))))))
            (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 16))))
            (local.set $h (i32.mul (local.get $h) (i32.const 0x85ebca6b)))
            (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 13))))
            (local.set $h (i32.mul (local.get $h) (i32.const 0xc2b2ae35)))
            (local.set $h (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 16))))
            (if (i32.eqz (local.get $h)) (then (local.set $h (i32.const 1))))
            (if (call $insert (local.get $h)) (then (return (i32.const 1))))
            (br $token)))
        (local.set $l (i32.add (local.get $l) (i32.const 1)))
        (br $line)))
    (i32.const 0))

  ;; The selected gram of every 8-byte window of lines [$lines + off[l], $lines + off[l+1]) for
  ;; l < $n (chunk/needle.ts `selectBlockGrams`), written as i32 from $out on: the order key of
  ;; the 5-gram b0..b4 is imul(x XOR imul(b4 + 1, 0x9e3779b1), 0x85ebca6b) with x = b0 | b1<<8 |
  ;; b2<<16 | b3<<24; each window of 4 grams selects the smallest key (signed), written once when
  ;; the window before it in its line selected the same key. Without a branch on that: every
  ;; key is stored and the cursor moves by 4 only for a new one (a branch taken for ~40 % of
  ;; the bytes, unpredictably, cost more than the rest of the loop). Lines under 8 bytes hold no
  ;; window. Returns the end of the list (at most one key per byte).
  (func (export "gram_keys") (param $lines i32) (param $offs i32) (param $n i32) (param $out i32) (result i32)
    (local $l i32) (local $p i32) (local $e i32) (local $o i32) (local $x i32) (local $b4 i32)
    (local $h i32) (local $h0 i32) (local $h1 i32) (local $h2 i32) (local $m i32) (local $k i32)
    (local $last i32)
    (block $all
      (loop $line
        (br_if $all (i32.ge_u (local.get $l) (local.get $n)))
        (local.set $o (i32.add (local.get $offs) (i32.shl (local.get $l) (i32.const 2))))
        (local.set $p (i32.add (local.get $lines) (i32.load (local.get $o))))
        (local.set $e (i32.add (local.get $lines) (i32.load offset=4 (local.get $o))))
        (local.set $l (i32.add (local.get $l) (i32.const 1)))
        (br_if $line (i32.lt_s (i32.sub (local.get $e) (local.get $p)) (i32.const 8)))
        ;; The first three grams of the line, then one window per further byte.
        (local.set $x (i32.load (local.get $p)))
        (local.set $h0 (call $gram (local.get $x) (i32.load8_u offset=4 (local.get $p))))
        (local.set $x (i32.load offset=1 (local.get $p)))
        (local.set $h1 (call $gram (local.get $x) (i32.load8_u offset=5 (local.get $p))))
        (local.set $x (i32.load offset=2 (local.get $p)))
        (local.set $h2 (call $gram (local.get $x) (i32.load8_u offset=6 (local.get $p))))
        (local.set $x (i32.load offset=3 (local.get $p)))
        (local.set $p (i32.add (local.get $p) (i32.const 7)))
        ;; No key equals $last before the line's first window: take the complement of its first key.
        (local.set $b4 (i32.load8_u (local.get $p)))
        (local.set $h (call $gram (local.get $x) (local.get $b4)))
        (local.set $m (select (local.get $h0) (local.get $h1) (i32.lt_s (local.get $h0) (local.get $h1))))
        (local.set $k (select (local.get $h2) (local.get $h) (i32.lt_s (local.get $h2) (local.get $h))))
        (local.set $last (i32.xor (select (local.get $k) (local.get $m) (i32.lt_s (local.get $k) (local.get $m))) (i32.const -1)))
        (loop $byte
          (local.set $b4 (i32.load8_u (local.get $p)))
          (local.set $h
            (i32.mul
              (i32.xor (local.get $x) (i32.mul (i32.add (local.get $b4) (i32.const 1)) (i32.const 0x9e3779b1)))
              (i32.const 0x85ebca6b)))
          (local.set $x (i32.or (i32.shr_u (local.get $x) (i32.const 8)) (i32.shl (local.get $b4) (i32.const 24))))
          (local.set $m (select (local.get $h0) (local.get $h1) (i32.lt_s (local.get $h0) (local.get $h1))))
          (local.set $k (select (local.get $h2) (local.get $h) (i32.lt_s (local.get $h2) (local.get $h))))
          (local.set $m (select (local.get $k) (local.get $m) (i32.lt_s (local.get $k) (local.get $m))))
          (i32.store (local.get $out) (local.get $m))
          (local.set $out (i32.add (local.get $out) (i32.shl (i32.ne (local.get $m) (local.get $last)) (i32.const 2))))
          (local.set $last (local.get $m))
          (local.set $h0 (local.get $h1))
          (local.set $h1 (local.get $h2))
          (local.set $h2 (local.get $h))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br_if $byte (i32.lt_u (local.get $p) (local.get $e))))
        (br $line)))
    (local.get $out))

  ;; The order key of the gram whose first four bytes are $x (little-endian) and fifth is $b4.
  (func $gram (param $x i32) (param $b4 i32) (result i32)
    (i32.mul
      (i32.xor (local.get $x) (i32.mul (i32.add (local.get $b4) (i32.const 1)) (i32.const 0x9e3779b1)))
      (i32.const 0x85ebca6b)))

  ;; Replaces each key of [$list, $end) by the element the filter holds, fmix32(key) with 0
  ;; mapped to 1, and marks bit (element >>> $shift) of the $mapBytes-byte bitmap at $map
  ;; (cleared first; 8·$mapBytes = 2^(32-$shift)). Returns the bitmap's count of set bits, from
  ;; which the caller estimates the distinct elements (linear counting). $mapBytes is a
  ;; multiple of 8.
  (func (export "gram_elements") (param $list i32) (param $end i32) (param $map i32) (param $mapBytes i32) (param $shift i32) (result i32)
    (local $m i32) (local $b i32) (local $at i32) (local $ones i64) (local $i i32)
    (memory.fill (local.get $map) (i32.const 0) (local.get $mapBytes))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $list) (local.get $end)))
        (local.set $m (i32.load (local.get $list)))
        (local.set $m (i32.xor (local.get $m) (i32.shr_u (local.get $m) (i32.const 16))))
        (local.set $m (i32.mul (local.get $m) (i32.const 0x85ebca6b)))
        (local.set $m (i32.xor (local.get $m) (i32.shr_u (local.get $m) (i32.const 13))))
        (local.set $m (i32.mul (local.get $m) (i32.const 0xc2b2ae35)))
        (local.set $m (i32.xor (local.get $m) (i32.shr_u (local.get $m) (i32.const 16))))
        (local.set $m (select (local.get $m) (i32.const 1) (local.get $m)))
        (i32.store (local.get $list) (local.get $m))
        (local.set $b (i32.shr_u (local.get $m) (local.get $shift)))
        (local.set $at (i32.add (local.get $map) (i32.shr_u (local.get $b) (i32.const 3))))
        (i32.store8 (local.get $at)
          (i32.or (i32.load8_u (local.get $at)) (i32.shl (i32.const 1) (i32.and (local.get $b) (i32.const 7)))))
        (local.set $list (i32.add (local.get $list) (i32.const 4)))
        (br $next)))
    (block $counted
      (loop $word
        (br_if $counted (i32.ge_u (local.get $i) (local.get $mapBytes)))
        (local.set $ones (i64.add (local.get $ones) (i64.popcnt (i64.load (i32.add (local.get $map) (local.get $i))))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $word)))
    (i32.wrap_i64 (local.get $ones)))

  ;; Writes the set's hashes as a list from $out on; returns its end.
  (func (export "set_list") (param $out i32) (result i32)
    (local $j i32) (local $x i32)
    (block $done
      (loop $slot
        (br_if $done (i32.ge_u (local.get $j) (global.get $cap)))
        (local.set $x (i32.load (i32.add (global.get $slots) (i32.shl (local.get $j) (i32.const 2)))))
        (i32.store (local.get $out) (local.get $x))
        (local.set $out (i32.add (local.get $out) (i32.shl (i32.ne (local.get $x) (i32.const 0)) (i32.const 2))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $slot)))
    (local.get $out))

  ;; Writes the filter of the hashes in [$list, $end) ($bytes bytes at $out, $k probes per
  ;; hash; a hash listed twice sets the same bits): bit floor(x·m / 2^32) for x = h + j·rotr(h,
  ;; 17) (mod 2^32), j < $k, m = 8·$bytes.
  (func (export "bloom_build") (param $out i32) (param $bytes i32) (param $k i32) (param $list i32) (param $end i32)
    (local $x i32) (local $delta i32) (local $q i32) (local $b i32) (local $m i64) (local $at i32)
    (memory.fill (local.get $out) (i32.const 0) (local.get $bytes))
    (local.set $m (i64.shl (i64.extend_i32_u (local.get $bytes)) (i64.const 3)))
    (block $done
      (loop $hash
        (br_if $done (i32.ge_u (local.get $list) (local.get $end)))
        (local.set $x (i32.load (local.get $list)))
        (local.set $delta (i32.rotr (local.get $x) (i32.const 17)))
        (local.set $q (i32.const 0))
        (block $probes
          (loop $probe
            (br_if $probes (i32.ge_u (local.get $q) (local.get $k)))
            (local.set $b (i32.wrap_i64 (i64.shr_u (i64.mul (i64.extend_i32_u (local.get $x)) (local.get $m)) (i64.const 32))))
            (local.set $at (i32.add (local.get $out) (i32.shr_u (local.get $b) (i32.const 3))))
            (i32.store8 (local.get $at)
              (i32.or (i32.load8_u (local.get $at)) (i32.shl (i32.const 1) (i32.and (local.get $b) (i32.const 7)))))
            (local.set $x (i32.add (local.get $x) (local.get $delta)))
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (br $probe)))
        (local.set $list (i32.add (local.get $list) (i32.const 4)))
        (br $hash))))

  ;; ---------------------------------------------------------------------------------------
  ;; Substring search (querier line filters). The answer is Buffer.indexOf's on the block, or
  ;; on the block with ASCII A-Z lower-cased when $fold is 1 (the needle is then lower case).

  ;; The first $p in [$s, $e - $len] where the $len bytes at $nd occur, or -1; $len >= 1.
  ;; Sixteen candidate starts at a time: a start is a candidate when the needle's first byte is
  ;; at it and its last byte $len - 1 later (two common bytes together are rare), and only
  ;; candidates are compared. Loads reach 15 bytes past $e.
  (func (export "find") (param $s i32) (param $e i32) (param $nd i32) (param $len i32) (param $fold i32) (result i32)
    (local $p i32) (local $last i32) (local $first v128) (local $lastb v128) (local $v v128) (local $w v128)
    (local $bit v128) (local $foldb i32) (local $b i32)
    (local $cand i32) (local $q i32) (local $k i32)
    (if (i32.lt_s (i32.sub (local.get $e) (local.get $s)) (local.get $len)) (then (return (i32.const -1))))
    (local.set $last (i32.sub (local.get $e) (local.get $len)))
    (local.set $first (i8x16.splat (i32.load8_u (local.get $nd))))
    (local.set $lastb (i8x16.splat (i32.load8_u (i32.add (local.get $nd) (i32.sub (local.get $len) (i32.const 1))))))
    ;; 0x20 when folding: or-ed into upper-case letters only.
    (local.set $foldb (select (i32.const 0x20) (i32.const 0) (local.get $fold)))
    (local.set $bit (i8x16.splat (local.get $foldb)))
    (local.set $p (local.get $s))
    (block $out
      (loop $chunk
        (br_if $out (i32.gt_u (local.get $p) (local.get $last)))
        (local.set $v (v128.load align=1 (local.get $p)))
        (local.set $w (v128.load align=1 (i32.add (local.get $p) (i32.sub (local.get $len) (i32.const 1)))))
        (local.set $v (v128.or (local.get $v) (v128.and (local.get $bit)
          (i8x16.lt_u (i8x16.sub (local.get $v) (i8x16.splat (i32.const 0x41))) (i8x16.splat (i32.const 26))))))
        (local.set $w (v128.or (local.get $w) (v128.and (local.get $bit)
          (i8x16.lt_u (i8x16.sub (local.get $w) (i8x16.splat (i32.const 0x41))) (i8x16.splat (i32.const 26))))))
        (local.set $cand (i8x16.bitmask (v128.and
          (i8x16.eq (local.get $v) (local.get $first))
          (i8x16.eq (local.get $w) (local.get $lastb)))))
        ;; Starts past $last are not candidates.
        (if (i32.lt_u (i32.sub (local.get $last) (local.get $p)) (i32.const 15))
          (then (local.set $cand (i32.and (local.get $cand)
            (i32.sub (i32.shl (i32.const 1) (i32.add (i32.sub (local.get $last) (local.get $p)) (i32.const 1))) (i32.const 1))))))
        (block $none
          (loop $cands
            (br_if $none (i32.eqz (local.get $cand)))
            (local.set $q (i32.add (local.get $p) (i32.ctz (local.get $cand))))
            (local.set $k (i32.const 1))
            (block $differs
              (loop $cmp
                (if (i32.ge_u (local.get $k) (local.get $len)) (then (return (local.get $q))))
                (local.set $b (i32.load8_u (i32.add (local.get $q) (local.get $k))))
                (if (i32.lt_u (i32.sub (local.get $b) (i32.const 0x41)) (i32.const 26))
                  (then (local.set $b (i32.or (local.get $b) (local.get $foldb)))))
                (br_if $differs (i32.ne (local.get $b) (i32.load8_u (i32.add (local.get $nd) (local.get $k)))))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $cmp)))
            (local.set $cand (i32.and (local.get $cand) (i32.sub (local.get $cand) (i32.const 1))))
            (br $cands)))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $chunk)))
    (i32.const -1))

  ;; ---------------------------------------------------------------------------------------
  ;; The lines of a block payload (chunk/block.ts payloadLineSpan, which stays the definition):
  ;; from $p, $n - 1 timestamp deltas (the first entry's offset, 0, is read by the caller), then
  ;; $n line lengths, as uvarints of at most 8 bytes. $lo and $hi count the entries whose offset
  ;; (the running sum of the deltas) is under $startRel and under $endRel; $from and $to are
  ;; their lines' byte offsets within the lines. Writes lo, hi, from, to and the lines' total
  ;; bytes (i32 each) at $out; answers where the lines start, or -1 when a varint runs past $e
  ;; or over 8 bytes, an offset passes 2^53, the last offset is not $span, a length is over
  ;; $maxLine, or the lines run past $e.

  (global $vpos (mut i32) (i32.const 0))   ;; where $varint stopped

  ;; The uvarint at $p (at most 8 bytes, before $e), setting $vpos past it; -1 when it breaks.
  (func $varint (param $p i32) (param $e i32) (result i64)
    (local $c i32) (local $v i64) (local $shift i64)
    (loop $next
      (if (i32.ge_u (local.get $p) (local.get $e)) (then (return (i64.const -1))))
      (if (i64.gt_u (local.get $shift) (i64.const 49)) (then (return (i64.const -1))))
      (local.set $c (i32.load8_u (local.get $p)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (local.set $v (i64.or (local.get $v)
        (i64.shl (i64.extend_i32_u (i32.and (local.get $c) (i32.const 0x7f))) (local.get $shift))))
      (local.set $shift (i64.add (local.get $shift) (i64.const 7)))
      (br_if $next (i32.ge_u (local.get $c) (i32.const 0x80))))
    (global.set $vpos (local.get $p))
    (local.get $v))

  (func (export "line_span") (param $p i32) (param $e i32) (param $n i32) (param $startRel f64) (param $endRel f64)
        (param $span f64) (param $maxLine i32) (param $out i32) (result i32)
    (local $i i32) (local $v i64) (local $ts i64) (local $tsf f64) (local $lo i32) (local $hi i32)
    (local $bytes i64) (local $from i64) (local $to i64)
    (local.set $lo (select (i32.const 1) (i32.const 0) (f64.lt (f64.const 0) (local.get $startRel))))
    (local.set $hi (select (i32.const 1) (i32.const 0) (f64.lt (f64.const 0) (local.get $endRel))))
    (local.set $i (i32.const 1))
    (block $tsDone
      (loop $tsLoop
        (br_if $tsDone (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $v (call $varint (local.get $p) (local.get $e)))
        (if (i64.lt_s (local.get $v) (i64.const 0)) (then (return (i32.const -1))))
        (local.set $p (global.get $vpos))
        (local.set $ts (i64.add (local.get $ts) (local.get $v)))
        (if (i64.gt_u (local.get $ts) (i64.const 9007199254740992)) (then (return (i32.const -1))))
        (local.set $tsf (f64.convert_i64_u (local.get $ts)))
        (if (f64.lt (local.get $tsf) (local.get $startRel)) (then (local.set $lo (i32.add (local.get $lo) (i32.const 1)))))
        (if (f64.lt (local.get $tsf) (local.get $endRel)) (then (local.set $hi (i32.add (local.get $hi) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tsLoop)))
    (if (f64.ne (f64.convert_i64_u (local.get $ts)) (local.get $span)) (then (return (i32.const -1))))
    (local.set $i (i32.const 0))
    (block $lenDone
      (loop $lenLoop
        (br_if $lenDone (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $v (call $varint (local.get $p) (local.get $e)))
        (if (i64.lt_s (local.get $v) (i64.const 0)) (then (return (i32.const -1))))
        (if (i64.gt_u (local.get $v) (i64.extend_i32_u (local.get $maxLine))) (then (return (i32.const -1))))
        (local.set $p (global.get $vpos))
        (if (i32.eq (local.get $i) (local.get $lo)) (then (local.set $from (local.get $bytes))))
        (if (i32.eq (local.get $i) (local.get $hi)) (then (local.set $to (local.get $bytes))))
        (local.set $bytes (i64.add (local.get $bytes) (local.get $v)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $lenLoop)))
    (if (i32.eq (local.get $lo) (local.get $n)) (then (local.set $from (local.get $bytes))))
    (if (i32.eq (local.get $hi) (local.get $n)) (then (local.set $to (local.get $bytes))))
    (if (i64.gt_u (local.get $bytes) (i64.extend_i32_u (i32.sub (local.get $e) (local.get $p)))) (then (return (i32.const -1))))
    (i32.store (local.get $out) (local.get $lo))
    (i32.store offset=4 (local.get $out) (local.get $hi))
    (i32.store offset=8 (local.get $out) (i32.wrap_i64 (local.get $from)))
    (i32.store offset=12 (local.get $out) (i32.wrap_i64 (local.get $to)))
    (i32.store offset=16 (local.get $out) (i32.wrap_i64 (local.get $bytes)))
    (local.get $p))

  ;; ---------------------------------------------------------------------------------------
  ;; LZ4 block decoding (chunk blocks written with the lz4 codec, read by the querier).

  ;; Decodes the LZ4 block [$ip, $ie) into [$op, $oe); answers the bytes written, or -1 when the
  ;; block is malformed: a length or offset that leaves its buffer, an offset of 0 or before $op,
  ;; or a block that does not end with a literal run. Output past what is decoded is never read.
  ;; Short literal runs and matches at least 16 bytes back are copied 16 bytes at a time, so
  ;; stores reach 15 bytes past $oe and loads 16 bytes past $ie: the caller keeps that room.
  (func (export "lz4") (param $ip i32) (param $ie i32) (param $op i32) (param $oe i32) (result i32)
    (local $o0 i32) (local $tok i32) (local $len i32) (local $off i32) (local $n i32) (local $src i32) (local $b i32)
    (local.set $o0 (local.get $op))
    (block $err
      (loop $next
        (br_if $err (i32.ge_u (local.get $ip) (local.get $ie)))
        (local.set $tok (i32.load8_u (local.get $ip)))
        (local.set $ip (i32.add (local.get $ip) (i32.const 1)))
        (local.set $len (i32.shr_u (local.get $tok) (i32.const 4)))
        (if (i32.eq (local.get $len) (i32.const 15))
          (then
            (loop $ext
              (br_if $err (i32.ge_u (local.get $ip) (local.get $ie)))
              (local.set $b (i32.load8_u (local.get $ip)))
              (local.set $ip (i32.add (local.get $ip) (i32.const 1)))
              (local.set $len (i32.add (local.get $len) (local.get $b)))
              (br_if $err (i32.gt_u (local.get $len) (i32.sub (local.get $oe) (local.get $op))))
              (br_if $ext (i32.eq (local.get $b) (i32.const 255))))))
        (br_if $err (i32.gt_u (local.get $len) (i32.sub (local.get $ie) (local.get $ip))))
        (br_if $err (i32.gt_u (local.get $len) (i32.sub (local.get $oe) (local.get $op))))
        (if (i32.le_u (local.get $len) (i32.const 16))
          (then (v128.store (local.get $op) (v128.load (local.get $ip))))
          (else (memory.copy (local.get $op) (local.get $ip) (local.get $len))))
        (local.set $op (i32.add (local.get $op) (local.get $len)))
        (local.set $ip (i32.add (local.get $ip) (local.get $len)))
        (if (i32.eq (local.get $ip) (local.get $ie))
          (then (return (i32.sub (local.get $op) (local.get $o0)))))
        (br_if $err (i32.gt_u (i32.const 2) (i32.sub (local.get $ie) (local.get $ip))))
        (local.set $off (i32.load16_u (local.get $ip)))
        (local.set $ip (i32.add (local.get $ip) (i32.const 2)))
        (local.set $len (i32.and (local.get $tok) (i32.const 15)))
        (if (i32.eq (local.get $len) (i32.const 15))
          (then
            (loop $ext2
              (br_if $err (i32.ge_u (local.get $ip) (local.get $ie)))
              (local.set $b (i32.load8_u (local.get $ip)))
              (local.set $ip (i32.add (local.get $ip) (i32.const 1)))
              (local.set $len (i32.add (local.get $len) (local.get $b)))
              (br_if $err (i32.gt_u (local.get $len) (i32.sub (local.get $oe) (local.get $op))))
              (br_if $ext2 (i32.eq (local.get $b) (i32.const 255))))))
        (local.set $len (i32.add (local.get $len) (i32.const 4)))
        (br_if $err (i32.eqz (local.get $off)))
        (br_if $err (i32.gt_u (local.get $off) (i32.sub (local.get $op) (local.get $o0))))
        (br_if $err (i32.gt_u (local.get $len) (i32.sub (local.get $oe) (local.get $op))))
        (local.set $src (i32.sub (local.get $op) (local.get $off)))
        (if (i32.ge_u (local.get $off) (i32.const 16))
          (then
            (v128.store (local.get $op) (v128.load (local.get $src)))
            (if (i32.gt_u (local.get $len) (i32.const 16))
              (then
                (local.set $n (i32.const 16))
                (loop $c16
                  (v128.store (i32.add (local.get $op) (local.get $n)) (v128.load (i32.add (local.get $src) (local.get $n))))
                  (local.set $n (i32.add (local.get $n) (i32.const 16)))
                  (br_if $c16 (i32.lt_u (local.get $n) (local.get $len)))))))
          (else
            (local.set $n (i32.const 0))
            (loop $c1
              (i32.store8 (i32.add (local.get $op) (local.get $n)) (i32.load8_u (i32.add (local.get $src) (local.get $n))))
              (local.set $n (i32.add (local.get $n) (i32.const 1)))
              (br_if $c1 (i32.lt_u (local.get $n) (local.get $len))))))
        (local.set $op (i32.add (local.get $op) (local.get $len)))
        (br $next)))
    (i32.const -1))

  ;; ---------------------------------------------------------------------------------------
  ;; Flat JSON objects (stage-json.ts JsonParserStage when no label can come out of a line):
  ;; 1 when the line [$p, $e) is an object the parser reads to its end without an error and
  ;; whose every key is a plain label name (non-empty, [A-Za-z0-9_], not starting with a digit,
  ;; no escape) with a string, number, true/false/null or array value, or with $objects = 1 (the
  ;; parser wants no label, so it descends into no object) also an object value; 0 otherwise,
  ;; which includes every case this kernel leaves to the parser (objects when $objects = 0,
  ;; other keys). Values are checked only as far as the parser checks them (json-scan.ts):
  ;; strings to their closing quote (a backslash skips the next byte), arrays and skipped objects
  ;; to their matching bracket or brace (strings inside skipped), bare tokens to a delimiter,
  ;; then by their first byte or exact word.
  ;; Byte classes at 600 + byte: 1 JSON whitespace, 2 [A-Za-z0-9_], 4 ends a bare token.
  ;; Whitespace runs are skipped inline (blocks $w1..$w6): a call per run cost more than the run.

  ;; $p just after an opening quote: index of the closing quote, or -1 (json-scan.ts stringEnd:
  ;; a backslash skips the byte after it). 16 bytes at a time: the caller keeps 16 bytes of
  ;; memory after $e, and a quote found at or past $e is not in the line.
  (func $jstr (param $p i32) (param $e i32) (result i32)
    (local $m i32) (local $v v128)
    (loop $next
      (if (i32.ge_u (local.get $p) (local.get $e)) (then (return (i32.const -1))))
      (local.set $v (v128.load (local.get $p)))
      (local.set $m (i8x16.bitmask (v128.or
        (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x22)))
        (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x5c))))))
      (if (i32.eqz (local.get $m))
        (then
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (br $next)))
      (local.set $p (i32.add (local.get $p) (i32.ctz (local.get $m))))
      (if (i32.ge_u (local.get $p) (local.get $e)) (then (return (i32.const -1))))
      (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 0x22)) (then (return (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 2)))
      (br $next))
    (i32.const -1))

  ;; $p at $open ('[' or '{'): index just after the matching $close (strings skipped), or -1
  ;; (json-scan.ts blockEnd).
  (func $jblock (param $p i32) (param $e i32) (param $open i32) (param $close i32) (result i32)
    (local $c i32) (local $level i32)
    (loop $next
      (if (i32.ge_u (local.get $p) (local.get $e)) (then (return (i32.const -1))))
      (local.set $c (i32.load8_u (local.get $p)))
      (if (i32.eq (local.get $c) (i32.const 0x22))
        (then
          (local.set $p (call $jstr (i32.add (local.get $p) (i32.const 1)) (local.get $e)))
          (if (i32.lt_s (local.get $p) (i32.const 0)) (then (return (i32.const -1)))))
        (else
          (if (i32.eq (local.get $c) (local.get $open))
            (then (local.set $level (i32.add (local.get $level) (i32.const 1))))
            (else
              (if (i32.eq (local.get $c) (local.get $close))
                (then
                  (local.set $level (i32.sub (local.get $level) (i32.const 1)))
                  (if (i32.eqz (local.get $level)) (then (return (i32.add (local.get $p) (i32.const 1)))))))))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $next))
    (i32.const -1))

  (func (export "json_flat") (param $p i32) (param $e i32) (param $objects i32) (result i32)
    (local $c i32) (local $q i32) (local $ks i32) (local $n i32)
    (block $w1
      (loop $wl1
        (br_if $w1 (i32.ge_u (local.get $p) (local.get $e)))
        (br_if $w1 (i32.eqz (i32.and (i32.load8_u offset=600 (i32.load8_u (local.get $p))) (i32.const 1))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $wl1)))
    (if (i32.ge_u (local.get $p) (local.get $e)) (then (return (i32.const 0))))
    (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x7b)) (then (return (i32.const 0))))
    (local.set $p (i32.add (local.get $p) (i32.const 1)))
    (block $w2
      (loop $wl2
        (br_if $w2 (i32.ge_u (local.get $p) (local.get $e)))
        (br_if $w2 (i32.eqz (i32.and (i32.load8_u offset=600 (i32.load8_u (local.get $p))) (i32.const 1))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $wl2)))
    (if (i32.ge_u (local.get $p) (local.get $e)) (then (return (i32.const 0))))
    (loop $member
      (local.set $c (i32.load8_u (local.get $p)))
      (if (i32.eq (local.get $c) (i32.const 0x7d)) (then (return (i32.const 1))))
      (if (i32.ne (local.get $c) (i32.const 0x22)) (then (return (i32.const 0))))
      ;; The key: identifier bytes up to the closing quote, at least one, not a digit first.
      (local.set $ks (i32.add (local.get $p) (i32.const 1)))
      (local.set $q (local.get $ks))
      (if (i32.ge_u (local.get $q) (local.get $e)) (then (return (i32.const 0))))
      (if (i32.lt_u (i32.sub (i32.load8_u (local.get $q)) (i32.const 0x30)) (i32.const 10)) (then (return (i32.const 0))))
      (block $keyEnd
        (loop $key
          (br_if $keyEnd (i32.ge_u (local.get $q) (local.get $e)))
          (br_if $keyEnd (i32.eqz (i32.and (i32.load8_u offset=600 (i32.load8_u (local.get $q))) (i32.const 2))))
          (local.set $q (i32.add (local.get $q) (i32.const 1)))
          (br $key)))
      (if (i32.ge_u (local.get $q) (local.get $e)) (then (return (i32.const 0))))
      (if (i32.ne (i32.load8_u (local.get $q)) (i32.const 0x22)) (then (return (i32.const 0))))
      (if (i32.eq (local.get $q) (local.get $ks)) (then (return (i32.const 0))))
      (local.set $p (i32.add (local.get $q) (i32.const 1)))
      (block $w3
        (loop $wl3
          (br_if $w3 (i32.ge_u (local.get $p) (local.get $e)))
          (br_if $w3 (i32.eqz (i32.and (i32.load8_u offset=600 (i32.load8_u (local.get $p))) (i32.const 1))))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br $wl3)))
      (if (i32.ge_u (local.get $p) (local.get $e)) (then (return (i32.const 0))))
      (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x3a)) (then (return (i32.const 0))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (block $w4
        (loop $wl4
          (br_if $w4 (i32.ge_u (local.get $p) (local.get $e)))
          (br_if $w4 (i32.eqz (i32.and (i32.load8_u offset=600 (i32.load8_u (local.get $p))) (i32.const 1))))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br $wl4)))
      (if (i32.ge_u (local.get $p) (local.get $e)) (then (return (i32.const 0))))
      ;; The value.
      (local.set $c (i32.load8_u (local.get $p)))
      (if (i32.eq (local.get $c) (i32.const 0x22))
        (then
          (local.set $q (call $jstr (i32.add (local.get $p) (i32.const 1)) (local.get $e)))
          (if (i32.lt_s (local.get $q) (i32.const 0)) (then (return (i32.const 0))))
          (local.set $p (i32.add (local.get $q) (i32.const 1))))
        (else
          (if (i32.and (i32.eq (local.get $c) (i32.const 0x7b)) (i32.eqz (local.get $objects))) (then (return (i32.const 0))))
          ;; '[' + 2 = ']', '{' + 2 = '}'.
          (if (i32.or (i32.eq (local.get $c) (i32.const 0x5b)) (i32.eq (local.get $c) (i32.const 0x7b)))
            (then
              (local.set $p (call $jblock (local.get $p) (local.get $e) (local.get $c) (i32.add (local.get $c) (i32.const 2))))
              (if (i32.lt_s (local.get $p) (i32.const 0)) (then (return (i32.const 0)))))
            (else
              ;; A bare token runs to a delimiter (json-scan.ts tokenEnd).
              (local.set $q (local.get $p))
              (block $tokEnd
                (loop $tok
                  (br_if $tokEnd (i32.ge_u (local.get $q) (local.get $e)))
                  (br_if $tokEnd (i32.and (i32.load8_u offset=600 (i32.load8_u (local.get $q))) (i32.const 4)))
                  (local.set $q (i32.add (local.get $q) (i32.const 1)))
                  (br $tok)))
              (local.set $n (i32.sub (local.get $q) (local.get $p)))
              ;; A number by its first byte; true, false, null exactly (json-scan.ts tokenKind).
              (if (i32.eqz (i32.or
                    (i32.lt_u (i32.sub (local.get $c) (i32.const 0x30)) (i32.const 10))
                    (i32.eq (local.get $c) (i32.const 0x2d))))
                (then
                  (if (i32.eq (local.get $c) (i32.const 0x74))
                    (then
                      (if (i32.or (i32.ne (local.get $n) (i32.const 4))
                            (i32.ne (i32.load (local.get $p)) (i32.const 0x65757274)))  ;; "true"
                        (then (return (i32.const 0)))))
                    (else
                      (if (i32.eq (local.get $c) (i32.const 0x66))
                        (then
                          (if (i32.or (i32.ne (local.get $n) (i32.const 5))
                                (i32.ne (i32.load (i32.add (local.get $p) (i32.const 1))) (i32.const 0x65736c61)))  ;; "alse"
                            (then (return (i32.const 0)))))
                        (else
                          (if (i32.eq (local.get $c) (i32.const 0x6e))
                            (then
                              (if (i32.or (i32.ne (local.get $n) (i32.const 4))
                                    (i32.ne (i32.load (local.get $p)) (i32.const 0x6c6c756e)))  ;; "null"
                                (then (return (i32.const 0)))))
                            (else (return (i32.const 0))))))))))
              (local.set $p (local.get $q))))))
      ;; After the value: '}' ends the object, ',' starts the next member.
      (block $w5
        (loop $wl5
          (br_if $w5 (i32.ge_u (local.get $p) (local.get $e)))
          (br_if $w5 (i32.eqz (i32.and (i32.load8_u offset=600 (i32.load8_u (local.get $p))) (i32.const 1))))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br $wl5)))
      (if (i32.ge_u (local.get $p) (local.get $e)) (then (return (i32.const 0))))
      (local.set $c (i32.load8_u (local.get $p)))
      (if (i32.eq (local.get $c) (i32.const 0x7d)) (then (return (i32.const 1))))
      (if (i32.ne (local.get $c) (i32.const 0x2c)) (then (return (i32.const 0))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (block $w6
        (loop $wl6
          (br_if $w6 (i32.ge_u (local.get $p) (local.get $e)))
          (br_if $w6 (i32.eqz (i32.and (i32.load8_u offset=600 (i32.load8_u (local.get $p))) (i32.const 1))))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br $wl6)))
      (if (i32.ge_u (local.get $p) (local.get $e)) (then (return (i32.const 0))))
      (br $member))
    (i32.const 0))
)
