"""The committed real sets (``realdata/<set>/``): manifests, readings made from them, and how far the simulator is from them."""
