"""edgekit's side-by-side benchmarks (``make bench``): not part of the installed package.

``python -m benchmarks.bench`` runs every section; ``python -m benchmarks.bench_data``,
``benchmarks.bench_scale`` and ``benchmarks.bench_influx`` run one family alone.
"""
