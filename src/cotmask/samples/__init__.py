"""Sample Sentinel-2 cubes for the demo, the tests and the benchmarks: ``real`` (the real s2cloudless scene) and
``synthetic`` (generated series with clouds of known COT)."""
