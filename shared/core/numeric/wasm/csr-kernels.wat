;; Sparse × dense kernels over a CSR block, in WebAssembly: the same sums, term by term and in the same
;; order, as sparse-kernels.ts (each a multiply, then an add, rounded: the same bits), about twice as fast
;; as V8's code for the typed-array loops there. Compiled into csr-kernels-binary.ts by
;; `npm run build:wasm`; test/numeric/wasm-kernels checks the two agree.
;;
;; Arguments are byte offsets into the imported memory: row pointers (int32, rows + 1 of them, positions
;; counted from the start of the column indices and values), column indices (int32), values (float64),
;; the dense source and destination (float64, row-major), the row count and K (the dense matrices'
;; columns).
(module
  (memory (import "env" "memory") 1 65536)

  ;; dst (rows × 3) = X · src (cols × 3)
  (func (export "spmm3") (param $ip i32) (param $ix i32) (param $d i32) (param $src i32) (param $dst i32) (param $rows i32)
    (local $i i32) (local $p i32) (local $end i32) (local $v f64) (local $b i32)
    (local $r0 f64) (local $r1 f64) (local $r2 f64)
    (block $done (loop $row
      (br_if $done (i32.ge_u (local.get $i) (local.get $rows)))
      (local.set $p (i32.load (i32.add (local.get $ip) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $end (i32.load offset=4 (i32.add (local.get $ip) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $r0 (f64.const 0))
      (local.set $r1 (f64.const 0))
      (local.set $r2 (f64.const 0))
      (block $rowDone (loop $entry
        (br_if $rowDone (i32.ge_s (local.get $p) (local.get $end)))
        (local.set $v (f64.load (i32.add (local.get $d) (i32.shl (local.get $p) (i32.const 3)))))
        (local.set $b (i32.add (local.get $src)
          (i32.mul (i32.load (i32.add (local.get $ix) (i32.shl (local.get $p) (i32.const 2)))) (i32.const 24))))
        (local.set $r0 (f64.add (local.get $r0) (f64.mul (local.get $v) (f64.load (local.get $b)))))
        (local.set $r1 (f64.add (local.get $r1) (f64.mul (local.get $v) (f64.load offset=8 (local.get $b)))))
        (local.set $r2 (f64.add (local.get $r2) (f64.mul (local.get $v) (f64.load offset=16 (local.get $b)))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $entry)))
      (local.set $b (i32.add (local.get $dst) (i32.mul (local.get $i) (i32.const 24))))
      (f64.store (local.get $b) (local.get $r0))
      (f64.store offset=8 (local.get $b) (local.get $r1))
      (f64.store offset=16 (local.get $b) (local.get $r2))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $row))))

  ;; dst (cols × 3) += Xᵀ · src (rows × 3), scattered over X's rows in ascending order
  (func (export "spmmT3") (param $ip i32) (param $ix i32) (param $d i32) (param $src i32) (param $dst i32) (param $rows i32)
    (local $i i32) (local $p i32) (local $end i32) (local $v f64) (local $o i32)
    (local $s0 f64) (local $s1 f64) (local $s2 f64)
    (block $done (loop $row
      (br_if $done (i32.ge_u (local.get $i) (local.get $rows)))
      (local.set $p (i32.load (i32.add (local.get $ip) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $end (i32.load offset=4 (i32.add (local.get $ip) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $o (i32.add (local.get $src) (i32.mul (local.get $i) (i32.const 24))))
      (local.set $s0 (f64.load (local.get $o)))
      (local.set $s1 (f64.load offset=8 (local.get $o)))
      (local.set $s2 (f64.load offset=16 (local.get $o)))
      (block $rowDone (loop $entry
        (br_if $rowDone (i32.ge_s (local.get $p) (local.get $end)))
        (local.set $v (f64.load (i32.add (local.get $d) (i32.shl (local.get $p) (i32.const 3)))))
        (local.set $o (i32.add (local.get $dst)
          (i32.mul (i32.load (i32.add (local.get $ix) (i32.shl (local.get $p) (i32.const 2)))) (i32.const 24))))
        (f64.store (local.get $o) (f64.add (f64.load (local.get $o)) (f64.mul (local.get $v) (local.get $s0))))
        (f64.store offset=8 (local.get $o)
          (f64.add (f64.load offset=8 (local.get $o)) (f64.mul (local.get $v) (local.get $s1))))
        (f64.store offset=16 (local.get $o)
          (f64.add (f64.load offset=16 (local.get $o)) (f64.mul (local.get $v) (local.get $s2))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $entry)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $row))))

  ;; dst (rows × K) = X · src (cols × K), any K (each row's sums kept in dst)
  (func (export "spmm") (param $ip i32) (param $ix i32) (param $d i32) (param $src i32) (param $dst i32) (param $rows i32) (param $k i32)
    (local $i i32) (local $p i32) (local $end i32) (local $v f64) (local $b i32) (local $o i32) (local $c i32) (local $rowBytes i32)
    (local.set $rowBytes (i32.shl (local.get $k) (i32.const 3)))
    (local.set $o (local.get $dst))
    (block $done (loop $row
      (br_if $done (i32.ge_u (local.get $i) (local.get $rows)))
      (local.set $p (i32.load (i32.add (local.get $ip) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $end (i32.load offset=4 (i32.add (local.get $ip) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $c (i32.const 0))
      (block $zeroed (loop $zero
        (br_if $zeroed (i32.ge_u (local.get $c) (local.get $rowBytes)))
        (f64.store (i32.add (local.get $o) (local.get $c)) (f64.const 0))
        (local.set $c (i32.add (local.get $c) (i32.const 8)))
        (br $zero)))
      (block $rowDone (loop $entry
        (br_if $rowDone (i32.ge_s (local.get $p) (local.get $end)))
        (local.set $v (f64.load (i32.add (local.get $d) (i32.shl (local.get $p) (i32.const 3)))))
        (local.set $b (i32.add (local.get $src)
          (i32.mul (i32.load (i32.add (local.get $ix) (i32.shl (local.get $p) (i32.const 2)))) (local.get $rowBytes))))
        (local.set $c (i32.const 0))
        (block $colsDone (loop $col
          (br_if $colsDone (i32.ge_u (local.get $c) (local.get $rowBytes)))
          (f64.store (i32.add (local.get $o) (local.get $c))
            (f64.add (f64.load (i32.add (local.get $o) (local.get $c)))
              (f64.mul (local.get $v) (f64.load (i32.add (local.get $b) (local.get $c))))))
          (local.set $c (i32.add (local.get $c) (i32.const 8)))
          (br $col)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $entry)))
      (local.set $o (i32.add (local.get $o) (local.get $rowBytes)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $row))))

  ;; dst (cols × K) += Xᵀ · src (rows × K), any K, scattered over X's rows in ascending order
  (func (export "spmmT") (param $ip i32) (param $ix i32) (param $d i32) (param $src i32) (param $dst i32) (param $rows i32) (param $k i32)
    (local $i i32) (local $p i32) (local $end i32) (local $v f64) (local $a i32) (local $o i32) (local $c i32) (local $rowBytes i32)
    (local.set $rowBytes (i32.shl (local.get $k) (i32.const 3)))
    (local.set $a (local.get $src))
    (block $done (loop $row
      (br_if $done (i32.ge_u (local.get $i) (local.get $rows)))
      (local.set $p (i32.load (i32.add (local.get $ip) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $end (i32.load offset=4 (i32.add (local.get $ip) (i32.shl (local.get $i) (i32.const 2)))))
      (block $rowDone (loop $entry
        (br_if $rowDone (i32.ge_s (local.get $p) (local.get $end)))
        (local.set $v (f64.load (i32.add (local.get $d) (i32.shl (local.get $p) (i32.const 3)))))
        (local.set $o (i32.add (local.get $dst)
          (i32.mul (i32.load (i32.add (local.get $ix) (i32.shl (local.get $p) (i32.const 2)))) (local.get $rowBytes))))
        (local.set $c (i32.const 0))
        (block $colsDone (loop $col
          (br_if $colsDone (i32.ge_u (local.get $c) (local.get $rowBytes)))
          (f64.store (i32.add (local.get $o) (local.get $c))
            (f64.add (f64.load (i32.add (local.get $o) (local.get $c)))
              (f64.mul (local.get $v) (f64.load (i32.add (local.get $a) (local.get $c))))))
          (local.set $c (i32.add (local.get $c) (i32.const 8)))
          (br $col)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $entry)))
      (local.set $a (i32.add (local.get $a) (local.get $rowBytes)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $row))))
)
