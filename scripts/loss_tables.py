#!/usr/bin/env python3
"""Writes docs/LOSSES.md, the measured tables of the losses, from the JSON lines of the
`loss_ulp` and `speed` examples:

    cargo run --release --example loss_ulp > loss_ulp.json
    S="taskset -c 0 target/release/examples/speed --json --threads 1"
    $S --sizes 1048576,16777216 --kernels mse,l1,huber,smooth_l1,bce,bce_with_logits,kl_div > speed.json
    $S --sizes 1024000,8192000 --kernels cross_entropy >> speed.json
    python3 scripts/loss_tables.py loss_ulp.json speed.json > docs/LOSSES.md

The machine (CPU model), date and commit come from this machine and the repository.
"""
import os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rows_tables import accuracy_table, header, lines, speed_table  # noqa: E402

ulp, speed = lines(sys.argv[1]), lines(sys.argv[2])
header("Losses: measured accuracy and speed", "loss_tables.py")
print("## Accuracy\n")
print("The `loss_ulp` example: random cases per loss (element-wise: lengths 1 to 4,096, scales 0.1")
print("to 100; classes: 2 to 2,048 classes, 1 to 64 rows, a dominant logit, ignored rows, weights,")
print("label smoothing and strided class axes), each with a mean, against an f64 reference of")
print("PyTorch's formula. `loss`: the reduced loss, bound 2 ULP + 2^-23·Σ|term|; `grad`: each")
print("gradient element, bound 8 ULP or the stated absolute bound where parts cancel. Cells: the")
print("worst ULP distance / the worst error as a fraction of its bound.\n")
accuracy_table(ulp, "loss", "checked", lambda d: f"{d['max_ulp']} / {d['worst_of_bound']:.2f}")
print("\n## Speed\n")
print("`forward_backward` (the loss and its gradient in one call), million elements per second,")
print("one thread, best of the example's repetitions; ×naive against a plain f32 loop (forward")
print("then backward), ×copy against memcpy of the same bytes, both measured in the same run.")
print("Cross-entropy: rows of 32,000 logits (vocab 32 rows, big 256), class targets, mean.\n")
speed_table(speed)
