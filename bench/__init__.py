"""The benchmark: `python -m bench` measures throughput, latency and memory and writes bench/report.md."""
