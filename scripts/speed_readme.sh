#!/bin/sh
# Regenerates the README's speed table (between the speed-table markers) and docs/img/speed.svg
# from one run of the `speed` example on 1 and 2 threads. Run it from the project's root on a
# quiet machine (about 3 minutes). SIZES overrides the table's sizes; the chart is n = 65536.
set -eu
sizes=${SIZES:-65536,1048576}
table=$(mktemp)
data=$(mktemp)
trap 'rm -f "$table" "$data"' EXIT
cargo run --release -q --example speed -- --markdown --sizes "$sizes" --threads 1,2 --save "$data" > "$table"
cargo run --release -q --example plot_speed -- "$data" --size 65536 --threads 1 --out docs/img/speed.svg
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
family=$(sed -n 's/^cpu family[[:space:]]*: //p' /proc/cpuinfo | head -1)
model=$(sed -n 's/^model[[:space:]]*: //p' /proc/cpuinfo | head -1)
python3 - "$table" "$cpu" "$family" "$model" "$sizes" <<'PY'
import sys
table, cpu, family, model, sizes = sys.argv[1:]
start, end = "<!-- speed-table:start -->", "<!-- speed-table:end -->"
body = open(table).read().rstrip("\n")
block = (
    f"{start}\n"
    f"Taken on an {cpu} (family {family}, model {model}) by `scripts/speed_readme.sh`:\n"
    f"`speed --markdown --sizes {sizes} --threads 1,2`; the chart is its n = 65536, one-thread part.\n"
    "The machines are shared and noisy: compare ratios within one run, not across runs.\n\n"
    "![throughput per kernel and ISA, with the naive loop and the memory limits](docs/img/speed.svg)\n\n"
    f"<details><summary>The table</summary>\n\n{body}\n\n</details>\n{end}"
)
readme = open("README.md").read()
i, j = readme.index(start), readme.index(end) + len(end)
open("README.md", "w").write(readme[:i] + block + readme[j:])
PY
echo "speed_readme: the README's speed table and docs/img/speed.svg are regenerated"
