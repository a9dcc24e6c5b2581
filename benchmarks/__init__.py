"""Performance benchmarks and peer implementations of the hierarchy kernel (not installed).

``python benchmarks/run.py`` measures this machine; ``python benchmarks/check_mesa_equivalence.py``
checks that the Mesa peer, the pure-Python reference and the engine agree in distribution.
"""
